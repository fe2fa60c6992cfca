"""The service catalog: offices, their opening rules and closures, counters and services."""
from citizen_desk.catalog import models  # noqa: F401  (registers the tables)


def init_app(app):
    pass
