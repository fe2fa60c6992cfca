"""The service catalog: offices, their opening rules and closures, counters and services.

Pages under ``/services`` and ``/offices``, staff screens under
``/staff/catalog``, JSON under ``/api/v1``, the ``catalog import|export``
commands and the demo catalog.
"""
from citizen_desk.catalog import models  # noqa: F401  (registers the tables)


def init_app(app):
    from flask_babel import lazy_gettext as _l

    from citizen_desk.core import menus
    from citizen_desk.catalog import cli, demo, revision  # noqa: F401  (demo: its seeder)
    from citizen_desk.catalog.admin import bp as admin_bp
    from citizen_desk.catalog.api import api
    from citizen_desk.catalog.views import bp
    from citizen_desk.extensions import csrf

    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api, url_prefix="/api/v1")
    csrf.exempt(api)
    cli.init_app(app)
    revision.init_app(app)

    menus.add_item(app, "staff", "catalog_admin.offices", _l("Catalog"), order=20)
    menus.add_item(app, "footer", "catalog.offices", _l("Our offices and opening hours"),
                   order=10)
    menus.add_section(app, "home", "catalog/_home.html", order=10)
