"""Where a ticket stands: people ahead and the estimated wait.

**People ahead** are the waiting tickets the call-next policy would call
before this one among those waiting for the same service (or, for a ticket
transferred to one counter, for that counter), by the policy's rules 1–3
(``policy.line_key``) counted in SQL, so the kiosk, the ticket and the
tracking page agree with what the clerks will do, give or take a fairness
call — and cost one query however long the line.

**Estimated wait** = departures needed × minutes per citizen ÷ counters
serving the service now, where the departures needed are the people ahead,
plus one when every one of those counters has a citizen at it (the ticket
also waits for a counter to free up: without it a ticket with nobody ahead
at a full desk was told "no wait", and the synthetic day of
``tests/tickets/test_estimate_day.py`` found the estimate about 2 minutes
short on average). Minutes per citizen is the median service time (called →
finished) of the service's tickets finished at the office in the last hour
(``WINDOW_MINUTES``), once at least ``MIN_SAMPLES`` were;
until then the service's booked duration. Counters serving it: those staffed
and not paused that serve the service, at least one (an office that opens
later still gives an estimate). ``docs/queue.md`` states the tolerance the
synthetic-day test holds it to.
"""
from __future__ import annotations

import functools
import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, func, not_, or_, select
from sqlalchemy.orm import aliased

from citizen_desk.booking.models import Appointment
from citizen_desk.catalog.models import Counter, Service
from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import policy
from citizen_desk.queue.models import CounterSession, Ticket, TicketKind, TicketStatus
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


# The three statements below are built once per shape and run with parameters: building
# people-ahead's conditions for every ticket cost 2 ms of Python, five times its SQL.

@functools.lru_cache(maxsize=None)
def _finished_statement():
    return select(Ticket.called_dt, Ticket.finished_dt).where(
        Ticket.office_id == bindparam("office_id"), Ticket.service_id == bindparam("service_id"),
        Ticket.status == TicketStatus.done, Ticket.called_dt.is_not(None),
        Ticket.finished_dt >= bindparam("since"), Ticket.finished_dt <= bindparam("now"))


def minutes_per_citizen(office_id: int, service: Service, now: datetime | None = None,
                        window_minutes: int = WINDOW_MINUTES) -> float:
    """The median time at the counter of the service's recent tickets (see module doc)."""
    now = now or utcnow()
    rows = db.session.execute(_finished_statement(), {
        "office_id": office_id, "service_id": service.id,
        "since": now - timedelta(minutes=window_minutes), "now": now}).all()
    durations = [(finished - called).total_seconds() / 60
                 for called, finished in rows if finished > called]
    if len(durations) < MIN_SAMPLES:
        return float(service.duration_minutes)
    return statistics.median(durations)


def _alike(transferred: bool) -> list:
    """Conditions of the waiting tickets competing for the same counters as the ticket
    (parameters ``office_id``, ``day`` and ``counter_id`` or ``service_id``)."""
    where = [Ticket.office_id == bindparam("office_id"), Ticket.status == TicketStatus.waiting,
             Ticket.day == bindparam("day")]
    if transferred:
        where.append(Ticket.counter_id == bindparam("counter_id"))
    else:
        where += [Ticket.service_id == bindparam("service_id"), Ticket.counter_id.is_(None)]
    return where


def _rank(priority_column, priority_classes: tuple[str, ...]):
    """The policy's priority rank (``Knobs.rank``) as SQL."""
    listed = len(priority_classes)
    whens = [(priority_column == code, index) for index, code in enumerate(priority_classes)]
    whens.append((priority_column.is_(None), listed + 1))
    return case(*whens, else_=listed)


@functools.lru_cache(maxsize=256)
def _ahead_statement(priority_classes: tuple[str, ...], mine_due: bool, transferred: bool):
    """People ahead as one count; parameters: ``_alike``'s, ``ticket_id``, ``issued_dt``,
    ``due_by`` and ``mine`` (a due appointment's start) or ``my_rank``."""
    appointment = aliased(Appointment)
    other_due = and_(Ticket.kind == TicketKind.appointment, appointment.start_dt.is_not(None),
                     appointment.start_dt <= bindparam("due_by"))
    arrived_before = or_(Ticket.issued_dt < bindparam("issued_dt"),
                         and_(Ticket.issued_dt == bindparam("issued_dt"),
                              Ticket.id < bindparam("ticket_id")))
    if mine_due:
        mine = bindparam("mine")
        before = and_(other_due, or_(appointment.start_dt < mine,
                                     and_(appointment.start_dt == mine, arrived_before)))
    else:
        rank, my_rank = _rank(Ticket.priority, priority_classes), bindparam("my_rank")
        before = or_(other_due, and_(not_(other_due), or_(
            rank < my_rank, and_(rank == my_rank, arrived_before))))
    return (select(func.count(Ticket.id))
            .outerjoin(appointment, appointment.id == Ticket.appointment_id)
            .where(*_alike(transferred), Ticket.id != bindparam("ticket_id"), before))


def people_ahead(ticket: Ticket, now: datetime | None = None) -> int:
    """How many waiting tickets the policy would call before ``ticket`` (0 once called).

    Rules 1–3 of the call-next policy (``policy.line_key``: due appointments by
    their time, then priority rank, then arrival, then id) counted in one SQL
    query, whatever the length of the line. The fairness bound (rule 4) is
    left out: it depends on the calls still to come, and only ever moves a
    long-waiting walk-in forward, so the count errs on the side of caution.
    """
    if ticket.status != TicketStatus.waiting:
        return 0
    now = now or utcnow()
    office = db.session.get(Office, ticket.office_id)
    knobs = policy.Knobs.from_mapping(QueueSettings.of(office).knobs)
    due_by = now + knobs.early
    mine = db.session.execute(
        select(Appointment.start_dt).where(Appointment.id == ticket.appointment_id)
    ).scalar_one_or_none() if ticket.appointment_id else None
    mine_due = (ticket.kind == TicketKind.appointment and mine is not None and mine <= due_by)
    transferred = ticket.counter_id is not None
    statement = _ahead_statement(knobs.priority_classes, mine_due, transferred)
    parameters = {"office_id": ticket.office_id, "day": ticket.day, "ticket_id": ticket.id,
                  "issued_dt": ticket.issued_dt, "due_by": due_by}
    parameters.update({"counter_id": ticket.counter_id} if transferred
                      else {"service_id": ticket.service_id})
    parameters.update({"mine": mine} if mine_due else {"my_rank": knobs.rank(ticket.priority)})
    return db.session.scalar(statement, parameters) or 0


def wait_minutes(ahead: int, per_citizen: float, counters: int) -> int:
    """Whole minutes, rounded up: ``ahead × per_citizen ÷ counters`` (0 when nobody is ahead)."""
    if ahead <= 0:
        return 0
    return math.ceil(ahead * per_citizen / max(1, counters))


@functools.lru_cache(maxsize=None)
def _at_work_statement(one_counter: bool):
    """Counters at work (parameters ``office_id`` and ``counter_id`` or ``service_id``)
    and how many of them have a citizen called or at the counter, in one statement."""
    query = (select(Counter.id).join(CounterSession, CounterSession.counter_id == Counter.id)
             .where(Counter.office_id == bindparam("office_id"), Counter.active.is_(True),
                    CounterSession.paused.is_(False)))
    if one_counter:
        query = query.where(Counter.id == bindparam("counter_id"))
    else:
        query = query.where(Counter.services.any(Service.id == bindparam("service_id")))
    at_work = query.subquery()
    busy = (select(func.count(func.distinct(Ticket.counter_id))).where(
        # The office first: an index then finds only its called and served tickets.
        Ticket.office_id == bindparam("office_id"), Ticket.counter_id.in_(select(at_work.c.id)),
        Ticket.status.in_((TicketStatus.called, TicketStatus.serving))).scalar_subquery())
    return select(select(func.count()).select_from(at_work).scalar_subquery(), busy)


def counters_at_work(office_id: int, service_id: int,
                     counter_id: int | None = None) -> tuple[int, bool]:
    """``(counters serving the service now, whether each has a citizen called or at it)``.

    ``counter_id``: a ticket transferred to that one counter waits for it alone.
    """
    parameters = {"office_id": office_id}
    parameters.update({"counter_id": counter_id} if counter_id is not None
                      else {"service_id": service_id})
    counters, occupied = db.session.execute(
        _at_work_statement(counter_id is not None), parameters).one()
    if not counters:
        return 0, False
    return counters, (occupied or 0) >= counters


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
