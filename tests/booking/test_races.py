"""Races through the booking API of a real gunicorn server: no overbooking, no 500.

Fifty-odd clients POST at the same instant to several threaded workers
(``tests/concurrency.py``), on the test database of the run (SQLite file or
PostgreSQL). A slot with 3 public seats gives exactly 3 answers ``201``
(or ``200`` for a reschedule); every other client gets ``409`` with the
nearest free times, and the database holds 3 appointments on that slot. A
reschedule that loses keeps its booking exactly as it was: time, seat,
sequence and seat claim.

The outcome is read twice: from the answers, and from the database after
the server has stopped (appointments and live seat claims per slot).
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from citizen_desk.booking.models import LIVE_STATUSES, Appointment, SeatClaim
from citizen_desk.core import uow
from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from tests.booking.conftest import next_weekday
from tests.concurrency import Response, race, served_app, summary
from tests.factories import add_rule, create_office, create_service

SEATS = 3
RACERS = 52
ATHENS = ZoneInfo("Europe/Athens")
#: Served like production: threaded workers, several of them.
SERVER = {"workers": 4, "threads": 8}


def set_up(app):
    """ATH1 (Athens): Mon–Fri 09:00–12:00, 3 public seats per 15-minute slot; a 15-minute
    service."""
    with app.app_context():
        def work():
            office = create_office("ATH1", holiday_country=None, min_notice_hours=0)
            add_rule(office, start_time=time(9), end_time=time(12), seats={"public": SEATS})
            create_service(code="family-status", offices=[office], duration_minutes=15)
        uow.run(work)
        db.session.remove()


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute)).replace(tzinfo=ATHENS)


def body(start: str, i: int) -> dict:
    return {"office": "ATH1", "service": "family-status", "start": start,
            "name": f"Πολίτης Αριθμός {i}", "email": f"citizen{i}@example.gr"}


def live_claim():
    return or_(SeatClaim.expires_dt.is_(None), SeatClaim.expires_dt > utcnow())


def slot_counts(app, start_utc) -> tuple[int, int]:
    """Live appointments starting at ``start_utc`` and live seat claims of that slot."""
    with app.app_context():
        appointments = db.session.scalar(select(func.count(Appointment.id)).where(
            Appointment.start_dt == start_utc, Appointment.status.in_(LIVE_STATUSES)))
        claims = db.session.scalar(select(func.count(SeatClaim.id)).where(
            SeatClaim.start_dt == start_utc, SeatClaim.appointment_id.is_not(None),
            live_claim()))
        db.session.remove()
    return appointments, claims


def assert_no_slot_over_its_seats(app):
    with app.app_context():
        rows = db.session.execute(
            select(SeatClaim.start_dt, func.count(SeatClaim.id)).where(live_claim())
            .group_by(SeatClaim.start_dt)).all()
        doubled = db.session.execute(
            select(SeatClaim.start_dt, SeatClaim.seat_no).where(live_claim())
            .group_by(SeatClaim.start_dt, SeatClaim.seat_no)
            .having(func.count(SeatClaim.id) > 1)).all()
        db.session.remove()
    assert all(n <= SEATS for _, n in rows), rows
    assert doubled == []


def assert_409s_offer_other_times(results, wanted: str):
    for result in results:
        if isinstance(result, Response) and result.status == 409:
            alternatives = result.json()["alternatives"]
            assert alternatives and wanted not in [slot["start"] for slot in alternatives]


def test_52_clients_racing_for_3_seats_get_exactly_3_bookings(app, database_url):
    set_up(app)
    nine = local(next_weekday(2), 9)
    start = nine.isoformat()
    with served_app(database_url, **SERVER) as server:
        results = race(RACERS, lambda i: server.post("/api/v1/appointments",
                                                     json=body(start, i)))
        log = server.log()
    outcome = summary(results)
    assert outcome == {201: SEATS, 409: RACERS - SEATS}, (outcome, log[-3000:])
    assert_409s_offer_other_times(results, start)
    codes = {r.json()["code"] for r in results if isinstance(r, Response) and r.status == 201}
    assert len(codes) == SEATS
    assert slot_counts(app, nine) == (SEATS, SEATS)
    with app.app_context():
        assert db.session.scalar(select(func.count(Appointment.id))) == SEATS
        db.session.remove()
    assert_no_slot_over_its_seats(app)


def test_reschedules_racing_bookings_never_overbook_and_losers_keep_their_time(app,
                                                                               database_url):
    set_up(app)
    day = next_weekday(3)
    nine = local(day, 9)
    target = nine.isoformat()
    # 24 bookings spread over 10:00–11:45 (3 per slot), each to be moved to 09:00.
    existing = [local(day, 10 + n // 12, (n // 3 % 4) * 15) for n in range(24)]
    with served_app(database_url, **SERVER) as server:
        held = []
        for n, start in enumerate(existing):
            answer = server.post("/api/v1/appointments", json=body(start.isoformat(), 1000 + n))
            assert answer.status == 201, answer.body
            booked = answer.json()
            held.append((booked["code"], booked["manage_url"].rsplit("/", 1)[1], start))

        def racer(i):
            if i < len(held):
                code, token, _ = held[i]
                return server.post(f"/api/v1/appointments/{code}/reschedule",
                                   json={"token": token, "start": target})
            return server.post("/api/v1/appointments", json=body(target, i))
        results = race(RACERS, racer)
        log = server.log()

    outcome = summary(results)
    won = [i for i, r in enumerate(results) if isinstance(r, Response) and r.status in (200, 201)]
    assert len(won) == SEATS and set(outcome) <= {200, 201, 409}, (outcome, log[-3000:])
    assert outcome[409] == RACERS - SEATS
    assert_409s_offer_other_times(results, target)
    assert slot_counts(app, nine) == (SEATS, SEATS)
    assert_no_slot_over_its_seats(app)

    with app.app_context():
        for i, (code, _, start) in enumerate(held):
            appointment = db.session.scalar(select(Appointment).where(
                Appointment.code == code.replace("-", "")))
            claims = db.session.scalars(select(SeatClaim).where(
                SeatClaim.appointment_id == appointment.id)).all()
            if i in won:
                assert appointment.start_dt == nine and appointment.sequence == 1
                assert [c.start_dt for c in claims] == [nine]
            else:
                # The loser's booking is untouched: its time, seat and claim.
                assert appointment.start_dt == start and appointment.sequence == 0, code
                assert [(c.start_dt, c.seat_no, c.expires_dt) for c in claims] == \
                    [(start, appointment.seat_no, None)], code
        moved = Counter(db.session.scalars(select(Appointment.start_dt).where(
            Appointment.status.in_(LIVE_STATUSES))))
        assert moved[nine] == SEATS
        assert sum(moved.values()) == len(held) + sum(1 for i in won if i >= len(held))
        db.session.remove()
