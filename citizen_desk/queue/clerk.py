"""What the clerk's console (``console.py``) and the clerk API (``api.py``) share.

Finding a counter or a ticket named in the address (another office's is not
found), the tickets open at a counter, the waiting list in the order
call-next takes it, and a transfer's target checked before the core moves
the ticket: a counter that does not serve the service the ticket goes to is
refused (the citizen would wait for a clerk who cannot help them).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from citizen_desk.catalog.models import Counter, Service, service_office
from citizen_desk.core.db import utcnow
from citizen_desk.core.validation import CODE_PATTERN, ValidationError
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import operations
from citizen_desk.queue.models import Ticket, TicketStatus
from citizen_desk.queue.settings import QueueSettings


def counter_or_404(counter_id: int, office: Office | None = None) -> Counter:
    """The counter with this id (of ``office`` when given), else 404."""
    counter = db.session.get(Counter, counter_id) if isinstance(counter_id, int) else None
    if counter is None or (office is not None and counter.office_id != office.id):
        abort(404)
    return counter


def ticket_or_404(public_id: str) -> Ticket:
    ticket = None
    if isinstance(public_id, str) and 0 < len(public_id) <= 64:
        ticket = db.session.scalar(select(Ticket).where(Ticket.public_id == public_id))
    if ticket is None:
        abort(404)
    return ticket


def office_ticket(office_id: int, public_id, field: str = "ticket") -> Ticket:
    """A ticket of the office named in a form or a body; 422 on ``field`` when there is none."""
    ticket = None
    if isinstance(public_id, str) and 0 < len(public_id) <= 64:
        ticket = db.session.scalar(select(Ticket).where(Ticket.public_id == public_id,
                                                        Ticket.office_id == office_id))
    if ticket is None:
        raise ValidationError.at(field, _l("There is no such ticket at this office."))
    return ticket


def open_at(counter: Counter) -> list[Ticket]:
    """Tickets called to or being served at ``counter``, the latest call first."""
    return list(db.session.scalars(
        select(Ticket).where(Ticket.counter_id == counter.id,
                             Ticket.status.in_((TicketStatus.called, TicketStatus.serving)))
        .order_by(Ticket.called_dt.desc(), Ticket.id.desc())))


@dataclass(frozen=True)
class ServiceLine:
    """One service's waiting line at a counter: how many wait, and the longest wait."""

    service: Service
    count: int
    longest_minutes: int


def waiting_list(counter: Counter, now: datetime | None = None) -> list[Ticket]:
    """The tickets ``counter`` may call, in the order call-next would take them."""
    now = now or utcnow()
    waiting = operations.candidates(counter, now)
    if not waiting:
        return []
    day = now.astimezone(counter.office.zone).date()
    ranked = operations.policy_order(waiting, operations.recent_calls(counter.office_id, day=day),
                                     QueueSettings.of(counter.office).knobs, now)
    tickets = {t.id: t for t in db.session.scalars(
        select(Ticket).where(Ticket.id.in_([c.id for c in ranked])))}
    return [tickets[c.id] for c in ranked if c.id in tickets]


def lines(counter: Counter, waiting: list[Ticket], now: datetime | None = None) -> list[ServiceLine]:
    """Per service the counter serves: the count waiting and the longest wait in minutes."""
    now = now or utcnow()
    result = []
    for service in counter.services:
        mine = [t for t in waiting if t.service_id == service.id]
        longest = max((waited_minutes(t, now) for t in mine), default=0)
        result.append(ServiceLine(service, len(mine), longest))
    return result


def waited_minutes(ticket: Ticket, now: datetime | None = None) -> int:
    """Whole minutes since the ticket was issued (kept across transfers)."""
    return max(0, int(((now or utcnow()) - ticket.issued_dt).total_seconds() // 60))


def transfer_targets(ticket: Ticket) -> tuple[list[Service], list[Counter]]:
    """Where ``ticket`` may go: the office's other walk-in services, its other active counters."""
    office = db.session.get(Office, ticket.office_id)
    services = list(db.session.scalars(
        select(Service).join(service_office, service_office.c.service_id == Service.id)
        .where(service_office.c.office_id == office.id, Service.retired.is_(False),
               Service.id != ticket.service_id).order_by(Service.code)))
    counters = [c for c in office.counters if c.active and c.id != ticket.counter_id
                and any(s.id == ticket.service_id for s in c.services)]
    return services, counters


def transfer(ticket: Ticket, clerk, *, service_code=None, counter_id=None) -> Ticket:
    """Transfer to the service ``service_code`` and/or the counter ``counter_id`` of the office.

    Unknown codes and ids, another office's counter, a counter that does not
    serve the service the ticket goes to: ``ValidationError`` naming the field.
    """
    service = counter = None
    if service_code is not None:
        if isinstance(service_code, str) and CODE_PATTERN.match(service_code):
            service = db.session.scalar(select(Service).where(Service.code == service_code))
        if service is None:
            raise ValidationError.at("service", _l("This service is not offered at this office."))
    if counter_id is not None:
        counter = db.session.get(Counter, counter_id) if isinstance(counter_id, int) else None
        if counter is None or counter.office_id != ticket.office_id:
            raise ValidationError.at("counter", _l("There is no such counter at this office."))
        target = service.id if service is not None else ticket.service_id
        if counter.active and not any(s.id == target for s in counter.services):
            raise ValidationError.at("counter", _l("This counter does not serve this service."))
    return operations.transfer(ticket, service=service, counter=counter, clerk=clerk)
