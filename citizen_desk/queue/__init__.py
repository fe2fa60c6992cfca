"""The walk-in queue: tickets, their numbering, and the clerks who call them.

``models.py`` holds tickets, the per-day numbering row and who holds which
counter; ``operations.py`` issues tickets (numbered atomically, idempotent
per kiosk key) and moves them through their states with guarded UPDATEs, so
that no interleaving calls one ticket twice; every transition is an event.
"""
from citizen_desk.queue import models  # noqa: F401  (registers the tables)


def init_app(app):
    from citizen_desk.queue import cli
    cli.init_app(app)
    from citizen_desk.queue.admin import bp as admin_bp
    app.register_blueprint(admin_bp)
    from citizen_desk.queue import demo  # noqa: F401  (registers its seeder)
    from citizen_desk.queue import api, console
    console.init_app(app)
    api.init_app(app)
    from citizen_desk.queue import kiosk
    kiosk.init_app(app)
    from citizen_desk.queue import tracking, tracking_worker
    tracking.init_app(app)
    tracking_worker.init_app(app)
