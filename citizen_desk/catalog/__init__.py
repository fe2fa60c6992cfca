"""The service catalog: services, and the opening rules, closures and counters of offices.

Models and the operations that change them at the top (``models.py``,
``operations.py``, ``service_operations.py``, ``validation.py``,
``hours.py``, ``queries.py``); public pages in ``views.py`` and JSON in
``api.py`` (with ``schemas.py``); sub-packages for the staff screens
(``admin/``), import and export (``transfer/``) and search (``search/``).
"""
from citizen_desk.catalog import models  # noqa: F401  (registers the tables)
from citizen_desk.catalog.search import cache, models as search_models  # noqa: F401


def init_app(app):
    from flask_babel import lazy_gettext as _l

    from citizen_desk.core import menus
    from citizen_desk.catalog import demo  # noqa: F401  (registers its seeder)
    from citizen_desk.catalog.admin import bp as admin_bp
    from citizen_desk.catalog.transfer import cli
    from citizen_desk.catalog.api import api
    from citizen_desk.catalog.views import bp
    from citizen_desk.extensions import csrf

    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api, url_prefix="/api/v1")
    csrf.exempt(api)
    cli.init_app(app)
    cache.init_app(app)

    menus.add_item(app, "staff", "catalog_admin.offices", _l("Catalog"), order=20)
    menus.add_item(app, "footer", "catalog.offices", _l("Our offices and opening hours"),
                   order=10)
    menus.add_section(app, "home", "catalog/_home.html", order=10)
