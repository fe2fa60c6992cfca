"""Outgoing mail: rows written in the unit's transaction, sent after it committed."""


def init_app(app):
    """Register the outbox's command and its after-request sending."""
