"""Waiting-room display screens: the page, its live event stream and its state JSON.

``state.py`` reads what a screen shows (latest calls from the event log,
waiting counts and estimates from the queue); ``stream.py`` turns the
office's event log into a Server-Sent-Events stream that resumes after
``Last-Event-ID``; ``views.py`` serves the page and the stream, ``api.py``
the state JSON; ``live.py`` the tracking page's and the clerk console's nudge
streams, ``budget.py`` how many tracking pages may stream at once;
``permissions.py`` says who may watch. See ``docs/display.md``.
"""


def init_app(app):
    app.config.setdefault("DISPLAY_STREAM_SECONDS", 300)
    app.config.setdefault("DISPLAY_HEARTBEAT_SECONDS", 15)
    app.config.setdefault("DISPLAY_SEND_TIMEOUT", 30)
    from citizen_desk.display import budget
    budget.init_app(app)
    from citizen_desk.display.feed import Feed
    from citizen_desk.display.state import StateCache
    app.extensions["citizen_desk.display.feed"] = Feed()
    # One per process and application, shared by its open streams (built before any thread).
    app.extensions["citizen_desk.display.cache"] = StateCache(
        float(app.config.get("DISPLAY_STATE_MAX_AGE", 5.0)))
    from flask_babel import lazy_gettext as _l

    from citizen_desk.core import audit
    audit.describe(actions={"display.public": _l("Display made public"),
                            "display.private": _l("Display made private")})
    from citizen_desk.display.cli import display
    app.cli.add_command(display)
    from citizen_desk.display.views import bp
    app.register_blueprint(bp)
    from citizen_desk.display.api import api
    app.register_blueprint(api)
    from citizen_desk.display.live import bp as live
    app.register_blueprint(live)
