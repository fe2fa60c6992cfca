"""The event log: an append-only table of what happened, and the notifier that wakes listeners."""


def init_app(app):
    """Register the notifier."""
