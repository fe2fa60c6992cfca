"""Booking operations on one database session: hold, book, confirm, cancel, reschedule, close."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from citizen_desk.booking import availability, operations as ops
from citizen_desk.booking.models import (Appointment, AppointmentStatus, BookingCap, SeatClaim,
                                         normalise_code)
from citizen_desk.core import uow
from citizen_desk.core.db import utcnow
from citizen_desk.core.events import Event
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from tests.booking.conftest import at, next_weekday

DETAILS = {"name": "Νίκος Γεωργίου", "email": "nikos@example.gr", "phone": None,
           "language": "el", "identifiers": {}, "needs": {}}


def free_at(office, service, start, pool="public"):
    day = start.astimezone(office.zone).date()
    for slot in availability.free_slots(office, service, day, day, pool=pool, include_full=True):
        if slot.start == start:
            return slot.free
    return None


def test_booking_takes_a_seat_and_gives_a_code_and_a_secret(bookable):
    office, service = bookable
    nine = at(office, next_weekday(1), 9)
    booked = ops.book(office, service, nine, DETAILS)
    appointment = booked.appointment
    assert appointment.status == AppointmentStatus.confirmed
    assert normalise_code(appointment.display_code.lower()) == appointment.code
    assert not set(appointment.code) & set("01OI")
    assert len(booked.token) >= 43  # 256 bits, URL-safe
    assert free_at(office, service, nine) == 2
    assert ops.find_by_token(appointment.display_code, booked.token) is appointment
    assert ops.find_by_token(appointment.code, booked.token[:-1] + "x") is None
    kinds = db.session.scalars(select(Event.kind)).all()
    assert kinds == ["appointment.booked"]


def test_another_bookings_code_with_my_token_finds_nothing(bookable):
    office, service = bookable
    nine = at(office, next_weekday(1), 9)
    mine = ops.book(office, service, nine, DETAILS)
    other = ops.book(office, service, nine, DETAILS | {"email": "other@example.gr"})
    assert ops.find_by_token(other.appointment.code, mine.token) is None
    assert ops.find_by_token("ZZZZZZ", mine.token) is None


def test_bad_times_are_refused_and_write_nothing(bookable):
    office, service = bookable
    monday = next_weekday(1)
    for start, words in [(at(office, monday, 9, 7), "does not take"),
                         (at(office, monday, 13), "does not take"),
                         (at(office, next_weekday(6), 9), "does not take"),
                         (utcnow() - timedelta(hours=1), "passed"),
                         (at(office, monday, 9) + timedelta(days=400), "at most")]:
        with pytest.raises(ValidationError) as caught:
            ops.book(office, service, start, DETAILS)
        with force_locale("en"):
            assert words in str(caught.value.errors["start"])
        db.session.rollback()
    assert db.session.scalar(select(func.count(Appointment.id))) == 0


def test_a_full_slot_is_a_conflict_with_the_nearest_free_times(bookable):
    office, service = bookable
    nine = at(office, next_weekday(1), 9)
    for n in range(3):
        ops.book(office, service, nine, DETAILS | {"email": f"p{n}@example.gr"})
    with pytest.raises(ops.SlotTaken) as caught:
        ops.book(office, service, nine, DETAILS | {"email": "late@example.gr"})
    assert caught.value.alternatives[0].start == nine + timedelta(minutes=15)


def test_a_hold_keeps_the_seat_for_its_holder_only(bookable):
    office, service = bookable
    nine = at(office, next_weekday(1), 9)
    ops.hold(office, service, nine, "mine")
    for n in range(2):
        ops.book(office, service, nine, DETAILS | {"email": f"p{n}@example.gr"})
    with pytest.raises(ops.SlotTaken), uow.savepoint():
        ops.book(office, service, nine, DETAILS | {"email": "x@example.gr"}, hold_key="theirs")
    booked = ops.book(office, service, nine, DETAILS, hold_key="mine")
    claims = db.session.scalars(select(SeatClaim)).all()
    assert len(claims) == 3 and all(c.hold_key is None and c.expires_dt is None for c in claims)
    assert booked.appointment.seat_no in {c.seat_no for c in claims}


def test_one_live_hold_per_holder(bookable):
    office, service = bookable
    monday = next_weekday(1)
    ops.hold(office, service, at(office, monday, 9), "mine")
    ops.hold(office, service, at(office, monday, 10), "mine")
    assert db.session.scalar(select(func.count(SeatClaim.id))) == 1
    assert ops.held_start("mine", office)[0] == at(office, monday, 10)


def test_cancelling_returns_a_public_seat_after_the_release_delay(bookable, app_ctx):
    office, service = bookable
    nine = at(office, next_weekday(1), 9)
    booked = ops.book(office, service, nine, DETAILS)
    ops.cancel(booked.appointment, reason="Δεν μπορώ")
    assert booked.appointment.status == AppointmentStatus.cancelled
    assert booked.appointment.sequence == 1
    assert free_at(office, service, nine) == 2  # still out of reach for 15 minutes
    claim = db.session.scalar(select(SeatClaim))
    assert timedelta(minutes=14) < claim.expires_dt - utcnow() <= timedelta(minutes=15)
    claim.expires_dt = utcnow() - timedelta(seconds=1)
    assert free_at(office, service, nine) == 3
    with pytest.raises(ops.NotChangeable):
        ops.cancel(booked.appointment)
    assert db.session.scalar(select(func.count(BookingCap.id))) == 0


def test_rescheduling_moves_the_seat_and_a_full_slot_leaves_it_untouched(bookable):
    office, service = bookable
    monday = next_weekday(1)
    nine, ten = at(office, monday, 9), at(office, monday, 10)
    booked = ops.book(office, service, nine, DETAILS, citizen_keys=["email:nikos@example.gr"])
    for n in range(3):
        ops.book(office, service, ten, DETAILS | {"email": f"p{n}@example.gr"})
    with pytest.raises(ops.SlotTaken), uow.savepoint():
        ops.reschedule(booked.appointment, ten)
    appointment = db.session.get(Appointment, booked.appointment.id)
    assert appointment.start_dt == nine and free_at(office, service, nine) == 2
    eleven = at(office, monday, 11)
    ops.reschedule(appointment, eleven)
    assert appointment.start_dt == eleven and appointment.sequence == 1
    assert free_at(office, service, eleven) == 2
    assert free_at(office, service, nine) == 2  # the old seat waits out the release delay
    assert db.session.scalar(select(BookingCap.until_dt)) == appointment.end_dt


def test_the_per_citizen_cap_counts_each_key(bookable, app_ctx):
    office, service = bookable
    monday = next_weekday(1)
    first = ops.book(office, service, at(office, monday, 9), DETAILS,
                     citizen_keys=["email:nikos@example.gr"])
    with pytest.raises(ops.CapReached), uow.savepoint():
        ops.book(office, service, at(office, monday, 10), DETAILS,
                 citizen_keys=["phone:+306900000000", "email:nikos@example.gr"])
    # Staff bookings count against their own pool.
    ops.book(office, service, at(office, monday, 10), DETAILS, pool="staff",
             citizen_keys=["email:nikos@example.gr"])
    ops.cancel(db.session.get(Appointment, first.appointment.id))
    ops.book(office, service, at(office, monday, 11), DETAILS,
             citizen_keys=["email:nikos@example.gr"])
    app_ctx.config["BOOKING_CAP_PER_CITIZEN"] = 2
    ops.book(office, service, at(office, monday, 11, 15), DETAILS,
             citizen_keys=["email:nikos@example.gr"])


def test_double_opt_in_keeps_the_seat_only_until_the_deadline(bookable):
    office, service = bookable
    office.confirm_by_email = True
    nine = at(office, next_weekday(1), 9)
    booked = ops.book(office, service, nine, DETAILS)
    appointment = booked.appointment
    assert appointment.status == AppointmentStatus.pending
    assert free_at(office, service, nine) == 2
    assert ops.confirm(appointment) and appointment.status == AppointmentStatus.confirmed
    assert db.session.scalar(select(SeatClaim.expires_dt)) is None
    late = ops.book(office, service, nine, DETAILS | {"email": "late@example.gr"}).appointment
    late.confirm_by_dt = utcnow() - timedelta(seconds=1)
    assert not ops.confirm(late)
    assert late.status == AppointmentStatus.expired
    assert free_at(office, service, nine) == 2


def test_staff_close_an_appointment_that_began(bookable):
    office, service = bookable
    booked = ops.book(office, service, at(office, next_weekday(1), 9), DETAILS)
    with pytest.raises(ops.NotChangeable):
        ops.close(booked.appointment, AppointmentStatus.no_show)
    booked.appointment.start_dt = utcnow() - timedelta(minutes=5)
    ops.close(booked.appointment, AppointmentStatus.attended)
    assert booked.appointment.status == AppointmentStatus.attended


def test_staff_book_a_caller_later_today_citizens_give_notice(app_ctx):
    from datetime import time

    from citizen_desk.booking.models import Channel
    from tests.factories import add_rule, create_office, create_service, create_user
    office = create_office(holiday_country=None, min_notice_hours=12)
    add_rule(office, weekdays=[1, 2, 3, 4, 5, 6, 7], start_time=time(0), end_time=time(23, 59),
             seats={"public": 1, "staff": 1})
    service = create_service(offices=[office])
    office = availability.load_office(office.id)
    soon = utcnow().replace(second=0, microsecond=0) + timedelta(hours=1)
    soon += timedelta(minutes=-soon.minute % 15)
    if soon.astimezone(office.zone).time() >= time(23, 45):
        soon += timedelta(minutes=15)
    with pytest.raises(ValidationError), uow.savepoint():
        ops.book(office, service, soon, DETAILS)
    with pytest.raises(ValidationError), uow.savepoint():
        ops.book(office, service, soon, DETAILS, pool="staff", channel=Channel.api)
    booked = ops.book(office, service, soon, DETAILS, pool="staff", channel=Channel.phone)
    assert booked.appointment.start_dt == soon
    today = soon.astimezone(office.zone).date()
    assert soon in [s.start for s in availability.free_slots(
        office, service, today, today, pool="public", notice=False)]
    assert soon not in [s.start for s in availability.free_slots(
        office, service, today, today, pool="public")]
    with pytest.raises(ValidationError), uow.savepoint():
        ops.reschedule(booked.appointment, soon + timedelta(minutes=15))
    clerk = create_user(role=None)
    ops.reschedule(booked.appointment, soon + timedelta(minutes=15), by_staff=clerk)
    assert booked.appointment.start_dt == soon + timedelta(minutes=15)
