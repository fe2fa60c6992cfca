"""Issuing tickets and moving them through their states.

Numbering (``_next_seq``) is one atomic upsert of the office/prefix/day row
with ``RETURNING``; an idempotency key is a unique column tried inside a
savepoint. Every transition is a guarded ``UPDATE … WHERE id = :id AND
status IN (:expected)`` whose row count decides: a caller that lost the race
changes nothing and is told so (``WrongState``, a 409). ``call_next`` on
PostgreSQL locks its candidate with ``FOR UPDATE SKIP LOCKED`` so that ten
clerks take ten different tickets instead of queueing on one; SQLite
serialises writers (``BEGIN IMMEDIATE``) and the guarded UPDATE decides.

Each operation appends its ``ticket.*`` event (number, service and counter
codes, time: no personal data) and, when a clerk acted, its audit entry;
the caller's unit of work commits once.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from citizen_desk.booking.identity import INTERPRETER_CODES
from citizen_desk.booking.models import Appointment
from citizen_desk.catalog.models import Counter, Service
from citizen_desk.core import audit, events, uow
from citizen_desk.core.db import utcnow
from citizen_desk.core.errors import Conflict
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import notices, opening
from citizen_desk.queue import policy as call_policy
from citizen_desk.queue.settings import QueueSettings
from citizen_desk.queue.models import (PRIORITY_CLASSES, Ticket, TicketKind, TicketSequence,
                                       TicketStatus, servable_by)

#: Waiting tickets ``call_next`` tries to lock, best first, before it reads the queue again.
LOCK_TRIES = 50
_OUTCOME = re.compile(r"^[a-z0-9_-]{1,32}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")


class WrongState(Conflict):
    """The ticket is not in a state this action applies to (someone else moved it first)."""


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default)) if has_app_context() else default


# -- issuing ---------------------------------------------------------------------------------

def _clean_needs(raw) -> dict:
    needs = {"interpreter": None, "wheelchair": False, "sign_language": False}
    if raw is None:
        return needs
    if not isinstance(raw, dict) or set(raw) - set(needs):
        raise ValidationError.at("needs", _l("Choose from the needs listed."))
    interpreter = raw.get("interpreter")
    if interpreter not in (None, "") and interpreter not in INTERPRETER_CODES:
        raise ValidationError.at("needs.interpreter", _l("Choose a language from the list."))
    needs["interpreter"] = interpreter or None
    needs["wheelchair"] = raw.get("wheelchair") is True
    needs["sign_language"] = raw.get("sign_language") is True
    return needs


def check_issuable(office: Office | None, service: Service | None, kind: TicketKind,
                   now: datetime | None = None):
    """Refuse a retired office or service, one not offered there, or one without walk-ins;
    a walk-in ticket also needs the service open now (desk and check-in tickets do not)."""
    errors = {}
    if office is None or office.retired:
        errors["office"] = _l("Choose one of our offices.")
    if service is None or service.retired:
        errors["service"] = _l("Choose one of the services of this office.")
    elif office is not None and not opening.offered(office, service):
        errors["service"] = _l("This service is not offered at this office.")
    elif kind != TicketKind.appointment and not service.walk_in:
        errors["service"] = _l("This service is served by appointment only.")
    elif (kind == TicketKind.walk_in and office is not None and not office.retired
          and not opening.open_now(office, service, now)):
        errors["service"] = _l("This service is not open for tickets now.")
    if errors:
        raise ValidationError(errors)


def _next_seq(office_id: int, prefix: str, day: date) -> int:
    """The next number of the office's ``prefix`` on local ``day``: one atomic upsert.

    ``INSERT … ON CONFLICT (office_id, prefix, day) DO UPDATE SET last =
    ticket_sequence.last + 1 RETURNING last``: the database serialises
    concurrent issuers on the row, so no two get the same number and none
    is skipped (a rolled-back issue rolls its increment back too).
    """
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(TicketSequence).values(office_id=office_id, prefix=prefix, day=day, last=1)
    statement = statement.on_conflict_do_update(
        index_elements=[TicketSequence.office_id, TicketSequence.prefix, TicketSequence.day],
        set_={"last": TicketSequence.last + 1}).returning(TicketSequence.last)
    return db.session.execute(statement).scalar_one()


def format_number(prefix: str, seq: int) -> str:
    """``A`` and 7 → ``A007``; past 999 more digits (``A1000``)."""
    return f"{prefix}{seq:03d}"


def _existing(office_id: int, idempotency_key: str | None,
              appointment_id: int | None) -> Ticket | None:
    if idempotency_key is not None:
        found = db.session.scalar(select(Ticket).where(
            Ticket.office_id == office_id, Ticket.idempotency_key == idempotency_key))
        if found is not None:
            return found
    if appointment_id is not None:
        return db.session.scalar(select(Ticket).where(Ticket.appointment_id == appointment_id))
    return None


def _replayed(ticket: Ticket, service: Service, kind: TicketKind, priority) -> Ticket:
    """The ticket a replayed key stands for; a key sent again with another request is refused."""
    if (ticket.service_id, ticket.kind, ticket.priority) != (service.id, kind, priority):
        raise ValidationError.at("idempotency_key", _l(
            "This request key was already used for another ticket."))
    return ticket


def issue(office: Office, service: Service, *, kind: TicketKind = TicketKind.walk_in,
          priority: str | None = None, language: str = "el", needs: dict | None = None,
          idempotency_key: str | None = None, appointment: Appointment | None = None,
          issued_by=None, notify_phone: str | None = None,
          notify_email: str | None = None) -> tuple[Ticket, bool]:
    """Issue a ticket for ``service`` at ``office``; ``(ticket, created)``.

    The same ``idempotency_key`` at the same office returns the ticket it
    issued first with ``created=False`` (a double tap, a retried request);
    so does an appointment already checked in. ``issued_by``: the clerk
    issuing it at the desk (audited). ``notify_phone`` / ``notify_email``: where
    to tell the citizen that their turn nears (already cleaned: E.164, normalised
    address); erased at day end.
    """
    if appointment is not None:
        kind = TicketKind.appointment
    check_issuable(office, service, kind, utcnow())
    if priority is not None and (priority not in PRIORITY_CLASSES or priority not in
                                 QueueSettings.of(office).priority_classes):
        raise ValidationError.at("priority", _l("Choose one of the priority groups."))
    if not isinstance(language, str) or not _LANGUAGE.match(language):
        raise ValidationError.at("language", _l("Choose a language from the list."))
    if idempotency_key is not None and (not isinstance(idempotency_key, str)
                                        or not 1 <= len(idempotency_key) <= 64):
        raise ValidationError.at("idempotency_key", _l("The request key is not valid."))
    needs = _clean_needs(needs)
    appointment_id = appointment.id if appointment is not None else None
    if appointment is not None and (appointment.office_id != office.id
                                    or appointment.service_id != service.id):
        raise ValidationError.at("appointment", _l(
            "This appointment is for another office or service."))

    # A replayed key is found by the unique constraint below (a new key, the common case,
    # costs no look-up); an appointment checked in before is looked up first.
    found = _existing(office.id, None, appointment_id)
    if found is not None:
        return _replayed(found, service, kind, priority), False
    now = utcnow()
    day = now.astimezone(office.zone).date()
    prefix = service.ticket_prefix
    try:
        with uow.savepoint():
            seq = _next_seq(office.id, prefix, day)
            ticket = Ticket(office=office, service=service, prefix=prefix, seq=seq, day=day,
                            number=format_number(prefix, seq), kind=kind, priority=priority,
                            language=language, needs=needs, status=TicketStatus.waiting,
                            issued_dt=now, appointment_id=appointment_id,
                            idempotency_key=idempotency_key, notify_phone=notify_phone or None,
                            notify_email=notify_email or None)
            db.session.add(ticket)
            db.session.flush()
    except IntegrityError:
        # Another request with the same key (or appointment) got in first; its number was
        # ours to take, and our increment rolled back with the savepoint: no gap.
        found = _existing(office.id, idempotency_key, appointment_id)
        if found is None:
            raise
        return _replayed(found, service, kind, priority), False
    _event("issued", ticket, now, kind=kind.value)
    if issued_by is not None:
        _audit("issue", ticket, issued_by)
    return ticket, True


# -- events and audit ------------------------------------------------------------------------

def _event(action: str, ticket: Ticket, at: datetime, **extra):
    counter = db.session.get(Counter, ticket.counter_id) if ticket.counter_id else None
    events.append(f"ticket.{action}", office_id=ticket.office_id, subject=f"ticket:{ticket.id}",
                  payload={"number": ticket.number, "service": ticket.service.code,
                           "counter": counter.code if counter else None,
                           "at": at.isoformat(), **extra})


def _audit(action: str, ticket: Ticket, clerk, **details):
    if clerk is not None:
        audit.record(f"queue.{action}", ticket, office_id=ticket.office_id, actor_user=clerk,
                     number=ticket.number, **details)


# -- transitions -----------------------------------------------------------------------------

def _move(ticket: Ticket, expected: tuple[TicketStatus, ...], *extra_where, **values) -> bool:
    """``UPDATE ticket SET … WHERE id = :id AND status IN :expected``; whether it changed.

    The row count decides, so of two callers racing for one ticket only one
    moves it. The ticket is re-read afterwards.
    """
    db.session.flush()
    result = db.session.execute(
        update(Ticket).where(Ticket.id == ticket.id, Ticket.status.in_(expected), *extra_where)
        .values(version=Ticket.version + 1, **values)
        .execution_options(synchronize_session=False))
    db.session.refresh(ticket)
    return result.rowcount == 1


def _check_counter(counter: Counter, office_id: int | None = None):
    if counter is None or not counter.active:
        raise ValidationError.at("counter", _l("This counter is not in use."))
    if office_id is not None and counter.office_id != office_id:
        raise ValidationError.at("counter", _l("This counter belongs to another office."))


def _serves(counter: Counter, ticket: Ticket) -> bool:
    if ticket.counter_id is not None and ticket.status == TicketStatus.waiting:
        return ticket.counter_id == counter.id
    return ticket.service_id in {service.id for service in counter.services}


def _called(ticket: Ticket, counter: Counter, clerk, now: datetime) -> Ticket:
    _event("called", ticket, now)
    _audit("call", ticket, clerk, counter=counter.code)
    notices.called(ticket, counter)
    notices.after_queue_moved(ticket.office_id)
    return ticket


def _call_values(counter: Counter, clerk, now: datetime) -> dict:
    return dict(status=TicketStatus.called, counter_id=counter.id, called_dt=now,
                called_by_id=getattr(clerk, "id", None), recalls=0)


def call(ticket: Ticket, counter: Counter, clerk) -> Ticket:
    """Call this waiting ticket to ``counter`` (the clerk picked it from the list)."""
    _check_counter(counter, ticket.office_id)
    if ticket.status == TicketStatus.waiting and not _serves(counter, ticket):
        raise ValidationError.at("counter", _l("This counter does not serve this ticket."))
    now = utcnow()
    if not _move(ticket, (TicketStatus.waiting,), **_call_values(counter, clerk, now)):
        raise WrongState(_l("This ticket is no longer waiting."))
    return _called(ticket, counter, clerk, now)


@dataclass(frozen=True)
class Candidate:
    """A waiting ticket as the call-next policy sees it (plain data, no session)."""

    id: int
    number: str
    kind: str
    priority: str | None
    service_id: int
    #: Set when the ticket was transferred to this very counter.
    counter_id: int | None
    issued_dt: datetime
    #: The checked-in appointment's start, for appointment tickets.
    appointment_start: datetime | None


@dataclass(frozen=True)
class Call:
    """A ticket the office called earlier (for fairness bounds), newest first."""

    id: int
    kind: str
    priority: str | None
    called_dt: datetime


def policy_order(waiting: list[Candidate], history: list[Call], knobs: dict | None,
                 now: datetime, limit: int | None = None) -> list[Candidate]:
    """``waiting`` in the order the office's call-next policy (``queue/policy.py``) calls them.

    ``knobs``: the office's stored policy settings (``Knobs.from_mapping``); ``limit``:
    only the first so many.
    """
    mine = {c.id: c for c in waiting}
    theirs = [call_policy.Candidate(id=c.id, kind=c.kind, priority=c.priority,
                                    issued_dt=c.issued_dt, due_dt=c.appointment_start,
                                    service_id=c.service_id) for c in waiting]
    recent = call_policy.History(tuple(
        call_policy.CALL_APPOINTMENT if call.kind == TicketKind.appointment.value
        else call_policy.CALL_PRIORITY if call.priority else call_policy.CALL_WALK_IN
        for call in history))
    ordered = call_policy.order(theirs, recent, call_policy.Knobs.from_mapping(knobs), now,
                                limit)
    return [mine[c.id] for c in ordered]


def _local_day(office: Office, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(office.zone).date()


@functools.lru_cache(maxsize=None)
def _candidates_statement():
    """Today's waiting tickets a counter may call (parameters ``office_id``, ``day`` and
    ``counter_id``), built once."""
    return (select(Ticket.id, Ticket.number, Ticket.kind, Ticket.priority, Ticket.service_id,
                   Ticket.counter_id, Ticket.issued_dt, Appointment.start_dt)
            .outerjoin(Appointment, Appointment.id == Ticket.appointment_id)
            .where(Ticket.office_id == bindparam("office_id"),
                   Ticket.status == TicketStatus.waiting, Ticket.day == bindparam("day"),
                   servable_by(bindparam("counter_id"))))


def candidates(counter: Counter, now: datetime | None = None) -> list[Candidate]:
    """The waiting tickets ``counter`` may call, as plain data (yesterday's, not yet
    expired, are not called)."""
    rows = db.session.execute(_candidates_statement(), {
        "office_id": counter.office_id, "day": _local_day(counter.office, now),
        "counter_id": counter.id}).all()
    return [Candidate(id=r[0], number=r[1], kind=r[2].value, priority=r[3], service_id=r[4],
                      counter_id=r[5], issued_dt=r[6], appointment_start=r[7]) for r in rows]


@functools.lru_cache(maxsize=None)
def _recent_calls_statement(one_day: bool):
    where = [Ticket.office_id == bindparam("office_id"), Ticket.called_dt.is_not(None)]
    if one_day:
        where.append(Ticket.day == bindparam("day"))
    return (select(Ticket.id, Ticket.kind, Ticket.priority, Ticket.called_dt).where(*where)
            .order_by(Ticket.called_dt.desc(), Ticket.id.desc()).limit(bindparam("limit")))


def recent_calls(office_id: int, limit: int = 20, day: date | None = None) -> list[Call]:
    """The office's latest calls (of its local ``day``, when given), newest first.

    The fairness bound looks at today's calls only: yesterday's last calls
    do not count against this morning's first walk-in.
    """
    rows = db.session.execute(_recent_calls_statement(day is not None), {
        "office_id": office_id, "day": day, "limit": limit}).all()
    return [Call(id=r[0], kind=r[1].value, priority=r[2], called_dt=r[3]) for r in rows]


def call_next(counter: Counter, clerk, *, policy=None, knobs: dict | None = None) -> Ticket | None:
    """Call the best waiting ticket to ``counter``; ``None`` when nobody waits for it.

    ``policy(candidates, history, knobs, now)`` orders the candidates (default:
    ``policy_order``, the office's call-next policy); ``knobs`` default to the
    office's stored settings. On
    PostgreSQL each candidate, best first, is locked with ``SKIP LOCKED``: a
    ticket another clerk is calling is passed over, not waited for. The
    guarded UPDATE then decides in every case.
    """
    _check_counter(counter)
    # Only the first few are tried: ordering the whole line cost 20 ms at 800 waiting.
    order = policy or functools.partial(policy_order, limit=LOCK_TRIES)
    if knobs is None:
        knobs = QueueSettings.of(counter.office).knobs
    postgres = db.session.get_bind().dialect.name == "postgresql"
    for _ in range(_setting("QUEUE_CALL_ROUNDS", 5)):
        now = utcnow()
        waiting = candidates(counter, now)
        if not waiting:
            return None
        ranked = order(waiting, recent_calls(counter.office_id,
                                             day=_local_day(counter.office, now)), knobs, now)
        for candidate in ranked[:LOCK_TRIES]:
            if postgres:
                ticket = db.session.scalar(
                    select(Ticket).where(Ticket.id == candidate.id,
                                         Ticket.status == TicketStatus.waiting)
                    .with_for_update(skip_locked=True))
                if ticket is None:
                    continue  # another clerk is calling it, or has called it
            else:
                ticket = db.session.get(Ticket, candidate.id)
            if _move(ticket, (TicketStatus.waiting,), **_call_values(counter, clerk, now)):
                return _called(ticket, counter, clerk, now)
    return None


def recall(ticket: Ticket, clerk=None) -> Ticket:
    """Announce a called ticket again; past the office's ``max_recalls`` it is a no-show.

    ``called_dt`` stays the first call's: a recall is no new call for the policy's history.
    ``QUEUE_MAX_RECALLS`` in the app's settings overrides every office's (tests).
    """
    office = db.session.get(Office, ticket.office_id)
    limit = _setting("QUEUE_MAX_RECALLS", QueueSettings.of(office).max_recalls)
    now = utcnow()
    if _move(ticket, (TicketStatus.called,), Ticket.recalls < limit,
             recalls=Ticket.recalls + 1):
        _event("recalled", ticket, now, recalls=ticket.recalls)
        _audit("recall", ticket, clerk, recalls=ticket.recalls)
        return ticket
    if ticket.status == TicketStatus.called:
        return no_show(ticket, clerk)
    raise WrongState(_l("This ticket is not being called."))


def start_serving(ticket: Ticket, clerk=None) -> Ticket:
    """The citizen came to the counter."""
    now = utcnow()
    if not _move(ticket, (TicketStatus.called,), status=TicketStatus.serving, serving_dt=now):
        raise WrongState(_l("This ticket is not being called."))
    _event("serving", ticket, now)
    _audit("serve", ticket, clerk)
    return ticket


def no_show(ticket: Ticket, clerk=None) -> Ticket:
    """The called citizen did not come."""
    now = utcnow()
    if not _move(ticket, (TicketStatus.called,), status=TicketStatus.no_show, finished_dt=now):
        raise WrongState(_l("This ticket is not being called."))
    _event("no_show", ticket, now, recalls=ticket.recalls)
    _audit("no_show", ticket, clerk)
    notices.after_queue_moved(ticket.office_id)
    return ticket


def finish(ticket: Ticket, outcome: str | None = None, clerk=None) -> Ticket:
    """The citizen was served; ``outcome`` a short category code, never free text."""
    if outcome is not None and (not isinstance(outcome, str) or not _OUTCOME.match(outcome)):
        raise ValidationError.at("outcome", _l("Choose an outcome from the list."))
    now = utcnow()
    if not _move(ticket, (TicketStatus.called, TicketStatus.serving), status=TicketStatus.done,
                 finished_dt=now, outcome=outcome):
        raise WrongState(_l("This ticket is not at a counter."))
    _event("finished", ticket, now, outcome=outcome)
    _audit("finish", ticket, clerk, outcome=outcome)
    notices.after_queue_moved(ticket.office_id)
    return ticket


def transfer(ticket: Ticket, service: Service | None = None, counter: Counter | None = None,
             clerk=None) -> Ticket:
    """Send a ticket to another service or counter, where it waits with its original issue time.

    With a counter it waits for that counter alone; with only a service, for
    any counter serving it.
    """
    if service is None and counter is None:
        raise ValidationError.at("service", _l("Choose a service or a counter to transfer to."))
    target = service if service is not None else db.session.get(Service, ticket.service_id)
    if service is not None:
        office = db.session.get(Office, ticket.office_id)
        if service.retired or office not in service.offices:
            raise ValidationError.at("service", _l("This service is not offered at this office."))
    if counter is not None:
        _check_counter(counter, ticket.office_id)
    if target.id == ticket.service_id and (counter is None or counter.id == ticket.counter_id):
        raise ValidationError.at("service" if counter is None else "counter", _l(
            "The ticket is already there: choose another service or counter."))
    now = utcnow()
    previous = db.session.get(Counter, ticket.counter_id) if ticket.counter_id else None
    if not _move(ticket, (TicketStatus.waiting, TicketStatus.called, TicketStatus.serving),
                 status=TicketStatus.waiting, service_id=target.id,
                 counter_id=counter.id if counter is not None else None,
                 called_dt=None, serving_dt=None, called_by_id=None, recalls=0):
        raise WrongState(_l("This ticket is already closed."))
    _event("transferred", ticket, now, previous_counter=previous.code if previous else None)
    _audit("transfer", ticket, clerk, service=target.code,
           counter=counter.code if counter is not None else None)
    notices.after_queue_moved(ticket.office_id)
    return ticket


def cancel(ticket: Ticket, clerk=None) -> Ticket:
    """The citizen left, or the ticket was issued by mistake."""
    now = utcnow()
    if not _move(ticket, (TicketStatus.waiting, TicketStatus.called),
                 status=TicketStatus.cancelled, finished_dt=now):
        raise WrongState(_l("This ticket is already closed."))
    _event("cancelled", ticket, now)
    _audit("cancel", ticket, clerk)
    notices.after_queue_moved(ticket.office_id)
    return ticket
