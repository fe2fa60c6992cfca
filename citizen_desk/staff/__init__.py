"""Staff accounts, roles, organisations, device tokens, sign-in and the audit log's pages.

Above offices and core: every capability above may use its permissions;
it imports none of them. (The audit log itself is core's: ``core/audit.py``.)
"""
from citizen_desk.staff import models  # noqa: F401  (registers the tables)


def init_app(app):
    from flask_babel import lazy_gettext as _l

    from citizen_desk.core import audit, menus
    from citizen_desk.staff import admin, audit_views, demo, devices, sessions  # noqa: F401
    from citizen_desk.staff.cli import staff
    from citizen_desk.staff.permissions import current_actor, unauthorised
    from citizen_desk.staff.views import bp

    sessions.init_app(app)
    devices.init_app(app)
    app.register_blueprint(bp)
    app.cli.add_command(staff)
    app.jinja_env.globals.update(action_label=audit.action_label,
                                 object_label=audit.object_label)
    app.extensions["citizen_desk.actor"] = current_actor
    app.extensions["citizen_desk.unauthorised"] = unauthorised

    menus.add_item(app, "staff", "staff.dashboard", _l("Staff home"), order=0)
    menus.add_item(app, "staff", "staff.users", _l("Staff accounts"), order=30)
    menus.add_item(app, "staff", "staff.tokens", _l("Devices"), order=40)
    menus.add_item(app, "staff", "staff.audit_log", _l("Audit log"), order=50)
    menus.add_item(app, "staff", "staff.organisations", _l("Organisations"), order=60)
    menus.add_item(app, "footer", "staff.login", _l("Sign in for staff"), order=90,
                   when=lambda actor: actor is None or actor.is_anonymous)
    menus.add_section(app, "staff_nav_end", "staff/_account.html")
