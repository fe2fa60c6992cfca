"""The ticket as the API, the kiosk and the tracking page show it.

One shape for every answer about a ticket, so the kiosk's JSON, the clerk's
API and the tracking page agree. ``id`` is the ticket's public id (192
random bits): the API never shows the row id. Nothing about the citizen is
in it beyond what is printed on their own ticket (no contact, no needs).
"""
from __future__ import annotations

from flask import current_app, has_request_context, request

from citizen_desk.catalog.models import Counter, Service
from citizen_desk.core.i18n import current_language
from citizen_desk.extensions import db
from citizen_desk.queue import estimate
from citizen_desk.queue.models import Ticket, TicketStatus

#: The tracking page's path (short, so the printed QR code stays small).
TRACKING_PATH = "/t/{public_id}"


def tracking_url(ticket: Ticket) -> str:
    """The absolute address of the ticket's tracking page (the QR code's link).

    Under ``PUBLIC_URL`` when set (a kiosk behind a proxy must not print its
    internal host name), else the current request's host.
    """
    path = TRACKING_PATH.format(public_id=ticket.public_id)
    base = current_app.config.get("PUBLIC_URL")
    if not base and has_request_context():
        base = request.host_url
    return (base or "http://localhost").rstrip("/") + path


def ticket_json(ticket: Ticket, *, language: str | None = None,
                standing: estimate.Standing | None = None) -> dict:
    """The ticket's public view: number, service, status, place in line, counter when called."""
    language = language or current_language()
    service = db.session.get(Service, ticket.service_id)
    counter = db.session.get(Counter, ticket.counter_id) if ticket.counter_id else None
    waiting = ticket.status == TicketStatus.waiting
    if standing is None and waiting:
        standing = estimate.standing(ticket)
    called = ticket.status in (TicketStatus.called, TicketStatus.serving)
    return {
        "id": ticket.public_id,
        "number": ticket.number,
        "service": service.code,
        "service_name": service.display_name(language),
        "status": ticket.status.value,
        "kind": ticket.kind.value,
        "priority": ticket.priority,
        "language": ticket.language,
        "issued_at": ticket.issued_dt.isoformat(),
        "called_at": ticket.called_dt.isoformat() if ticket.called_dt else None,
        "position": standing.ahead if waiting and standing else None,
        "estimated_wait_minutes": standing.wait_minutes if waiting and standing else None,
        "counter": ({"id": counter.id, "code": counter.code,
                     "label": counter.display_label(language)}
                    if counter is not None and called else None),
        "recalls": ticket.recalls,
        "tracking_url": tracking_url(ticket),
    }
