"""Shared core below the capabilities: database set-up and the unit of work, errors and
validation, API schemas, i18n and template helpers, menus, the permission mechanism, the
audit log, the event log with its notifier, the mail outbox, CLI and demo seeding.

Nothing in here imports a capability package (``lint-imports`` checks it).
"""
