"""Where a ticket stands: people ahead and the estimated wait.

**People ahead** are the waiting tickets the call-next policy would call
before this one among those waiting for the same service (or, for a ticket
transferred to one counter, for that counter): the policy itself orders
them, without the fairness history, so the kiosk, the ticket and the
tracking page agree with what the clerks will do, give or take a fairness
call.

**Estimated wait** = departures needed × minutes per citizen ÷ counters
serving the service now, where the departures needed are the people ahead,
plus one when every one of those counters has a citizen at it (the ticket
also waits for a counter to free up: without it a ticket with nobody ahead
at a full desk was told "no wait", and the synthetic day of
``tests/tickets/test_estimate_day.py`` found the estimate about 2 minutes
short on average). Minutes per citizen is the median service time (called →
finished) of the service's tickets finished at the office in the last hour
(``QUEUE_ESTIMATE_WINDOW_MINUTES``), once at least ``MIN_SAMPLES`` were;
until then the service's booked duration. Counters serving it: those staffed
and not paused that serve the service, at least one (an office that opens
later still gives an estimate). ``docs/queue.md`` states the tolerance the
synthetic-day test holds it to.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from citizen_desk.booking.models import Appointment
from citizen_desk.catalog.models import Counter, Service
from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from citizen_desk.queue import operations
from citizen_desk.queue.models import CounterSession, Ticket, TicketStatus
from citizen_desk.queue.settings import QueueSettings

#: Finished tickets needed before their median replaces the service's booked duration.
MIN_SAMPLES = 3
WINDOW_MINUTES = 60


@dataclass(frozen=True)
class Standing:
    """A ticket's place: people ahead and the estimated wait in whole minutes."""

    ahead: int
    wait_minutes: int
    minutes_per_citizen: float
    counters: int


def minutes_per_citizen(office_id: int, service: Service, now: datetime | None = None,
                        window_minutes: int = WINDOW_MINUTES) -> float:
    """The median time at the counter of the service's recent tickets (see module doc)."""
    now = now or utcnow()
    rows = db.session.execute(
        select(Ticket.called_dt, Ticket.serving_dt, Ticket.finished_dt).where(
            Ticket.office_id == office_id, Ticket.service_id == service.id,
            Ticket.status == TicketStatus.done, Ticket.called_dt.is_not(None),
            Ticket.finished_dt >= now - timedelta(minutes=window_minutes),
            Ticket.finished_dt <= now)).all()
    durations = [(finished - called).total_seconds() / 60
                 for called, _serving, finished in rows if finished > called]
    if len(durations) < MIN_SAMPLES:
        return float(service.duration_minutes)
    return statistics.median(durations)


def _waiting_alike(ticket: Ticket) -> list[operations.Candidate]:
    """The waiting tickets competing with ``ticket`` for the same counters (incl. itself)."""
    T = Ticket
    where = [T.office_id == ticket.office_id, T.status == TicketStatus.waiting,
             T.day == ticket.day]
    if ticket.counter_id is not None:
        where.append(T.counter_id == ticket.counter_id)
    else:
        where += [T.service_id == ticket.service_id, T.counter_id.is_(None)]
    rows = db.session.execute(
        select(T.id, T.number, T.kind, T.priority, T.service_id, T.counter_id, T.issued_dt,
               Appointment.start_dt)
        .outerjoin(Appointment, Appointment.id == T.appointment_id).where(*where)).all()
    return [operations.Candidate(id=r[0], number=r[1], kind=r[2].value, priority=r[3],
                                 service_id=r[4], counter_id=r[5], issued_dt=r[6],
                                 appointment_start=r[7]) for r in rows]


def people_ahead(ticket: Ticket, now: datetime | None = None) -> int:
    """How many waiting tickets the policy would call before ``ticket`` (0 once called)."""
    if ticket.status != TicketStatus.waiting:
        return 0
    now = now or utcnow()
    knobs = QueueSettings.of(ticket.office).knobs
    ordered = operations.policy_order(_waiting_alike(ticket), [], knobs, now)
    for index, candidate in enumerate(ordered):
        if candidate.id == ticket.id:
            return index
    return 0


def wait_minutes(ahead: int, per_citizen: float, counters: int) -> int:
    """Whole minutes, rounded up: ``ahead × per_citizen ÷ counters`` (0 when nobody is ahead)."""
    if ahead <= 0:
        return 0
    return math.ceil(ahead * per_citizen / max(1, counters))


def counters_at_work(office_id: int, service_id: int,
                     counter_id: int | None = None) -> tuple[int, bool]:
    """``(counters serving the service now, whether each has a citizen called or at it)``.

    ``counter_id``: a ticket transferred to that one counter waits for it alone.
    """
    query = (select(Counter.id).join(CounterSession, CounterSession.counter_id == Counter.id)
             .where(Counter.office_id == office_id, Counter.active.is_(True),
                    CounterSession.paused.is_(False)))
    if counter_id is not None:
        query = query.where(Counter.id == counter_id)
    else:
        query = query.where(Counter.services.any(Service.id == service_id))
    ids = db.session.scalars(query).all()
    if not ids:
        return 0, False
    occupied = db.session.scalar(
        select(db.func.count(db.distinct(Ticket.counter_id))).where(
            Ticket.counter_id.in_(ids),
            Ticket.status.in_((TicketStatus.called, TicketStatus.serving)))) or 0
    return len(ids), occupied >= len(ids)


def standing(ticket: Ticket, now: datetime | None = None) -> Standing:
    """People ahead of ``ticket`` and its estimated wait."""
    now = now or utcnow()
    ahead = people_ahead(ticket, now)
    service = db.session.get(Service, ticket.service_id)
    per_citizen = minutes_per_citizen(ticket.office_id, service, now)
    open_now, full = counters_at_work(ticket.office_id, ticket.service_id, ticket.counter_id)
    serving = 1 if ticket.counter_id is not None else max(1, open_now)
    waiting = ticket.status == TicketStatus.waiting
    departures = ahead + (1 if waiting and full else 0)
    return Standing(ahead=ahead, wait_minutes=wait_minutes(departures, per_citizen, serving),
                    minutes_per_citizen=per_citizen, counters=serving)


def service_summary(office, service: Service, now: datetime | None = None) -> dict:
    """A service's queue as the kiosk shows it before issuing: waiting and the wait of a new ticket."""
    now = now or utcnow()
    waiting = db.session.scalar(
        select(db.func.count(Ticket.id)).where(
            Ticket.office_id == office.id, Ticket.service_id == service.id,
            Ticket.status == TicketStatus.waiting, Ticket.day == office.today(),
            Ticket.counter_id.is_(None))) or 0
    per_citizen = minutes_per_citizen(office.id, service, now)
    open_now, full = counters_at_work(office.id, service.id)
    return {"waiting": waiting, "wait_minutes": wait_minutes(waiting + (1 if full else 0),
                                                             per_citizen, max(1, open_now))}
