"""Online appointment booking: free slots, holds, appointments and their management.

The seat ledger (``models.py``) makes overbooking impossible in the
database; ``availability.py`` computes free slots with a constant number of
queries; ``operations.py`` holds, books, confirms, cancels and reschedules.
"""
from citizen_desk.booking import models  # noqa: F401  (registers the tables)


def init_app(app):
    from citizen_desk.booking import views

    app.register_blueprint(views.bp)
