"""Shared core below the capabilities: database set-up, i18n, errors, CLI and demo seeding.

Nothing in here imports a capability package.
"""
