"""Nudge streams: the citizen's tracking page and the clerk's console, live on the event log.

- ``GET /t/<public_id>/events`` — public, by the ticket's 192-bit id (an
  unknown or malformed id is 404; a finished ticket gets ``204``, which tells
  a browser's ``EventSource`` to stop reconnecting). A nudge whenever a
  ``ticket.*`` event of the ticket's office commits (any of them can move
  this ticket's place), or a counter starts serving (``counter.opened``,
  ``resumed``, ``taken_over``: the estimate may fall, and "your turn nears"
  with it; a pause or a counter left only lengthens it, which the page's
  30-second safety poll shows). ``static/js/tracking.js`` then asks the ticket's own
  JSON again (``GET /api/v1/tickets/<id>``), as its poll does.
- ``GET /staff/queue/counters/<counter>/events`` — the staff of the counter's
  office: a nudge on the office's ``ticket.*`` and ``counter.*`` events;
  ``static/js/queue_console.js`` then fetches its waiting list again.

A nudge says that something changed, never what: ::

    id: 812
    event: changed
    data: {"event_id":812}

no number, no kind, no subject — a citizen's stream must not tell anything
about other tickets, and the console reads the list through its own,
permission-checked fragment. The events that woke one wait give one nudge
(the newest id). ``Last-Event-ID`` (or ``?last_event_id=``) resumes as on the
display's stream (``stream.starting_point``): events missed while away give
a nudge at once. Same wake-ups (``feed.py``), heartbeat, bounded lifetime and
send timeout as the display's stream (``stream.py``): each open page holds a
server thread while it is connected. So tracking pages stream only within the
process's budget (``budget.py``, ``TRACKING_STREAMS_MAX``): past it their
stream is ``503`` with ``Retry-After`` at once and the page polls instead;
consoles are few and not counted.
"""
from __future__ import annotations

import time
from typing import Iterator

from flask import Blueprint, Response, current_app, request

from citizen_desk.core.access import permission, public
from citizen_desk.core.security import no_referrer
from citizen_desk.display import budget, stream
from citizen_desk.display import state as display_state
from citizen_desk.display.views import _limit_blocked_writes
from citizen_desk.queue import clerk
from citizen_desk.queue.permissions import staff_of_counter
from citizen_desk.queue.tracking import tracking_limit

bp = Blueprint("display_live", __name__)

#: The kinds of events that nudge each stream.
TICKET_KINDS = ("ticket.", "counter.opened", "counter.resumed", "counter.taken_over")
CONSOLE_KINDS = ("ticket.", "counter.")


def nudge_stream(app, office_id: int, cursor: int, kinds: tuple[str, ...], *, seconds: float,
                 heartbeat: float, wait) -> Iterator[str]:
    """The messages of one connection: a ``changed`` nudge after each batch of events of
    ``office_id`` after ``cursor`` of which one is of ``kinds``; ``: ping`` in silence."""
    yield "retry: 3000\n\n"
    for found in stream.batches(app, office_id, cursor, deadline=time.monotonic() + seconds,
                                heartbeat=heartbeat, wait=wait):
        if not found:
            yield ": ping\n\n"
            continue
        cursor = found[-1].id
        if any(event.kind.startswith(kinds) for event in found):
            yield stream.message({"event_id": cursor}, event="changed", event_id=cursor)


def _respond(office_id: int, kinds: tuple[str, ...]) -> Response:
    requested = stream.parse_event_id(request.headers.get("Last-Event-ID")
                                      if "Last-Event-ID" in request.headers
                                      else request.args.get("last_event_id"))
    newest = display_state.last_event_id(office_id)
    resume_after = stream.starting_point(office_id, requested, newest)
    config = current_app.config
    _limit_blocked_writes(float(config.get("DISPLAY_SEND_TIMEOUT", 30)))
    # As on the display's stream: no request context while streaming (``views.events``).
    body = nudge_stream(
        current_app._get_current_object(), office_id,
        newest if resume_after is None else resume_after, kinds,
        seconds=stream.lifetime(float(config.get("DISPLAY_STREAM_SECONDS", 300))),
        heartbeat=float(config.get("DISPLAY_HEARTBEAT_SECONDS", 15)),
        wait=current_app.extensions["citizen_desk.display.feed"].wait)
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    return response


@bp.get("/t/<public_id>/events")
@permission(public)
@no_referrer
@tracking_limit
def ticket_events(public_id):
    """Nudges for one ticket's tracking page (see the module's docstring)."""
    ticket = clerk.ticket_or_404(public_id)
    if ticket.is_final:
        response = Response(status=204)
    elif (slot := budget.tracking_streams().acquire()) is None:
        response = budget.refused()
    else:
        try:
            response = _respond(ticket.office_id, TICKET_KINDS)
        except BaseException:
            slot.release()
            raise
        # Called by the WSGI server once it is done with the stream, however it ended.
        response.call_on_close(slot.release)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/staff/queue/counters/<int:counter>/events")
@permission(staff_of_counter("counter"))
def console_events(counter):
    """Nudges for the clerk's console at ``counter`` (see the module's docstring)."""
    return _respond(clerk.counter_or_404(counter).office_id, CONSOLE_KINDS)
