"""The display's state as JSON: ``GET /api/v1/offices/<office>/display``.

For a screen's first paint and for clients that cannot stream: the office's
name, its local time, the latest calls (number, counter, service, when,
recalls), waiting counts and estimated waits per walk-in service, the
counters' labels and ``last_event_id`` — the id to resume the event stream
after (``display/state.py`` says why nothing between the two is lost or
repeated). ``?services=<code>,…`` and ``?counters=<code>,…`` narrow it.

Who: the office's display token, a token of its staff, or anyone when the
office's display is public. Another office's display token: 403.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from citizen_desk.core.access import permission
from citizen_desk.display import state as display_state
from citizen_desk.display.permissions import display_viewer
from citizen_desk.display.helpers import codes, find_office, state_cache

api = Blueprint("display_api", __name__)


@api.get("/api/v1/offices/<office>/display")
@permission(display_viewer("office"))
def state(office):
    """The office's display state now."""
    found = find_office(office)
    current = state_cache().get(found, at_least=display_state.last_event_id(found.id))
    response = jsonify(display_state.filtered(current, codes("services"), codes("counters")))
    response.headers["Cache-Control"] = "no-store"
    return response
