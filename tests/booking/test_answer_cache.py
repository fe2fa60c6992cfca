"""The cache of availability answers: kept while the office's seats, the catalog and the
time allow; every write of the booking operations changes the ledger's stamp."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, text, update

from citizen_desk.booking import availability, operations as ops
from citizen_desk.booking.availability import AnswerCache
from citizen_desk.booking.models import SeatClaim
from citizen_desk.catalog import operations as catalog_ops
from citizen_desk.catalog.models import Service
from citizen_desk.core import uow
from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from tests.booking.conftest import at, next_weekday

DETAILS = {"name": "Ελένη Νικολάου", "email": "eleni@example.gr", "phone": None,
           "language": "el", "identifiers": {}, "needs": {}}


class Statements:
    """Counts the statements sent to the database inside the block."""

    def __enter__(self):
        self.sent = []
        event.listen(db.engine, "before_cursor_execute", self._count)
        return self

    def _count(self, conn, cursor, statement, *args):
        self.sent.append(statement)

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._count)


def answer(cache, office_id, service_id, first, last, key="k"):
    """What the API does: the kept answer, or a stamp, the slots, and ``put``."""
    kept = cache.get(key)
    if kept is not None:
        return kept
    office = availability.load_office(office_id)
    service = db.session.get(Service, service_id)
    stamp = availability.ledger_stamp(office.id)
    slots = availability.free_slots(office, service, first, last)
    value = tuple((slot.start, slot.free) for slot in slots)
    cache.put(key, value, stamp, office, slots)
    return value


@pytest.fixture
def place(bookable):
    office, service = bookable
    uow.commit()
    return office.id, service.id


def test_a_kept_answer_costs_no_statement_until_the_ledger_changes(place):
    office_id, service_id = place
    monday = next_weekday(1)
    cache = AnswerCache(seconds=60)
    first = answer(cache, office_id, service_id, monday, monday)
    assert first[0][1] == 3
    with Statements() as statements:
        assert answer(cache, office_id, service_id, monday, monday) is first
    assert statements.sent == []

    # A booking committed by this process: the next answer is computed again.
    office = availability.load_office(office_id)
    ops.book(office, db.session.get(Service, service_id), at(office, monday, 9),
             DETAILS)
    uow.commit()
    again = answer(cache, office_id, service_id, monday, monday)
    assert again is not first and again[0][1] == 2


def test_another_process_s_booking_is_seen_once_the_stamp_is_read_again(place):
    office_id, service_id = place
    monday = next_weekday(1)
    cache = AnswerCache(seconds=60)
    first = answer(cache, office_id, service_id, monday, monday)
    nine = first[0][0]
    db.session.rollback()  # SQLite: one writer at a time
    # Written around the session (as another process would): this process does not know.
    with db.engine.begin() as conn:
        conn.execute(SeatClaim.__table__.insert().values(
            office_id=office_id, lane=0, pool="public", start_dt=nine, seat_no=0,
            created_dt=utcnow()))
    assert answer(cache, office_id, service_id, monday, monday) is first  # within `seconds`
    cache.seconds = 0
    assert answer(cache, office_id, service_id, monday, monday)[0] == (nine, 2)


def test_an_answer_ends_when_a_hold_in_it_expires(place):
    office_id, service_id = place
    monday = next_weekday(1)
    office = availability.load_office(office_id)
    service = db.session.get(Service, service_id)
    ops.hold(office, service, at(office, monday, 9), "hold-key-abcdefghijklmnopqrstu")
    uow.commit()
    cache = AnswerCache(seconds=60)
    cache.LONGEST = timedelta(hours=1)
    first = answer(cache, office_id, service_id, monday, monday)
    assert first[0][1] == 2
    entry = cache._items["k"]
    hold_expiry = db.session.scalar(db.select(SeatClaim.expires_dt))
    assert entry.valid_until == hold_expiry
    # Time passes until the hold has expired: nobody writes anything. (Its expiry is moved
    # into the past around the session, and the answer's end with it.)
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(SeatClaim.__table__.update().values(
            expires_dt=utcnow() - timedelta(seconds=1)))
    assert answer(cache, office_id, service_id, monday, monday) is first
    cache._items["k"] = type(entry)(entry.value, entry.stamp, utcnow() - timedelta(seconds=1),
                                    entry.checked)
    assert answer(cache, office_id, service_id, monday, monday)[0][1] == 3


def test_an_answer_ends_when_its_first_time_comes_within_the_notice(place):
    office_id, service_id = place
    monday = next_weekday(1)
    office = availability.load_office(office_id)
    nine = at(office, monday, 9)
    # A notice that leaves Monday 09:00 bookable for less than an hour more.
    office.min_notice_hours = int((nine - utcnow()) / timedelta(hours=1))
    uow.commit()
    cache = AnswerCache(seconds=60)
    cache.LONGEST = timedelta(days=30)
    first = answer(cache, office_id, service_id, monday, monday)
    assert first[0][0] == nine
    local_today = utcnow().astimezone(office.zone).date()
    midnight = at(office, local_today + timedelta(days=1), 0)
    ends = nine - timedelta(hours=office.min_notice_hours)
    assert utcnow() < ends <= utcnow() + timedelta(hours=1)
    assert cache._items["k"].valid_until == min(ends, midnight)


def test_a_catalog_change_is_seen_at_once(place, app_ctx):
    office_id, service_id = place
    monday = next_weekday(1)
    cache = AnswerCache(seconds=60)
    assert answer(cache, office_id, service_id, monday, monday)
    office = availability.load_office(office_id)
    catalog_ops.add_closure(office, monday, monday, {"el": "Απεργία", "en": "Strike"})
    uow.commit()
    assert answer(cache, office_id, service_id, monday, monday) == ()


def test_the_cache_keeps_its_size(place):
    office_id, service_id = place
    monday = next_weekday(1)
    cache = AnswerCache(seconds=60, size=3)
    for n in range(5):
        answer(cache, office_id, service_id, monday, monday, key=n)
    assert list(cache._items) == [2, 3, 4]


def test_every_write_of_the_operations_changes_the_stamp(place, app_ctx):
    """The stamp is what tells other processes: hold, release, book, confirm, reschedule,
    cancel and expire each change it (a pending booking's seat changes only its expiry
    and owner when it is cancelled)."""
    office_id, service_id = place
    app_ctx.config["BOOKING_RELEASE_MINUTES"] = 15
    office = availability.load_office(office_id)
    office.confirm_by_email = True
    uow.commit()
    office = availability.load_office(office_id)
    service = db.session.get(Service, service_id)
    monday = next_weekday(1)
    seen = [availability.ledger_stamp(office_id).value]

    def changed(step):
        uow.commit()
        stamp = availability.ledger_stamp(office_id).value
        assert stamp != seen[-1], f"{step} left the stamp as it was: {stamp}"
        seen.append(stamp)

    ops.hold(office, service, at(office, monday, 9), "hold-one-abcdefghijklmnopqrst")
    changed("a hold")
    ops.release_hold("hold-one-abcdefghijklmnopqrst")
    changed("releasing a hold")
    # A hold that stays, expiring first: the next expiry does not move below.
    ops.hold(office, service, at(office, monday, 11, 45), "hold-stays-abcdefghijklmnopq")
    changed("a hold that stays")
    ops.hold(office, service, at(office, monday, 9), "hold-two-abcdefghijklmnopqrst")
    changed("another hold")
    pending = ops.book(office, service, at(office, monday, 9), DETAILS,
                       hold_key="hold-two-abcdefghijklmnopqrst").appointment
    changed("a pending booking on the hold")
    ops.cancel(pending)
    changed("cancelling a pending booking")
    confirmed = ops.book(office, service, at(office, monday, 10), DETAILS
                         | {"email": None, "phone": "+306900000000"}).appointment
    changed("a booking")
    ops.reschedule(confirmed, at(office, monday, 11))
    changed("a reschedule")
    ops.cancel(confirmed)
    changed("cancelling")
    other = ops.book(office, service, at(office, monday, 9, 30), DETAILS
                     | {"email": "other@example.gr"}).appointment
    changed("a second pending booking")
    assert ops.confirm(other)
    changed("confirming")
    third = ops.book(office, service, at(office, monday, 9, 45), DETAILS
                     | {"email": "third@example.gr"}).appointment
    changed("a third pending booking")
    db.session.execute(update(type(third)).where(type(third).id == third.id).values(
        confirm_by_dt=utcnow() - timedelta(seconds=1)))
    assert ops.expire_unconfirmed() == 1
    changed("expiring an unconfirmed booking")


def test_the_stamp_is_one_statement(place):
    office_id, _ = place
    with Statements() as statements:
        availability.ledger_stamp(office_id)
    assert len(statements.sent) <= 2  # the stamp, and the catalog's revision at most
    assert sum("seat_claim" in sql for sql in statements.sent) == 1


def test_the_generation_counts_commits_that_wrote_claims(place):
    office_id, service_id = place
    before = availability.ledger_generation()
    db.session.execute(text("SELECT 1"))
    uow.commit()
    assert availability.ledger_generation() == before
    db.session.execute(update(SeatClaim).where(SeatClaim.id == -1).values(seat_no=0))
    uow.commit()
    assert availability.ledger_generation() == before + 1
    db.session.execute(update(SeatClaim).where(SeatClaim.id == -1).values(seat_no=0))
    db.session.rollback()
    db.session.execute(text("SELECT 1"))
    uow.commit()
    assert availability.ledger_generation() == before + 1
