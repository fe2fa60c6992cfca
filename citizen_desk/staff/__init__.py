"""Staff accounts, roles, organisations, device tokens, sign-in and the audit log.

The lowest capability: every other one may use its permissions and audit
log; it imports none of them (offices are reached by table name).
"""
from citizen_desk.staff import audit, models  # noqa: F401  (registers the tables)


def init_app(app):
    from citizen_desk.staff import admin, audit_views, demo, sessions  # noqa: F401
    from citizen_desk.staff.cli import staff
    from citizen_desk.staff.permissions import current_actor, unauthorised
    from citizen_desk.staff.views import bp

    sessions.init_app(app)
    app.register_blueprint(bp)
    app.cli.add_command(staff)
    app.jinja_env.globals.update(action_label=audit.action_label,
                                 object_label=audit.object_label)
    app.extensions["citizen_desk.actor"] = current_actor
    app.extensions["citizen_desk.unauthorised"] = unauthorised
