"""The citizen's tracking page of a ticket (the printed QR code's link) and its JSON.

- ``GET /t/<public_id>`` — the ticket as its holder sees it on a phone: the
  number, the service, the status in words, people ahead and the estimated
  wait; once called, the counter to go to; a clear last word once done,
  missed, cancelled or expired. In the ticket's language unless the visitor
  chose another with ``?lang=``. ``static/js/tracking.js`` asks the API on
  each nudge of ``/t/<id>/events`` (``display/live.py``), else every
  5 seconds (while that stream is down or refused by the process's budget,
  ``display/budget.py``; paused in a hidden tab unless alerts are on, slower
  after errors), swaps the page's live part in place when something changed, and —
  once the visitor turned on "sound and alerts" — beeps, vibrates, shows a
  browser notification and changes the title when the turn nears and when
  called. Without script the page refreshes itself every 30 seconds.
- ``GET /api/v1/tickets/<ticket>`` — ``schemas.ticket_json``.

Both are public: the id is 192 random bits, and the answer holds nothing
about anyone else (no other numbers, no names) and nothing personal about
the holder (no contact, no needs). An unknown or malformed id is the same
404. Answers are ``no-store``, ``noindex`` and ``Referrer-Policy:
no-referrer`` (the address is the secret).

Rate limit: not the look-up budget (10 a minute per address — a guessing
defence that 192-bit ids do not need, and that one phone polling every 5
seconds would exhaust, let alone a waiting room behind one Wi-Fi address).
Instead ``TRACKING_RATE_LIMIT`` (60 a minute) per address *and ticket*: a
phone polling its ticket uses 12, a page fetch on each change a few more;
a tab or script hammering one ticket is cut off without touching the other
phones on the same network.
"""
from __future__ import annotations

import re

from flask import (Blueprint, Response, abort, current_app, jsonify, render_template, request,
                   url_for)
from flask_babel import force_locale
from flask_limiter.util import get_remote_address
from sqlalchemy import select

from citizen_desk.catalog.models import Counter, Service
from citizen_desk.core import limits
from citizen_desk.core.access import permission, public
from citizen_desk.core.i18n import available_languages, current_language
from citizen_desk.core.security import no_referrer
from citizen_desk.extensions import db, limiter
from citizen_desk.offices.models import Office
from citizen_desk.queue import estimate
from citizen_desk.queue.models import Ticket, TicketStatus
from citizen_desk.queue.schemas import ticket_json
from citizen_desk.queue.settings import QueueSettings

bp = Blueprint("queue_tracking", __name__)
api = Blueprint("tracking_api", __name__)

_PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
#: Seconds between two refreshes of the page without script.
REFRESH_SECONDS = 30


def _address_and_ticket() -> str:
    args = request.view_args or {}
    ticket = str(args.get("public_id") or args.get("ticket") or "")[:64]
    return f"{get_remote_address()}|{ticket}"


#: Decorator: one budget per address and ticket, shared by the page and the API.
tracking_limit = limiter.shared_limit(
    lambda: current_app.config.get("TRACKING_RATE_LIMIT", "60 per minute"), scope="tracking",
    key_func=_address_and_ticket, exempt_when=limits.staff_or_device)


def _ticket(public_id) -> Ticket:
    """The ticket of ``public_id``; the same 404 for an unknown and a malformed id."""
    if not isinstance(public_id, str) or not _PUBLIC_ID.match(public_id):
        abort(404)
    ticket = db.session.scalar(select(Ticket).where(Ticket.public_id == public_id))
    if ticket is None:
        abort(404)
    return ticket


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


bp.after_request(_private)
api.after_request(_private)


def page_language(ticket: Ticket) -> str | None:
    """``?lang=`` when the visitor chose one, else the ticket's own if the product speaks it."""
    chosen = request.args.get("lang")
    if isinstance(chosen, str) and chosen in available_languages():
        return chosen
    return ticket.language if ticket.language in available_languages() else None


def phase(ticket: Ticket, standing: estimate.Standing | None, settings: QueueSettings) -> str:
    """What the page says: ``waiting``, ``near``, ``called``, ``serving`` or the final status."""
    if ticket.status == TicketStatus.waiting:
        if standing is not None and (standing.ahead <= settings.notify_people_ahead
                                     or standing.wait_minutes <= settings.notify_minutes):
            return "near"
        return "waiting"
    return ticket.status.value


@bp.get("/t/<public_id>")
@permission(public)
@no_referrer
@tracking_limit
def page(public_id):
    """The ticket's tracking page, for the phone that scanned its QR code."""
    ticket = _ticket(public_id)
    language = page_language(ticket)
    office = db.session.get(Office, ticket.office_id)
    settings = QueueSettings.of(office)
    standing = estimate.standing(ticket) if ticket.status == TicketStatus.waiting else None
    if language is None:
        return _render(ticket, office, settings, standing)
    with force_locale(language):
        return _render(ticket, office, settings, standing)


def _render(ticket: Ticket, office: Office, settings: QueueSettings, standing):
    language = current_language()
    service = db.session.get(Service, ticket.service_id)
    counter = db.session.get(Counter, ticket.counter_id) if ticket.counter_id else None
    state = phase(ticket, standing, settings)
    shown_counter = counter if counter is not None and state in ("called", "serving") else None
    # The API's answer in the same terms (tracking.js compares them): status, position,
    # wait, counter, recalls, service.
    sign = "|".join(str(part) for part in (
        ticket.status.value, standing.ahead if standing else "",
        standing.wait_minutes if standing else "", shown_counter.id if shown_counter else "",
        ticket.recalls, service.code))
    return render_template(
        "queue/tracking/page.html", ticket=ticket, state=state, standing=standing,
        settings=settings, office_name=office.display_name(language),
        service_name=service.display_name(language),
        counter_label=shown_counter.display_label(language) if shown_counter else None,
        sign=sign,
        final=ticket.is_final, refresh_seconds=REFRESH_SECONDS,
        api_url=url_for("tracking_api.ticket_state", ticket=ticket.public_id))


@api.get("/tickets/<ticket>")
@permission(public)
@tracking_limit
def ticket_state(ticket):
    """``GET /api/v1/tickets/<id>``: the ticket's public JSON (``schemas.ticket_json``)."""
    return jsonify(ticket_json(_ticket(ticket)))


def init_app(app):
    app.register_blueprint(bp)
    app.register_blueprint(api, url_prefix="/api/v1")
