"""citizen_desk — the front office of a public administration.

``create_app(config=None)`` builds the Flask application; ``flask --app
citizen_desk …`` finds it by that name.
"""
from __future__ import annotations

import logging

from flask import Flask

from citizen_desk import config as config_module
from citizen_desk.config import RESOURCE_ROOT, ConfigError

__all__ = ["create_app", "ConfigError"]

#: The capability packages, bottom-up. Each exposes ``init_app(app)``.
CAPABILITIES = ("citizen_desk.staff", "citizen_desk.home", "citizen_desk.catalog",
                "citizen_desk.booking", "citizen_desk.queue", "citizen_desk.display")


class App(Flask):
    """Flask, with every request's view run as one unit of work (see ``core/uow.py``)."""

    def dispatch_request(self):
        from citizen_desk.core import uow
        return uow.run(super().dispatch_request)


def create_app(config: dict | None = None) -> Flask:
    """Create and configure the application.

    ``config`` overrides everything else (tests pass their database here).
    """
    app = App(
        __name__,
        instance_relative_config=True,
        template_folder=str(RESOURCE_ROOT / "templates"),
    )
    config_module.load(app, config)
    _init_extensions(app)

    from citizen_desk.core import (access, challenge, cli, errors, events, i18n, input_guard, menus,
                                   outbox, paging, security, templating)
    errors.init_app(app)
    # Before any route is added (bounded <int:…>) and any hook that reads input.
    input_guard.init_app(app)
    i18n.init_app(app)
    paging.init_app(app)
    templating.init_app(app)
    menus.init_app(app)
    cli.init_app(app)
    security.init_app(app)
    outbox.init_app(app)
    events.init_app(app)
    challenge.init_app(app)

    import importlib
    for name in CAPABILITIES:
        importlib.import_module(name).init_app(app)
    # After the capabilities' own before_request hooks (idle sessions are ended first).
    access.init_app(app)

    if app.config["ENV"] == "production":
        logging.basicConfig(level=logging.INFO)
    return app


def _init_extensions(app: Flask):
    from citizen_desk.core import db as core_db
    from citizen_desk.core.i18n import select_locale
    from citizen_desk.extensions import babel, csrf, db, limiter, migrate

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    options = core_db.engine_options(url, app.config)
    options.update(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    with app.app_context():
        core_db.configure_engine(db.engine, app.config)
    migrate.init_app(app, db, directory=str(RESOURCE_ROOT / "migrations"),
                     render_as_batch=True, compare_type=True)
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    limiter.init_app(app)
