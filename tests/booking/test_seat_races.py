"""Races for seats on one real database, without a server: the ledger holds.

Fifty and more threads, each in its own application context and unit of
work (``uow.run``, with its retries), call the booking operations at the
same instant against the test database (a SQLite file or PostgreSQL). The
served-app HTTP races are elsewhere; these exercise the operations and the
database constraints directly, with more racers and less noise.

After every race the outcome is checked twice, independently:

- each racer either won or got ``SlotTaken`` / ``CapReached`` (nothing
  else: no ``IntegrityError``, no lock timeout);
- the database itself: a SQL count of the live seat claims per
  ``(lane, pool, start, seat)`` (at most one) and per ``(lane, pool, start)``
  (at most the seats the rule gives), and the live appointments covering
  each grid slot (at most the seats), whatever the ledger says.

A refusal is never false: a racer refused a time means that time was full
when the race ended (nobody gave a seat back during it).
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, or_, select

from citizen_desk.booking import availability, operations as ops
from citizen_desk.booking.models import (LIVE_STATUSES, Appointment, AppointmentStatus,
                                         BookingCap, SeatClaim)
from citizen_desk.catalog.models import Service
from citizen_desk.core import uow
from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from tests.booking.conftest import at, next_weekday
from tests.concurrency import race
from tests.factories import add_rule, create_office, create_service

RACERS = 52
SEATS = {"public": 3, "staff": 1}
#: Connections of the racing app: enough for many transactions at once on PostgreSQL,
#: few enough to leave room for other test runs on the same server.
POOL = {"pool_size": 16, "max_overflow": 16, "pool_timeout": 120}


def manage_url(code, token):
    return f"http://127.0.0.1/booking/manage/{code}?token={token}"


def details(i: int, email: str | None = None) -> dict:
    return {"name": f"Πολίτης Αριθμός {i}", "email": email or f"citizen{i}@example.gr",
            "phone": None, "language": "el", "identifiers": {}, "needs": {}}


def keys(i: int, email: str | None = None) -> list[str]:
    return [f"email:{email or f'citizen{i}@example.gr'}"]


@pytest.fixture
def racing_app(app, make_app):
    """An app on the test database whose pool lets many racers in at once.

    Requesting ``app`` too empties the tables after the test.
    """
    return make_app(SQLALCHEMY_ENGINE_OPTIONS=POOL)


@pytest.fixture
def office_and_services(app):
    """An office open Mon–Fri 09:00–12:00 (3 public + 1 staff seat per 15-minute slot),
    a 15-minute and a 45-minute service; their ids."""
    def set_up():
        office = create_office(holiday_country=None, min_notice_hours=0)
        add_rule(office, start_time=time(9), end_time=time(12), seats=dict(SEATS))
        short = create_service(offices=[office], duration_minutes=15)
        long = create_service(offices=[office], duration_minutes=45)
        return office.id, short.id, long.id
    with app.app_context():
        ids = uow.run(set_up)
        db.session.remove()
    return ids


def in_unit(app, work):
    """Run ``work()`` as one unit of work in a fresh application context of ``app``."""
    with app.app_context():
        try:
            return uow.run(work)
        finally:
            db.session.remove()


def loaded(office_id: int, service_id: int):
    return availability.load_office(office_id), db.session.get(Service, service_id)


def book_at(office_id, service_id, start, i, *, email=None, pool="public", hold_key=None):
    """A unit's work: book and return the new appointment's id."""
    def work():
        office, service = loaded(office_id, service_id)
        booked = ops.book(office, service, start, details(i, email), pool=pool,
                          hold_key=hold_key, citizen_keys=keys(i, email),
                          manage_url=manage_url)
        return booked.appointment.id
    return work


def outcomes(results) -> Counter:
    """``won`` for a racer that got what it asked for, else the exception's class name."""
    return Counter(type(r).__name__ if isinstance(r, BaseException) else "won" for r in results)


def winners(results) -> list:
    return [r for r in results if not isinstance(r, BaseException)]


def assert_only(results, *refusals):
    """Every racer won or was refused with one of ``refusals``; show anything else in full."""
    odd = [r for r in results if isinstance(r, BaseException) and not isinstance(r, refusals)]
    assert not odd, (outcomes(results), [repr(r) for r in odd[:5]])


# -- what the database holds ---------------------------------------------------------------------

def live_claim():
    return or_(SeatClaim.expires_dt.is_(None), SeatClaim.expires_dt > utcnow())


def assert_ledger_sound(app, office_id) -> dict:
    """No seat taken twice, no slot over its seats; ``{(lane, pool, start): live claims}``."""
    with app.app_context():
        doubled = db.session.execute(
            select(SeatClaim.lane, SeatClaim.pool, SeatClaim.start_dt, SeatClaim.seat_no,
                   func.count(SeatClaim.id))
            .where(SeatClaim.office_id == office_id, live_claim())
            .group_by(SeatClaim.lane, SeatClaim.pool, SeatClaim.start_dt, SeatClaim.seat_no)
            .having(func.count(SeatClaim.id) > 1)).all()
        per_slot = {(lane, pool, start): n for lane, pool, start, n in db.session.execute(
            select(SeatClaim.lane, SeatClaim.pool, SeatClaim.start_dt, func.count(SeatClaim.id))
            .where(SeatClaim.office_id == office_id, live_claim())
            .group_by(SeatClaim.lane, SeatClaim.pool, SeatClaim.start_dt))}
        out_of_range = db.session.scalar(
            select(func.count(SeatClaim.id)).where(
                SeatClaim.office_id == office_id, live_claim(),
                or_(*[(SeatClaim.pool == pool) & (SeatClaim.seat_no >= seats)
                      for pool, seats in SEATS.items()], SeatClaim.pool == "ngo")))
        db.session.remove()
    assert doubled == [], f"seats taken twice: {doubled}"
    over = {key: n for key, n in per_slot.items() if n > SEATS[key[1]]}
    assert over == {}, f"slots over their seats: {over}"
    assert out_of_range == 0
    return per_slot


def live_appointments(app, office_id) -> list[tuple]:
    """``(id, start, end, seat_no, pool)`` of the office's live appointments."""
    with app.app_context():
        rows = db.session.execute(
            select(Appointment.id, Appointment.start_dt, Appointment.end_dt,
                   Appointment.seat_no, Appointment.pool)
            .where(Appointment.office_id == office_id,
                   Appointment.status.in_(LIVE_STATUSES))).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def assert_appointments_fit(app, office_id, grid_starts) -> dict:
    """Counted from the appointments alone: at most SEATS live ones cover each grid slot,
    and each holds one seat number through its whole length. ``{start: covering}``."""
    rows = live_appointments(app, office_id)
    covering = {}
    for start in grid_starts:
        here = [r for r in rows if r[4] == "public" and r[1] <= start < r[2]]
        assert len(here) <= SEATS["public"], (start, here)
        assert len({r[3] for r in here}) == len(here), f"one seat twice at {start}: {here}"
        covering[start] = len(here)
    with app.app_context():
        for appointment_id, start, end, seat, _ in rows:
            claims = db.session.execute(
                select(SeatClaim.start_dt, SeatClaim.seat_no)
                .where(SeatClaim.appointment_id == appointment_id)).all()
            expected = int((end - start) / timedelta(minutes=15))
            assert len(claims) == expected, (appointment_id, claims)
            assert {c.seat_no for c in claims} == {seat}, (appointment_id, claims)
            assert sorted(c.start_dt for c in claims) == [
                start + timedelta(minutes=15 * k) for k in range(expected)]
        db.session.remove()
    return covering


def morning(app, office_id, day) -> list[datetime]:
    """The UTC starts of the day's twelve 15-minute grid slots."""
    with app.app_context():
        office = availability.load_office(office_id)
        starts = [at(office, day, 9) + timedelta(minutes=15 * k) for k in range(12)]
        db.session.remove()
    return starts


# -- the races -----------------------------------------------------------------------------------

def test_fifty_racers_for_three_seats_get_exactly_three(app, racing_app, office_and_services):
    office_id, short_id, _ = office_and_services
    day = next_weekday(2)
    nine = morning(app, office_id, day)[0]

    results = race(RACERS, lambda i: in_unit(racing_app, book_at(office_id, short_id, nine, i)),
                   timeout=240)

    assert_only(results, ops.SlotTaken)
    assert outcomes(results) == {"won": 3, "SlotTaken": RACERS - 3}, outcomes(results)
    for refused in results:
        if isinstance(refused, ops.SlotTaken):
            assert refused.alternatives, "a refusal offers the nearest free times"
            assert nine not in [slot.start for slot in refused.alternatives]
    per_slot = assert_ledger_sound(app, office_id)
    assert per_slot == {(0, "public", nine): 3}
    assert sorted(a[0] for a in live_appointments(app, office_id)) == sorted(winners(results))
    assert assert_appointments_fit(app, office_id, [nine]) == {nine: 3}
    with app.app_context():
        # The losers' units rolled back whole: no appointment, cap row or claim of theirs.
        assert db.session.scalar(select(func.count(Appointment.id))) == 3
        assert db.session.scalar(select(func.count(BookingCap.id))) == 3
        db.session.remove()


def test_the_staff_pool_is_raced_apart_from_the_public_one(app, racing_app,
                                                            office_and_services):
    """Public and staff racers at once: 3 public seats and 1 staff seat, each filled once."""
    office_id, short_id, _ = office_and_services
    nine = morning(app, office_id, next_weekday(3))[0]
    pools = ["staff" if i % 4 == 0 else "public" for i in range(RACERS)]

    results = race(RACERS, lambda i: in_unit(racing_app, book_at(
        office_id, short_id, nine, i, pool=pools[i])), timeout=240)

    assert_only(results, ops.SlotTaken)
    won = Counter(pools[i] for i, r in enumerate(results) if not isinstance(r, BaseException))
    assert won == {"public": 3, "staff": 1}, outcomes(results)
    assert assert_ledger_sound(app, office_id) == {(0, "public", nine): 3,
                                                   (0, "staff", nine): 1}


def test_holds_racing_bookings_share_the_same_three_seats(app, racing_app,
                                                          office_and_services):
    office_id, short_id, _ = office_and_services
    nine = morning(app, office_id, next_weekday(2))[0]

    def hold(i):
        def work():
            office, service = loaded(office_id, short_id)
            return ops.hold(office, service, nine, f"hold-key-{i:03d}-abcdefghijklmnop")
        return work

    results = race(RACERS, lambda i: in_unit(
        racing_app, hold(i) if i % 2 else book_at(office_id, short_id, nine, i)), timeout=240)

    assert_only(results, ops.SlotTaken)
    assert outcomes(results) == {"won": 3, "SlotTaken": RACERS - 3}, outcomes(results)
    held = [i for i, r in enumerate(results) if isinstance(r, datetime)]
    booked = [i for i, r in enumerate(results) if isinstance(r, int)]
    assert len(held) + len(booked) == 3
    assert assert_ledger_sound(app, office_id) == {(0, "public", nine): 3}
    assert len(live_appointments(app, office_id)) == len(booked)

    # A hold is a seat: nobody else gets in, and its holder books on it although the slot is full.
    late = in_unit_result(racing_app, book_at(office_id, short_id, nine, 900))
    assert isinstance(late, ops.SlotTaken)
    for i in held:
        appointment_id = in_unit(racing_app, book_at(
            office_id, short_id, nine, i, hold_key=f"hold-key-{i:03d}-abcdefghijklmnop"))
        assert appointment_id
    assert len(live_appointments(app, office_id)) == 3
    assert assert_ledger_sound(app, office_id) == {(0, "public", nine): 3}


def in_unit_result(app, work):
    try:
        return in_unit(app, work)
    except Exception as exc:
        return exc


def test_reschedules_racing_bookings_never_overfill_and_a_loser_keeps_its_seat(
        app, racing_app, office_and_services):
    office_id, short_id, _ = office_and_services
    starts = morning(app, office_id, next_weekday(4))
    nine, later = starts[0], starts[1:]  # 11 later slots, 33 seats

    movers = 26
    existing = {}  # mover index → appointment id
    for i in range(movers):
        existing[i] = in_unit(app, book_at(office_id, short_id, later[i % len(later)], 1000 + i))
    before = {}
    with app.app_context():
        for i, appointment_id in existing.items():
            a = db.session.get(Appointment, appointment_id)
            claims = db.session.execute(
                select(SeatClaim.id, SeatClaim.start_dt, SeatClaim.seat_no, SeatClaim.expires_dt)
                .where(SeatClaim.appointment_id == appointment_id)).all()
            before[appointment_id] = (a.start_dt, a.seat_no, a.sequence, a.version,
                                      sorted(tuple(c) for c in claims))
        db.session.remove()

    def move(i):
        def work():
            appointment = db.session.get(Appointment, existing[i])
            return ops.reschedule(appointment, nine, manage_url=manage_url).id
        return work

    # Even racers move an appointment to 09:00, odd ones book 09:00 afresh.
    def racer(i):
        if i % 2 == 0:
            return in_unit(racing_app, move(i // 2))
        return in_unit(racing_app, book_at(office_id, short_id, nine, i))

    results = race(2 * movers, racer, timeout=240)

    assert_only(results, ops.SlotTaken)
    assert outcomes(results) == {"won": 3, "SlotTaken": 2 * movers - 3}, outcomes(results)
    moved = {existing[i // 2] for i, r in enumerate(results)
             if i % 2 == 0 and not isinstance(r, BaseException)}
    per_slot = assert_ledger_sound(app, office_id)
    assert per_slot[(0, "public", nine)] == 3
    covering = assert_appointments_fit(app, office_id, starts)
    assert covering[nine] == 3

    with app.app_context():
        for appointment_id, (start, seat, sequence, version, claims) in before.items():
            a = db.session.get(Appointment, appointment_id)
            assert a.status == AppointmentStatus.confirmed
            now_claims = sorted(tuple(c) for c in db.session.execute(
                select(SeatClaim.id, SeatClaim.start_dt, SeatClaim.seat_no,
                       SeatClaim.expires_dt)
                .where(SeatClaim.appointment_id == appointment_id)).all())
            if appointment_id in moved:
                assert (a.start_dt, a.sequence) == (nine, sequence + 1)
                assert [c[1] for c in now_claims] == [nine]
                # Its old seat is given back after the release delay, not kept live forever.
                released = db.session.get(SeatClaim, claims[0][0])
                assert released.appointment_id is None and released.expires_dt > utcnow()
            else:
                # A failed reschedule changed nothing: same time, seat, claims, version.
                assert (a.start_dt, a.seat_no, a.sequence, a.version) == (
                    start, seat, sequence, version)
                assert now_claims == claims
        db.session.remove()


def test_a_long_service_racing_short_ones_never_overfills_a_slot(app, racing_app,
                                                                  office_and_services):
    """45-minute bookings (three slots on one seat) race 15-minute ones across 09:00–10:00."""
    office_id, short_id, long_id = office_and_services
    starts = morning(app, office_id, next_weekday(5))
    plan = ([("long", starts[0])] * 16 + [("long", starts[1])] * 8
            + [("short", starts[k]) for k in range(4) for _ in range(9)])
    assert len(plan) == 60

    results = race(len(plan), lambda i: in_unit(racing_app, book_at(
        office_id, long_id if plan[i][0] == "long" else short_id, plan[i][1], i)), timeout=240)

    assert_only(results, ops.SlotTaken)
    per_slot = assert_ledger_sound(app, office_id)
    covering = assert_appointments_fit(app, office_id, starts)
    for (lane, pool, start), n in per_slot.items():
        assert covering[start] == n  # every live claim belongs to a live appointment
    # Nine short racers per slot cannot all win: every slot of 09:00–10:00 ends full, and
    # the 12 seat-slots are shared out between the winners.
    assert [covering[start] for start in starts[:4]] == [3, 3, 3, 3], covering
    assert sum(covering.values()) == 12
    won = Counter(plan[i][0] for i, r in enumerate(results) if not isinstance(r, BaseException))
    assert 3 * won["long"] + won["short"] == 12, won
    # No false refusal: a refused short racer's slot is full, a refused long racer finds no
    # seat number free through its three slots.
    with app.app_context():
        office = availability.load_office(office_id)
        claims = availability.taken(office_id, "public", starts[0], starts[-1]
                                    + timedelta(minutes=15))
        for (kind, start), result in zip(plan, results):
            if isinstance(result, ops.SlotTaken):
                service = db.session.get(Service, long_id if kind == "long" else short_id)
                slot = availability.find_slot(office, service, start, "public")
                assert availability.free_seats(slot, claims) == [], (kind, start)
        db.session.remove()


def test_one_citizen_racing_for_many_slots_gets_one_booking(app, racing_app,
                                                            office_and_services):
    """The per-citizen cap (1 per service): 20 threads, one e-mail, different times."""
    office_id, short_id, _ = office_and_services
    day = next_weekday(1)
    starts = morning(app, office_id, day) + morning(app, office_id, day + timedelta(days=1))
    email = "same.person@example.gr"

    results = race(20, lambda i: in_unit(racing_app, book_at(
        office_id, short_id, starts[i], i, email=email)), timeout=240)

    assert_only(results, ops.CapReached)
    assert outcomes(results) == {"won": 1, "CapReached": 19}, outcomes(results)
    with app.app_context():
        assert db.session.scalar(select(func.count(Appointment.id))) == 1
        assert db.session.scalars(select(BookingCap.citizen_key)).all() == [f"email:{email}"]
        assert db.session.scalar(select(func.count(SeatClaim.id))) == 1
        db.session.remove()
    assert_ledger_sound(app, office_id)
