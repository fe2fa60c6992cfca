"""Issuing and numbering tickets, idempotency, and every transition with its refusals."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from citizen_desk.booking.models import Appointment
from citizen_desk.catalog.models import Counter, Service
from citizen_desk.core.audit import AuditEntry
from citizen_desk.core.db import utcnow
from citizen_desk.core.events import Event
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import operations as ops
from citizen_desk.queue.models import Ticket, TicketKind, TicketSequence, TicketStatus
from citizen_desk.staff.models import StaffUser
from tests.factories import create_office, create_service


@pytest.fixture
def q(app_ctx, desk):
    """The desk's objects, loaded in the test's session."""
    class Loaded:
        office = db.session.get(Office, desk.office_id)
        a = db.session.get(Service, desk.a_id)
        b = db.session.get(Service, desk.b_id)
        c = db.session.get(Service, desk.c_id)
        one = db.session.get(Counter, desk.counter1_id)
        two = db.session.get(Counter, desk.counter2_id)
        clerk = db.session.get(StaffUser, desk.clerk_id)
    return Loaded


def issue(q, service=None, **kw) -> Ticket:
    ticket, created = ops.issue(q.office, service or q.a, **kw)
    assert created
    return ticket


def at_time(monkeypatch, when: datetime):
    monkeypatch.setattr(ops, "utcnow", lambda: when)


def events_of(ticket) -> list[Event]:
    return db.session.scalars(select(Event).where(Event.subject == f"ticket:{ticket.id}")
                              .order_by(Event.id)).all()


# -- numbering -------------------------------------------------------------------------------

def test_numbers_count_up_per_prefix_without_gaps(q):
    numbers = [issue(q).number for _ in range(3)] + [issue(q, q.b).number, issue(q).number]
    assert numbers == ["A001", "A002", "A003", "B001", "A004"]
    row = db.session.get(TicketSequence, (q.office.id, "A", q.office.today()))
    assert row.last == 4
    assert [t.seq for t in db.session.scalars(
        select(Ticket).where(Ticket.prefix == "A").order_by(Ticket.id))] == [1, 2, 3, 4]


def test_each_office_numbers_its_own_tickets(q):
    other = create_office(holiday_country=None)
    q.a.offices.append(other)
    db.session.flush()
    assert issue(q).number == "A001"
    # A desk ticket: the other office has no opening hours, which bind walk-ins only.
    assert ops.issue(other, q.a, kind=TicketKind.staff)[0].number == "A001"
    assert issue(q).number == "A002"


def test_numbering_restarts_at_office_local_midnight(q, monkeypatch):
    # 21:59 UTC is 23:59 in Athens in November; 22:01 UTC is already the next day there.
    # Desk tickets: the desk's walk-in hours end at 23:45.
    q.office.timezone = "Europe/Athens"
    db.session.flush()
    at_time(monkeypatch, datetime(2026, 11, 26, 21, 59, tzinfo=timezone.utc))
    late = [issue(q, kind=TicketKind.staff), issue(q, kind=TicketKind.staff)]
    at_time(monkeypatch, datetime(2026, 11, 26, 22, 1, tzinfo=timezone.utc))
    early = issue(q, kind=TicketKind.staff)
    assert [(t.number, t.day.isoformat()) for t in late + [early]] == [
        ("A001", "2026-11-26"), ("A002", "2026-11-26"), ("A001", "2026-11-27")]


def test_past_999_the_number_grows_a_digit(q):
    db.session.add(TicketSequence(office_id=q.office.id, prefix="A", day=q.office.today(),
                                  last=998))
    db.session.flush()
    assert [issue(q).number, issue(q).number] == ["A999", "A1000"]
    assert ops.format_number("B", 7) == "B007"


def test_a_refused_issue_leaves_no_gap(q):
    issue(q)
    with pytest.raises(ValidationError):
        ops.issue(q.office, q.a, priority="vip")
    assert issue(q).number == "A002"


def test_a_ticket_has_an_unguessable_public_id_and_its_details(q):
    ticket = issue(q, priority="senior", language="en",
                   needs={"interpreter": "ar", "wheelchair": True})
    other = issue(q)
    assert len(ticket.public_id) >= 22 and ticket.public_id != other.public_id  # ≥ 128 bits
    assert (ticket.kind, ticket.priority, ticket.language, ticket.status) == (
        TicketKind.walk_in, "senior", "en", TicketStatus.waiting)
    assert ticket.needs == {"interpreter": "ar", "wheelchair": True, "sign_language": False}
    assert ticket.issued_dt.tzinfo is not None and ticket.day == q.office.today()


# -- idempotency -----------------------------------------------------------------------------

def test_the_same_key_returns_the_same_ticket(q):
    first, created = ops.issue(q.office, q.a, idempotency_key="tap-1")
    again, created_again = ops.issue(q.office, q.a, idempotency_key="tap-1")
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    other, _ = ops.issue(q.office, q.a, idempotency_key="tap-2")
    assert other.number == "A002"
    assert db.session.query(Ticket).count() == 2
    assert len([e for e in events_of(first) if e.kind == "ticket.issued"]) == 1


def test_a_key_is_per_office(q):
    other = create_office(holiday_country=None)
    q.a.offices.append(other)
    db.session.flush()
    mine, _ = ops.issue(q.office, q.a, idempotency_key="tap")
    theirs, created = ops.issue(other, q.a, idempotency_key="tap", kind=TicketKind.staff)
    assert created and theirs.id != mine.id


def test_a_key_replayed_with_another_request_is_refused(q):
    ops.issue(q.office, q.a, idempotency_key="tap")
    for kw in ({"service": q.b}, {"service": q.a, "priority": "senior"}):
        service = kw.pop("service")
        with pytest.raises(ValidationError) as refused:
            ops.issue(q.office, service, idempotency_key="tap", **kw)
        assert set(refused.value.errors) == {"idempotency_key"}
    assert db.session.query(Ticket).count() == 1


# -- refusals when issuing -------------------------------------------------------------------

@pytest.mark.parametrize("case, field", [
    ("retired office", "office"), ("retired service", "service"),
    ("not offered", "service"), ("appointments only", "service"), ("priority", "priority"),
    ("language", "language"), ("needs", "needs"), ("interpreter", "needs.interpreter"),
    ("key", "idempotency_key"),
])
def test_bad_requests_are_refused_and_change_nothing(q, case, field):
    office, service, kw = q.office, q.a, {}
    if case == "retired office":
        office.retired = True
    elif case == "retired service":
        service.retired = True
    elif case == "not offered":
        office = create_office(holiday_country=None)
    elif case == "appointments only":
        service = q.c
    else:
        kw = {"priority": {"priority": "vip"}, "language": {"language": "<b>"},
              "needs": {"needs": {"pony": True}}, "interpreter": {"needs": {"interpreter": "xx"}},
              "key": {"idempotency_key": "k" * 65}}[case]
    db.session.flush()
    with pytest.raises(ValidationError) as refused:
        ops.issue(office, service, **kw)
    assert field in refused.value.errors
    assert db.session.query(Ticket).count() == 0
    assert db.session.query(TicketSequence).count() == 0


def test_staff_may_check_in_to_an_appointment_only_service(q):
    ticket, created = ops.issue(q.office, q.c, kind=TicketKind.appointment)
    assert created and ticket.number == "C001"


# -- calling ---------------------------------------------------------------------------------

def test_call_next_takes_priority_then_the_oldest_of_the_services_it_serves(q, monkeypatch):
    start = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
    at_time(monkeypatch, start)
    a1 = issue(q)
    at_time(monkeypatch, start + timedelta(minutes=1))
    b1 = issue(q, q.b)
    at_time(monkeypatch, start + timedelta(minutes=2))
    senior = issue(q, priority="senior")
    at_time(monkeypatch, start + timedelta(minutes=3))
    order = [ops.call_next(q.one, q.clerk).number for _ in range(3)]
    assert order == [senior.number, a1.number, b1.number]
    assert ops.call_next(q.one, q.clerk) is None


def test_call_next_leaves_services_the_counter_does_not_serve(q):
    issue(q)  # A: only counter 1
    assert ops.call_next(q.two, q.clerk) is None
    b = issue(q, q.b)
    assert ops.call_next(q.two, q.clerk).id == b.id


def test_a_called_ticket_records_who_where_when_and_an_event(q):
    ticket = issue(q)
    called = ops.call_next(q.one, q.clerk)
    assert called.id == ticket.id
    assert (called.status, called.counter_id, called.called_by_id, called.recalls) == (
        TicketStatus.called, q.one.id, q.clerk.id, 0)
    assert called.called_dt >= called.issued_dt
    assert called.version == 2
    kinds = [e.kind for e in events_of(ticket)]
    assert kinds == ["ticket.issued", "ticket.called"]
    payload = events_of(ticket)[-1].payload
    assert set(payload) == {"number", "service", "counter", "at"}
    assert (payload["number"], payload["service"], payload["counter"]) == ("A001", "queue-a", "1")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "queue.call")).one()
    assert (entry.actor_user_id, entry.object_id, entry.office_id) == (
        q.clerk.id, str(ticket.id), q.office.id)


def test_a_specific_ticket_is_called_once(q):
    first, second = issue(q), issue(q)
    assert ops.call(second, q.one, q.clerk).status == TicketStatus.called
    with pytest.raises(ops.WrongState):
        ops.call(second, q.one, q.clerk)
    assert ops.call_next(q.one, q.clerk).id == first.id


def test_calling_to_a_counter_that_cannot_serve_it_is_refused(q):
    a = issue(q)
    with pytest.raises(ValidationError):
        ops.call(a, q.two, q.clerk)
    q.one.active = False
    db.session.flush()
    with pytest.raises(ValidationError):
        ops.call(a, q.one, q.clerk)
    other = create_office(holiday_country=None)
    db.session.flush()
    stranger = Counter(office_id=other.id, code="9", label={"el": "9"})
    db.session.add(stranger)
    db.session.flush()
    with pytest.raises(ValidationError):
        ops.call(a, stranger, q.clerk)
    assert (a.status, a.version) == (TicketStatus.waiting, 1)


# -- the rest of a ticket's life -------------------------------------------------------------

def test_recall_up_to_the_limit_then_no_show(q, app_ctx):
    app_ctx.config["QUEUE_MAX_RECALLS"] = 2
    ticket = issue(q)
    ops.call(ticket, q.one, q.clerk)
    assert ops.recall(ticket, q.clerk).recalls == 1
    assert ops.recall(ticket, q.clerk).recalls == 2
    assert ops.recall(ticket, q.clerk).status == TicketStatus.no_show
    assert [e.kind for e in events_of(ticket)] == [
        "ticket.issued", "ticket.called", "ticket.recalled", "ticket.recalled", "ticket.no_show"]
    with pytest.raises(ops.WrongState):
        ops.recall(ticket, q.clerk)


def test_serve_and_finish_with_an_outcome_code(q):
    ticket = issue(q)
    ops.call(ticket, q.one, q.clerk)
    assert ops.start_serving(ticket, q.clerk).status == TicketStatus.serving
    with pytest.raises(ValidationError):
        ops.finish(ticket, "the citizen, Γιάννης, was upset", q.clerk)
    done = ops.finish(ticket, "completed", q.clerk)
    assert (done.status, done.outcome) == (TicketStatus.done, "completed")
    assert done.serving_dt and done.finished_dt >= done.serving_dt
    assert events_of(ticket)[-1].payload["outcome"] == "completed"
    assert ops.candidates(q.one) == []


@pytest.mark.parametrize("action", ["start_serving", "no_show", "finish", "recall"])
def test_a_waiting_ticket_cannot_be_served_finished_or_missed(q, action):
    ticket = issue(q)
    with pytest.raises(ops.WrongState):
        getattr(ops, action)(ticket)
    assert (ticket.status, ticket.version) == (TicketStatus.waiting, 1)
    assert [e.kind for e in events_of(ticket)] == ["ticket.issued"]


@pytest.mark.parametrize("action", ["call", "start_serving", "no_show", "finish", "recall",
                                    "transfer", "cancel"])
def test_a_finished_ticket_changes_no_more(q, action):
    ticket = issue(q)
    ops.call(ticket, q.one, q.clerk)
    ops.finish(ticket)
    version = ticket.version
    with pytest.raises(ops.WrongState):
        if action == "call":
            ops.call(ticket, q.one, q.clerk)
        elif action == "transfer":
            ops.transfer(ticket, q.b)
        else:
            getattr(ops, action)(ticket)
    assert (ticket.status, ticket.version) == (TicketStatus.done, version)


def test_no_show_only_for_a_called_ticket(q):
    ticket = issue(q)
    ops.call(ticket, q.one, q.clerk)
    ops.start_serving(ticket)
    with pytest.raises(ops.WrongState):
        ops.no_show(ticket)
    with pytest.raises(ops.WrongState):
        ops.start_serving(ticket)


def test_transfer_to_a_service_keeps_the_issue_time(q, monkeypatch):
    start = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
    at_time(monkeypatch, start)
    ticket = issue(q)
    at_time(monkeypatch, start + timedelta(minutes=5))
    later_b = issue(q, q.b)
    at_time(monkeypatch, start + timedelta(minutes=10))
    ops.call(ticket, q.one, q.clerk)
    ops.start_serving(ticket)
    moved = ops.transfer(ticket, q.b, clerk=q.clerk)
    assert (moved.status, moved.service_id, moved.counter_id, moved.issued_dt, moved.number) == (
        TicketStatus.waiting, q.b.id, None, start, "A001")
    assert moved.called_dt is None and moved.serving_dt is None
    # Counter 2 (B only) now calls it, before the B ticket issued after it.
    assert ops.call_next(q.two, q.clerk).id == ticket.id
    assert ops.call_next(q.two, q.clerk).id == later_b.id
    kinds = [e.kind for e in events_of(ticket)]
    assert kinds == ["ticket.issued", "ticket.called", "ticket.serving", "ticket.transferred",
                     "ticket.called"]


def test_transfer_to_a_counter_waits_for_that_counter_alone(q):
    ticket = issue(q, q.b)
    ops.call(ticket, q.two, q.clerk)
    ops.transfer(ticket, counter=q.one, clerk=q.clerk)
    assert (ticket.status, ticket.counter_id) == (TicketStatus.waiting, q.one.id)
    assert ops.call_next(q.two, q.clerk) is None
    assert ops.call_next(q.one, q.clerk).id == ticket.id


def test_transfer_to_itself_or_nowhere_is_refused(q):
    ticket = issue(q)
    ops.call(ticket, q.one, q.clerk)
    for kw in ({}, {"service": q.a}, {"counter": q.one}, {"service": q.a, "counter": q.one}):
        with pytest.raises(ValidationError):
            ops.transfer(ticket, **kw)
    other = create_office(holiday_country=None)
    foreign = Service(code="elsewhere", ticket_prefix="Z", name={"el": "Αλλού"},
                      offices=[other])
    db.session.add(foreign)
    db.session.flush()
    with pytest.raises(ValidationError):
        ops.transfer(ticket, foreign)
    assert (ticket.status, ticket.version) == (TicketStatus.called, 2)


def test_cancel_a_waiting_or_called_ticket(q):
    waiting, called = issue(q), issue(q)
    ops.call(called, q.one, q.clerk)
    assert ops.cancel(waiting).status == TicketStatus.cancelled
    assert ops.cancel(called, q.clerk).status == TicketStatus.cancelled
    with pytest.raises(ops.WrongState):
        ops.cancel(waiting)
    assert ops.call_next(q.one, q.clerk) is None


def test_events_carry_no_personal_data(q):
    ticket = issue(q, language="en", needs={"interpreter": "ar"}, priority="pregnancy",
                   idempotency_key="device-key")
    ops.call(ticket, q.one, q.clerk)
    for event in events_of(ticket):
        text = repr(event.payload)
        assert "ar" not in event.payload.values() and "pregnancy" not in text
        assert "device-key" not in text and ticket.public_id not in text


def _appointment(q, service, minutes=0, office=None) -> Appointment:
    start = utcnow().replace(microsecond=0) + timedelta(minutes=minutes)
    appointment = Appointment(code=f"K7M{abs(minutes) + 2:03d}",
                              office=office or q.office, service=service, start_dt=start,
                              end_dt=start + timedelta(minutes=15), name="Πολίτης")
    db.session.add(appointment)
    db.session.flush()
    return appointment


def test_an_appointment_checks_in_once_and_is_called_first_when_due(q):
    walk_in = issue(q)
    appointment = _appointment(q, q.a, minutes=-2)
    ticket, created = ops.issue(q.office, q.a, appointment=appointment)
    again, created_again = ops.issue(q.office, q.a, appointment=appointment)
    assert (created, created_again, again.id) == (True, False, ticket.id)
    assert (ticket.kind, ticket.appointment_id, ticket.number) == (
        TicketKind.appointment, appointment.id, "A002")
    assert ops.call_next(q.one, q.clerk).id == ticket.id
    assert ops.call_next(q.one, q.clerk).id == walk_in.id


def test_an_appointment_of_another_service_is_refused(q):
    appointment = _appointment(q, q.b)
    with pytest.raises(ValidationError) as refused:
        ops.issue(q.office, q.a, appointment=appointment)
    assert set(refused.value.errors) == {"appointment"}
    assert db.session.query(Ticket).count() == 0


def test_call_next_passes_over_a_ticket_another_clerk_has_locked(q, app_ctx, dialect):
    """PostgreSQL: the best candidate is locked elsewhere; call_next takes the next at once."""
    if dialect != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises writers")
    first, second = issue(q), issue(q)
    db.session.commit()
    with db.engine.connect() as other:
        other.execute(text("SET lock_timeout = '5s'"))
        other.execute(text("SELECT id FROM ticket WHERE id = :id FOR UPDATE"), {"id": first.id})
        db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
        called = ops.call_next(q.one, q.clerk)
        assert called.id == second.id
        db.session.commit()
        other.rollback()
    assert ops.call_next(q.one, q.clerk).id == first.id


def test_call_next_follows_the_office_policy_and_its_fairness_bound(q, monkeypatch):
    """After three priority calls in a row, a walk-in waiting over 20 minutes goes first;
    the office's knobs change the bound."""
    start = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
    at_time(monkeypatch, start)
    walk_in = issue(q)
    for minute in range(1, 6):
        at_time(monkeypatch, start + timedelta(minutes=minute))
        issue(q, priority="senior")
    at_time(monkeypatch, start + timedelta(minutes=30))
    calls = [ops.call_next(q.one, q.clerk) for _ in range(3)]
    # The walk-in has waited 30 minutes: not long enough for an office that says 45.
    calls.append(ops.call_next(q.one, q.clerk, knobs={"fairness_wait_minutes": 45}))
    calls.append(ops.call_next(q.one, q.clerk))
    assert [t.priority for t in calls] == ["senior"] * 4 + [None]
    assert calls[4].id == walk_in.id


def test_services_sharing_a_prefix_share_its_numbering(q):
    """The catalog refuses a second service with the same prefix at an office; were two to
    share one anyway (two edits racing past that check), numbers still never repeat."""
    twin = create_service(offices=[q.office], ticket_prefix="Z", code="queue-a-twin")
    twin.ticket_prefix = "A"
    db.session.flush()
    numbers = [issue(q).number, issue(q, twin).number, issue(q).number]
    assert numbers == ["A001", "A002", "A003"]
