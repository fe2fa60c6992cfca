"""Counters held by clerks, check-in windows, estimates, settings and the day's end."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from citizen_desk.booking.models import Appointment, AppointmentStatus
from citizen_desk.core.db import utcnow
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from citizen_desk.queue import checkin, counters, daily, estimate
from citizen_desk.queue import operations as ops
from citizen_desk.queue.models import CounterSession, Ticket, TicketKind, TicketStatus
from citizen_desk.queue.settings import QueueSettings
from citizen_desk.staff.models import Role
from tests.factories import create_user
from tests.tickets.test_operations import q  # noqa: F401  (fixture)


def _appointment(q, minutes: int, status=AppointmentStatus.confirmed) -> Appointment:
    start = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=minutes)
    appointment = Appointment(code="K7M4QX",
                              status=status, office=q.office, service=q.a, start_dt=start,
                              end_dt=start + timedelta(minutes=15), name="Πολίτης",
                              needs={"interpreter": "ar"})
    db.session.add(appointment)
    db.session.flush()
    return appointment


def test_a_clerk_takes_a_free_counter_and_holds_one_at_a_time(q):
    counters.take(q.one, q.clerk)
    counters.take(q.two, q.clerk)
    held = db.session.scalars(select(CounterSession)).all()
    assert [(s.counter_id, s.user_id) for s in held] == [(q.two.id, q.clerk.id)]


def test_a_held_counter_asks_before_it_is_taken_over(q):
    other = create_user(role=Role.clerk, office=q.office)
    counters.take(q.one, q.clerk)
    with pytest.raises(counters.CounterHeld) as held:
        counters.take(q.one, other)
    assert held.value.holder.id == q.clerk.id
    counters.take(q.one, other, take_over_from=q.clerk.id)
    assert counters.holder_of(q.one).user_id == other.id
    with pytest.raises(counters.CounterHeld):
        counters.take(q.one, q.clerk, take_over_from=q.clerk.id)  # stale "take it?"


def test_a_paused_counter_calls_nobody_and_counts_as_closed(q):
    counters.take(q.one, q.clerk)
    assert counters.open_counters(q.office.id, q.a.id) == 1
    counters.set_paused(q.one, q.clerk, True)
    assert counters.open_counters(q.office.id, q.a.id) == 0
    with pytest.raises(counters.CounterPaused):
        counters.ensure_held(q.one, q.clerk)
    counters.set_paused(q.one, q.clerk, False)
    assert counters.ensure_held(q.one, q.clerk).counter_id == q.one.id
    assert counters.release(q.one, q.clerk) and counters.holder_of(q.one) is None


def test_check_in_within_the_window_makes_an_appointment_ticket_once(q):
    appointment = _appointment(q, minutes=20)
    ticket, created = checkin.check_in(q.office, "k7m-4qx")
    again, created_again = checkin.check_in(q.office, "K7M4QX")
    assert (created, created_again, again.id) == (True, False, ticket.id)
    assert ticket.kind == TicketKind.appointment and ticket.needs["interpreter"] == "ar"
    assert appointment.status == AppointmentStatus.attended


def test_a_scanned_manage_link_is_read_for_its_code(q):
    _appointment(q, minutes=0)
    ticket, _ = checkin.check_in(q.office, "https://desk.example.gov.gr/appointments/K7M4QX/"
                                           "abcdefghijklmnopqrstuvwxyz")
    assert ticket.kind == TicketKind.appointment


@pytest.mark.parametrize("minutes, refusal", [(45, checkin.TooEarly), (-20, checkin.TooLate)])
def test_too_early_or_too_late_is_refused_and_changes_nothing(q, minutes, refusal):
    appointment = _appointment(q, minutes=minutes)
    with pytest.raises(refusal):
        checkin.check_in(q.office, appointment.code)
    assert db.session.query(Ticket).count() == 0
    assert appointment.status == AppointmentStatus.confirmed


@pytest.mark.parametrize("text", ["", "nonsense", "AAAAAA", "x" * 600, None])
def test_an_unknown_code_is_refused(q, text):
    _appointment(q, minutes=0)
    with pytest.raises(ValidationError):
        checkin.check_in(q.office, text)


def test_a_cancelled_appointment_does_not_check_in(q):
    _appointment(q, minutes=0, status=AppointmentStatus.cancelled)
    with pytest.raises(ValidationError):
        checkin.check_in(q.office, "K7M4QX")


def test_the_windows_are_the_offices(q):
    q.office.queue_settings = {"checkin_early_minutes": 60}
    _appointment(q, minutes=45)
    ticket, created = checkin.check_in(q.office, "K7M4QX")
    assert created


def test_people_ahead_follow_the_policy(q):
    first, _ = ops.issue(q.office, q.a)
    second, _ = ops.issue(q.office, q.a)
    senior, _ = ops.issue(q.office, q.a, priority="senior")
    other, _ = ops.issue(q.office, q.b)
    assert [estimate.people_ahead(t) for t in (senior, first, second, other)] == [0, 1, 2, 0]


def test_the_estimate_falls_back_to_the_duration_then_uses_the_median(q):
    for _ in range(3):
        ops.issue(q.office, q.a)
    last, _ = ops.issue(q.office, q.a)
    assert estimate.standing(last).wait_minutes == 3 * q.a.duration_minutes
    now = utcnow()
    for minutes in (4, 6, 50):
        ticket, _ = ops.issue(q.office, q.b)
        ticket.service_id = q.a.id
        ticket.status = TicketStatus.done
        ticket.called_dt = now - timedelta(minutes=minutes + 1)
        ticket.finished_dt = now - timedelta(minutes=1)
    db.session.flush()
    assert estimate.minutes_per_citizen(q.office.id, q.a) == 6
    assert estimate.standing(last).wait_minutes == 18


def test_settings_are_checked_and_default_to_the_house_rules(q):
    assert QueueSettings.of(q.office).checkin_late_minutes == 15
    with pytest.raises(ValidationError) as refused:
        QueueSettings.clean({"max_recalls": "99", "notify_minutes": "x",
                             "priority_classes": ["vip"]})
    assert set(refused.value.errors) == {"max_recalls", "notify_minutes", "priority_classes"}
    assert QueueSettings.clean({"max_recalls": "2"}).max_recalls == 2


def test_a_priority_group_the_office_does_not_offer_is_refused(q):
    q.office.queue_settings = {"priority_classes": ["disability"]}
    with pytest.raises(ValidationError):
        ops.issue(q.office, q.a, priority="senior")


def test_close_day_expires_yesterdays_open_tickets_and_erases_contacts(q):
    old, _ = ops.issue(q.office, q.a, notify_phone="+306912345678")
    old.day = old.day - timedelta(days=1)
    today, _ = ops.issue(q.office, q.a, notify_email="a@example.org")
    done, _ = ops.issue(q.office, q.a, notify_email="b@example.org")
    ops.call(done, q.one, q.clerk)
    ops.finish(done)
    db.session.flush()
    report = daily.close_day(q.office)
    assert (report.expired, report.contacts_erased) == (1, 2)
    for ticket in (old, today, done):
        db.session.refresh(ticket)
    assert old.status == TicketStatus.expired and old.notify_phone is None
    assert today.status == TicketStatus.waiting and today.notify_email == "a@example.org"
    assert daily.close_day(q.office).expired == 0
    assert daily.close_day(q.office, include_today=True).expired == 1


def test_yesterdays_waiting_ticket_is_not_called(q):
    old, _ = ops.issue(q.office, q.a)
    old.day = old.day - timedelta(days=1)
    db.session.flush()
    assert ops.call_next(q.one, q.clerk) is None


@pytest.mark.parametrize("seed", range(4))
def test_people_ahead_counts_what_the_policy_rules_order_before(q, monkeypatch, seed):
    """The SQL count equals the ticket's place in the policy's rules-1–3 order (line_key)."""
    import random
    from citizen_desk.queue import policy
    rng = random.Random(seed)
    start = utcnow().replace(microsecond=0) - timedelta(minutes=90)
    tickets = []
    for n in range(30):
        # Arrival times out of id order, with ties: the count must follow the time, then the id.
        issued = start + timedelta(minutes=rng.randint(0, 20))
        monkeypatch.setattr(ops, "utcnow", lambda issued=issued: issued)
        kind = rng.choice(["walk", "walk", "walk", "appointment", "priority"])
        if kind == "appointment":
            at = utcnow() + timedelta(minutes=rng.randint(-30, 40))
            appointment = Appointment(code="".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
                                                   for _ in range(6)),
                                      status=AppointmentStatus.confirmed, office=q.office,
                                      service=q.a, start_dt=at,
                                      end_dt=at + timedelta(minutes=15), name="Πολίτης")
            db.session.add(appointment)
            db.session.flush()
            ticket, _ = ops.issue(q.office, q.a, appointment=appointment)
        else:
            ticket, _ = ops.issue(q.office, q.a, priority=rng.choice(
                ["senior", "disability", "pregnancy"]) if kind == "priority" else None)
        tickets.append(ticket)
    now = utcnow()
    knobs = policy.Knobs.from_mapping(QueueSettings.of(q.office).knobs)
    waiting = ops.candidates(q.one, now)
    line = sorted((policy.Candidate(id=c.id, kind=c.kind, priority=c.priority,
                                    issued_dt=c.issued_dt, due_dt=c.appointment_start)
                   for c in waiting), key=lambda c: policy.line_key(c, knobs, now))
    expected = {c.id: index for index, c in enumerate(line)}
    assert {t.id: estimate.people_ahead(t, now) for t in tickets} == expected
