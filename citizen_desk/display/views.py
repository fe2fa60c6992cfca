"""The waiting-room display page and its live stream.

- ``GET /offices/<office>/display`` — a full-screen page for a TV: the
  newest call large (number → counter), the last calls, people waiting and
  the estimated wait per service, the office's name and a clock. Opened once
  with ``?token=<display token>`` it pairs the browser (``staff/devices.py``).
  Settings in the address, per screen: ``languages=el,en`` (the headings
  alternate between them and calls are spoken in each), ``speech=0``,
  ``chime=0``, ``volume=0..100``, ``services=<code>,…`` and
  ``counters=<code>,…`` (show only these). Unknown values are left out, so a
  typo never blanks a screen. ``static/js/display.js`` keeps it live.
- ``GET /offices/<office>/display/events`` — the Server-Sent-Events stream
  (``display/stream.py``).
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from citizen_desk.core.access import permission
from citizen_desk.core.i18n import NATIVE_NAMES, available_languages
from citizen_desk.display import state as display_state
from citizen_desk.display import stream
from citizen_desk.display.helpers import codes, find_office, state_cache
from citizen_desk.display.permissions import display_viewer
from citizen_desk.staff.devices import device_page

bp = Blueprint("display", __name__)

#: Seconds between two heading languages on screen.
HEADING_SECONDS = 6

# i18n: the headings of the waiting-room screen, each shown in every display language in turn.
HEADINGS = {
    "now": lambda: _("Now calling"),
    "recent": lambda: _("Latest calls"),
    "number": lambda: _("Number"),
    "counter": lambda: _("Counter"),
    "waiting": lambda: _("Waiting"),
    "service": lambda: _("Service"),
    "people": lambda: _("People waiting"),
    "wait": lambda: _("Estimated wait"),
    "minutes": lambda: _("{minutes} min"),
    "none": lambda: _("No calls yet"),
    "nobody": lambda: _("Nobody is waiting"),
    "offline": lambda: _("Connection lost. Reconnecting…"),
    "sound": lambda: _("Turn on sound"),
    # i18n: spoken when a ticket is called: {number} is spelled digit by digit.
    "speech": lambda: _("Number {number}, counter {counter}"),
}


def settings() -> dict:
    """The screen's settings from the address (see the module's docstring)."""
    languages = [code for code in codes("languages") if code in available_languages()]
    try:
        volume = min(100, max(0, int(request.args.get("volume", "80"))))
    except ValueError:
        volume = 80
    return {"languages": languages or list(available_languages()),
            "speech": request.args.get("speech", "1") not in ("0", "off", "false"),
            "chime": request.args.get("chime", "1") not in ("0", "off", "false"),
            "volume": volume, "services": codes("services"), "counters": codes("counters")}


def headings(languages: list[str]) -> dict:
    """Every heading in every display language: ``{key: {language: text}}``."""
    texts: dict[str, dict[str, str]] = {key: {} for key in HEADINGS}
    for language in languages:
        with force_locale(language):
            for key, text in HEADINGS.items():
                texts[key][language] = text()
    return texts


@bp.get("/offices/<office>/display")
@permission(display_viewer("office"))
@device_page
def page(office):
    """The waiting-room screen of ``office`` (first paint from the state; then live)."""
    found = find_office(office)
    chosen = settings()
    state = display_state.filtered(state_cache().get(found), chosen["services"],
                                   chosen["counters"])
    # The first language shown: ?lang= when it is one of the screen's, else its first.
    asked = request.args.get("lang")
    first = asked if asked in chosen["languages"] else chosen["languages"][0]
    config = {**chosen, "office": found.code, "timezone": found.timezone,
              "stream": url_for("display.events", office=found.code),
              "state": state, "lastEventId": state["last_event_id"],
              "headingSeconds": HEADING_SECONDS, "headings": headings(chosen["languages"]),
              "first": first, "names": {code: NATIVE_NAMES.get(code, code)
                                        for code in chosen["languages"]}}
    return render_template("display/page.html", office=found, state=state, first=first,
                           config=json.dumps(config, ensure_ascii=False),
                           texts=config["headings"])


@bp.get("/offices/<office>/display/events")
@permission(display_viewer("office", query_token=True))
def events(office):
    """The office's live calls as Server-Sent Events (see ``display/stream.py``)."""
    found = find_office(office)
    requested = stream.parse_event_id(request.headers.get("Last-Event-ID")
                                      if "Last-Event-ID" in request.headers
                                      else request.args.get("last_event_id"))
    newest = display_state.last_event_id(found.id)
    resume_after = stream.starting_point(found.id, requested, newest)
    cache = state_cache()
    first_state = cache.get(found, at_least=newest)
    office_id = found.id
    config = current_app.config

    def waiting_of(event_id: int) -> list[dict]:
        return cache.get(office_id, at_least=event_id)["services"]

    _limit_blocked_writes(float(config.get("DISPLAY_SEND_TIMEOUT", 30)))
    # Not ``stream_with_context``: the request's context ends when the view returns (its
    # session goes back to the pool), and the stream opens a short context per step.
    body = stream.event_stream(
        current_app._get_current_object(), office_id, first_state, resume_after,
        seconds=stream.lifetime(float(config.get("DISPLAY_STREAM_SECONDS", 300))),
        heartbeat=float(config.get("DISPLAY_HEARTBEAT_SECONDS", 15)), waiting_of=waiting_of,
        wait=current_app.extensions["citizen_desk.display.feed"].wait)
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    # nginx: pass each message on at once instead of buffering the response.
    response.headers["X-Accel-Buffering"] = "no"
    return response


def _limit_blocked_writes(seconds: float):
    """Under gunicorn, give this connection's socket a send timeout (``stream.py``)."""
    sock = request.environ.get("gunicorn.socket")
    if sock is not None and seconds > 0:
        try:
            sock.settimeout(seconds)
        except OSError:  # pragma: no cover - the client is already gone
            pass
