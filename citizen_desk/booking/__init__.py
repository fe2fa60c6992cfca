"""Online appointment booking: free slots, holds, appointments and their management.

The seat ledger (``models.py``) makes overbooking impossible in the
database; ``availability.py`` computes free slots with a constant number of
queries; ``operations.py`` holds, books, confirms, cancels and reschedules.
"""
from citizen_desk.booking import models  # noqa: F401  (registers the tables)


def init_app(app):
    from citizen_desk.booking import views
    from citizen_desk.core import menus

    from flask_babel import lazy_gettext as _l

    app.register_blueprint(views.bp)
    menus.add_section(app, "catalog.service", "booking/_book_button.html")
    menus.add_item(app, "footer", "booking.start", _l("Book an appointment"), order=20)
    menus.add_item(app, "footer", "booking.privacy", _l("Privacy notice"), order=90)

    from citizen_desk.booking.api import api
    from citizen_desk.extensions import csrf

    app.register_blueprint(api, url_prefix="/api/v1")
    csrf.exempt(api)

    from citizen_desk.booking import cli, manage
    app.register_blueprint(manage.bp)
    cli.init_app(app)

    from citizen_desk.booking import staff
    staff.init_app(app)

    from citizen_desk.booking import demo  # noqa: F401  (registers its seeder)
