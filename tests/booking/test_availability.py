"""The availability engine: rules × seats − claims − closures − holidays − notice, in local time."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import event

from citizen_desk.booking import availability, operations as ops
from citizen_desk.booking.models import SeatClaim
from citizen_desk.catalog import operations as catalog_ops
from citizen_desk.extensions import db
from tests.booking.conftest import at, next_weekday
from tests.factories import add_rule, create_office, create_service

DETAILS = {"name": "Μαρία Παπαδοπούλου", "email": "maria@example.gr", "phone": None,
           "language": "el", "identifiers": {}, "needs": {}}


def test_a_day_has_every_slot_of_its_rules_with_all_seats_free(bookable):
    office, service = bookable
    monday = next_weekday(1)
    slots = availability.free_slots(office, service, monday, monday)
    assert len(slots) == 12  # 09:00 … 11:45
    assert slots[0].start == at(office, monday, 9)
    assert slots[-1].start == at(office, monday, 11, 45)
    assert {slot.free for slot in slots} == {3}
    assert availability.free_slots(office, service, monday, monday, pool="staff")[0].free == 1


def test_weekends_closures_and_holidays_have_no_slots(bookable):
    office, service = bookable
    saturday = next_weekday(6)
    assert availability.free_slots(office, service, saturday, saturday + timedelta(days=1)) == []
    tuesday = next_weekday(2)
    catalog_ops.add_closure(office, tuesday, tuesday, {"el": "Απεργία", "en": "Strike"})
    wednesday = next_weekday(3)
    catalog_ops.add_closure(office, wednesday, wednesday, {"el": "Απογραφή"},
                            start_time=time(10), end_time=time(11))
    office = availability.load_office(office.id)
    assert availability.free_slots(office, service, tuesday, tuesday) == []
    starts = [s.start.astimezone(office.zone).time()
              for s in availability.free_slots(office, service, wednesday, wednesday)]
    assert time(9, 45) in starts and time(11) in starts
    assert not any(time(10) <= t < time(11) for t in starts)


def test_public_holidays_close_the_office(app_ctx):
    office = create_office(holiday_country="GR", min_notice_hours=0, max_days_ahead=400)
    add_rule(office, weekdays=[1, 2, 3, 4, 5, 6, 7], start_time=time(9), end_time=time(10),
             seats={"public": 1})
    service = create_service(offices=[office])
    office = availability.load_office(office.id)
    christmas = date(2027, 12, 25)
    now = datetime(2027, 12, 1, tzinfo=timezone.utc)
    assert availability.free_slots(office, service, christmas, christmas, now=now) == []
    assert availability.free_slots(office, service, christmas + timedelta(days=2),
                                   christmas + timedelta(days=2), now=now)


def test_taken_seats_and_live_holds_count_expired_holds_do_not(bookable):
    office, service = bookable
    monday = next_weekday(1)
    nine = at(office, monday, 9)
    ops.book(office, service, nine, DETAILS)
    ops.hold(office, service, nine, "hold-one")
    slot = availability.free_slots(office, service, monday, monday)[0]
    assert slot.start == nine and slot.free == 1
    db.session.execute(db.update(SeatClaim).where(SeatClaim.hold_key == "hold-one").values(
        expires_dt=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert availability.free_slots(office, service, monday, monday)[0].free == 2


def test_a_long_service_needs_one_seat_free_in_consecutive_slots(bookable):
    office, service = bookable
    long_service = create_service(offices=[office], duration_minutes=45)  # 3 slots of 15
    monday = next_weekday(1)
    slots = availability.free_slots(office, long_service, monday, monday)
    assert slots[-1].start == at(office, monday, 11, 15)  # 11:15–12:00 still fits
    assert slots[0].end == at(office, monday, 9, 45)
    for _ in range(3):
        ops.book(office, service, at(office, monday, 9, 30), DETAILS | {"email": None})
    starts = [s.start for s in availability.free_slots(office, long_service, monday, monday)]
    # 09:00, 09:15 and 09:30 would need the full 09:30 slot.
    assert starts[0] == at(office, monday, 9, 45)


def test_notice_and_horizon_limit_the_window(app_ctx):
    office = create_office(holiday_country=None, min_notice_hours=48, max_days_ahead=10)
    add_rule(office, weekdays=[1, 2, 3, 4, 5, 6, 7], start_time=time(9), end_time=time(10),
             seats={"public": 1})
    service = create_service(offices=[office])
    office = availability.load_office(office.id)
    now = datetime(2027, 3, 1, 8, 0, tzinfo=timezone.utc)  # 10:00 in Athens
    slots = availability.free_slots(office, service, date(2027, 3, 1), date(2027, 4, 30), now=now)
    days = sorted({s.start.astimezone(office.zone).date() for s in slots})
    assert days[0] == date(2027, 3, 4)  # 09:00 on the 3rd is under 48 hours away
    assert days[-1] == date(2027, 3, 11)


def test_clock_changes_yield_the_wall_clock_slots_with_their_utc_instants(app_ctx):
    office = create_office(holiday_country=None, min_notice_hours=0, slot_minutes=30,
                           max_days_ahead=400)
    add_rule(office, weekdays=[7], start_time=time(2), end_time=time(5), seats={"public": 1})
    service = create_service(offices=[office], duration_minutes=30)
    office = availability.load_office(office.id)
    now = datetime(2027, 1, 1, tzinfo=timezone.utc)
    spring, autumn, plain = date(2027, 3, 28), date(2027, 10, 31), date(2027, 3, 21)

    def slots(day):
        return availability.free_slots(office, service, day, day, now=now)

    assert [(s.start.astimezone(office.zone).strftime("%H:%M"), s.start.strftime("%H:%M"))
            for s in slots(plain)] == [
        ("02:00", "00:00"), ("02:30", "00:30"), ("03:00", "01:00"), ("03:30", "01:30"),
        ("04:00", "02:00"), ("04:30", "02:30")]
    # 03:00–04:00 does not exist on the last Sunday of March; 02:30–03:00 ends in the gap.
    assert [(s.start.astimezone(office.zone).strftime("%H:%M"), s.start.strftime("%H:%M"))
            for s in slots(spring)] == [("02:00", "00:00"), ("04:00", "01:00"),
                                       ("04:30", "01:30")]
    # In October 03:00–04:00 happens twice: the slots are the wall-clock ones, first instants.
    assert [(s.start.astimezone(office.zone).strftime("%H:%M"), s.start.strftime("%H:%M"))
            for s in slots(autumn)] == [
        ("02:00", "23:00"), ("02:30", "23:30"), ("03:00", "00:00"), ("03:30", "00:30"),
        ("04:00", "02:00"), ("04:30", "02:30")]
    for slot in slots(autumn) + slots(spring):
        assert slot.start.tzinfo == timezone.utc


def test_sixty_days_cost_a_constant_number_of_statements(bookable, app_ctx):
    office, service = bookable
    monday = next_weekday(1)
    for week in range(3):
        ops.book(office, service, at(office, monday + timedelta(days=7 * week), 9), DETAILS
                 | {"email": f"person{week}@example.gr"})
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        db.session.expunge_all()
        loaded = availability.load_office(office.id)
        service = db.session.get(type(service), service.id)
        short = len(statements)
        availability.free_slots(loaded, service, monday, monday + timedelta(days=1))
        one_day = len(statements) - short
        statements.clear()
        loaded = availability.load_office(office.id)
        availability.free_slots(loaded, service, monday, monday + timedelta(days=60))
        sixty_days = len(statements)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert sixty_days <= 6, statements
    assert one_day <= 3
