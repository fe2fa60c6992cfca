"""Free slots: opening rules × seats − seats taken − holds − closures − holidays − notice.

Everything is computed in the office's time zone with ``zoneinfo``: a rule
that opens at 09:00 yields 09:00 local on every day, including the days the
clocks change, each with its correct UTC instant; a wall-clock time that
does not exist that day (the hour skipped in spring) yields no slot, and one
that happens twice (the hour repeated in autumn) yields its first instant.

The cost of a request does not grow with the window: the office with its
rules, their services and its closures, and the claims of the window are
read with a fixed number of statements (``load_office`` and ``taken``),
and public holidays come from the ``holidays`` package, cached per year.
Its CPU cost is kept small too: a session's grid is worked out once per
process, a day that keeps one UTC offset (all but two a year) turns its
wall-clock times into instants by adding them to its midnight, and slots
are counted as plain tuples before the ones answered become ``Slot``s.
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from time import monotonic
from typing import NamedTuple

from flask import current_app, has_app_context
from sqlalchemy import DateTime, case, event, func, or_, select, type_coerce
from sqlalchemy.orm import Session, selectinload

from citizen_desk.booking.models import SeatClaim
from citizen_desk.catalog.hours import closed_days
from citizen_desk.catalog.models import OpeningRule, Service
from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office


class Slot(NamedTuple):
    """A time at which ``service`` can start: the grid slots it needs, on one lane.

    Immutable (a named tuple: a 60-day window makes a thousand of them, three times
    quicker than a frozen dataclass).
    """

    start: datetime  # aware, UTC
    end: datetime
    lane: int
    #: Seats the rule gives the pool in each of these slots.
    seats: int
    #: The UTC starts of the grid slots the service occupies (one or more, consecutive).
    starts: tuple[datetime, ...]
    free: int = 0

    def local_start(self, office: Office) -> datetime:
        return self.start.astimezone(office.zone)

    def local_end(self, office: Office) -> datetime:
        return self.end.astimezone(office.zone)


def load_office(office_id: int) -> Office | None:
    """The office with its rules (and their services) and closures, in three statements."""
    return db.session.scalar(
        select(Office).where(Office.id == office_id).options(
            selectinload(Office.rules).selectinload(OpeningRule.services),
            selectinload(Office.closures)).execution_options(populate_existing=True))


def rule_lane(rule: OpeningRule) -> int:
    """The lane of a rule's seats (see ``models.py``): 0, or its smallest service id."""
    return min((service.id for service in rule.services), default=0)


def slots_needed(office: Office, service: Service) -> int:
    return max(1, math.ceil(service.duration_minutes / office.slot_minutes))


def _instant(day: date, wall: time, zone) -> datetime | None:
    """The UTC instant of a local wall-clock time, or ``None`` if it does not exist that day."""
    local = datetime.combine(day, wall).replace(tzinfo=zone)
    utc = local.astimezone(timezone.utc)
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None  # in the gap the clocks jump over
    return utc


@lru_cache(maxsize=512)
def _grid_of(start_time: time, end_time: time, step: int) -> tuple:
    """``((start, end, start offset, end offset), …)``: a session's slots as local times and
    as offsets from midnight. Sessions are few: computed once per process."""
    result = []
    midnight = datetime.combine(date.min, time.min)
    start = datetime.combine(date.min, start_time)
    close = datetime.combine(date.min, end_time)
    while start + timedelta(minutes=step) <= close:
        end = start + timedelta(minutes=step)
        result.append((start.time(), end.time(), start - midnight, end - midnight))
        start = end
    return tuple(result)


def _wall_times(rule: OpeningRule, step: int) -> list[tuple[time, time]]:
    """The rule's grid: ``(start, end)`` local times of each slot that fits in the session."""
    return [(start, end) for start, end, _, _ in _grid_of(rule.start_time, rule.end_time, step)]


def _utc_midnight(day: date, zone) -> datetime | None:
    """The UTC instant of ``day``'s local midnight when the whole day keeps one UTC offset;
    ``None`` on a day the clocks change (its times are converted one by one)."""
    offset = datetime.combine(day, time.min).replace(tzinfo=zone).utcoffset()
    if offset != datetime.combine(day + timedelta(days=1), time.min).replace(
            tzinfo=zone).utcoffset():
        return None
    return datetime.combine(day, time.min).replace(tzinfo=timezone.utc) - offset


def first_bookable(office: Office, now: datetime) -> datetime:
    return now + timedelta(hours=office.min_notice_hours)


def last_bookable_day(office: Office, now: datetime) -> date:
    return now.astimezone(office.zone).date() + timedelta(days=office.max_days_ahead)


#: A slot before it is counted: ``(start, end, lane, seats, starts)``.
_Row = tuple


def _grid_rows(office: Office, service: Service, first: date, last: date, pool: str,
               now: datetime, notice: bool = True) -> list[_Row]:
    """``grid`` as plain tuples, sorted by start and lane (``free_slots`` counts them)."""
    zone = office.zone
    # Staff booking for a caller may take any time not yet begun; citizens give notice.
    earliest = first_bookable(office, now) if notice else now
    last = min(last, last_bookable_day(office, now))
    closed: dict[date, list] = {}
    for closure in closed_days(office, first, last):
        closed.setdefault(closure.day, []).append(closure)
    needed = slots_needed(office, service)
    step = office.slot_minutes
    # What does not change from day to day is worked out once per rule.
    rules = []
    for rule in office.rules:
        seats = getattr(rule, f"seats_{pool}")
        if seats > 0 and rule.applies_to(service):
            rules.append((rule, seats, rule_lane(rule),
                          _grid_of(rule.start_time, rule.end_time, step)))
    result: list[_Row] = []
    day = first
    while day <= last:
        closures = closed.get(day, ())
        if not any(c.whole_day for c in closures):
            midnight = None
            for rule, seats, lane, cells in rules:
                if not rule.applies_on(day):
                    continue
                if midnight is None:
                    midnight = _utc_midnight(day, zone) or False
                result.extend(_rule_rows(cells, day, closures, zone, midnight, needed, lane,
                                         seats, earliest))
        day += timedelta(days=1)
    result.sort(key=lambda row: (row[0], row[2]))
    return result


def grid(office: Office, service: Service, first: date, last: date, pool: str, *,
         now: datetime | None = None, notice: bool = True) -> list[Slot]:
    """Every start time in [first, last] (local dates) the rules give ``service`` in ``pool``.

    Closures, holidays, the office's notice and horizon are applied; seats
    already taken are not (see ``free_slots``). Reads no database rows
    beyond those ``load_office`` loaded.
    """
    return [Slot(*row) for row in _grid_rows(office, service, first, last, pool,
                                            now or utcnow(), notice)]


def _rule_rows(cells, day, closures, zone, midnight, needed, lane, seats,
               earliest) -> list[_Row]:
    """The slots one rule gives on one day. ``midnight``: the day's local midnight in UTC
    when the day keeps one offset (each time is then midnight + its offset from midnight),
    else ``False`` (each time converted with ``zoneinfo``, gaps and folds included)."""
    instants: list[tuple[datetime, datetime] | None] = []
    for start, end, start_offset, end_offset in cells:
        if closures and any(c.start_time < end and start < c.end_time for c in closures):
            instants.append(None)
        elif midnight:
            instants.append((midnight + start_offset, midnight + end_offset))
        else:
            start_utc, end_utc = _instant(day, start, zone), _instant(day, end, zone)
            instants.append(None if start_utc is None or end_utc is None
                            else (start_utc, end_utc))
    if needed == 1:
        return [(cell[0], cell[1], lane, seats, (cell[0],)) for cell in instants
                if cell is not None and cell[0] >= earliest]
    rows = []
    for index in range(len(instants) - needed + 1):
        run = instants[index:index + needed]
        if None in run or run[0][0] < earliest:
            continue
        rows.append((run[0][0], run[-1][1], lane, seats, tuple(cell[0] for cell in run)))
    return rows


def _claim_rows(office_id: int, pool: str, start: datetime, end: datetime, now: datetime,
                lanes=None) -> list[tuple[int, datetime, int]]:
    """``(lane, slot start, seat_no)`` of the live claims of [start, end), in one statement."""
    when = SeatClaim.start_dt
    if db.session.get_bind().dialect.name == "postgresql":
        # Aware datetimes as the driver gives them: equal (and hashed) by their instant,
        # whatever the connection's zone, without converting each to UTC.
        when = type_coerce(SeatClaim.start_dt, DateTime(timezone=True))
    query = select(SeatClaim.lane, when, SeatClaim.seat_no).where(
        SeatClaim.office_id == office_id, SeatClaim.pool == pool,
        SeatClaim.start_dt >= start, SeatClaim.start_dt < end,
        or_(SeatClaim.expires_dt.is_(None), SeatClaim.expires_dt > now))
    if lanes is not None:
        query = query.where(SeatClaim.lane.in_(sorted(lanes)))
    # Plain rows through the session's connection (the ORM has nothing to add to them),
    # after the autoflush the session would have done.
    session = db.session()
    if session.autoflush:
        session.flush()
    return session.connection().execute(query).all()


def taken(office_id: int, pool: str, start: datetime, end: datetime, *,
          now: datetime | None = None,
          lanes=None) -> set[tuple[int, datetime, int]]:
    """``{(lane, slot start, seat_no)}`` of the live claims of [start, end), in one statement.

    ``lanes`` limits it to those lanes (the others' seats cannot matter).
    """
    return {(lane, when.astimezone(timezone.utc), seat) for lane, when, seat
            in _claim_rows(office_id, pool, start, end, now or utcnow(), lanes)}


def free_seats(slot: Slot, claims: set) -> list[int]:
    """Seat numbers free in every grid slot ``slot`` needs."""
    return [seat for seat in range(slot.seats)
            if not any((slot.lane, start, seat) in claims for start in slot.starts)]


def free_slots(office: Office, service: Service, first: date, last: date, *,
               pool: str = "public", now: datetime | None = None,
               include_full: bool = False, notice: bool = True) -> list[Slot]:
    """The slots of [first, last] with their free seats; full ones only if ``include_full``.

    ``office`` should come from ``load_office`` (its rules and closures loaded).
    ``notice=False`` (staff booking for a caller) ignores the office's minimum notice.
    """
    now = now or utcnow()
    rows = _grid_rows(office, service, first, last, pool, now, notice)
    if not rows:
        return []
    claims = _claim_rows(office.id, pool, rows[0][0], max(row[4][-1] for row in rows)
                         + timedelta(seconds=1), now, {row[2] for row in rows})
    # The seat numbers taken per (lane, grid slot): a slot's free seats are the numbers
    # below its seats that none of its grid slots has taken.
    used: dict[tuple[int, datetime], set[int]] = {}
    for lane, start, seat in claims:
        key = (lane, start)
        if key in used:
            used[key].add(seat)
        else:
            used[key] = {seat}
    # Seat numbers beyond a slot's seats (left by a rule that now gives fewer) are the
    # exception: only then is each slot's set looked at seat by seat.
    exact = max((seat for _, _, seat in claims), default=-1) >= min(row[3] for row in rows)
    nothing: frozenset = frozenset()
    result = []
    for start, end, lane, seats, starts in rows:
        if len(starts) == 1:
            busy = used.get((lane, start), nothing)
        else:
            busy = set().union(*[used.get((lane, s), nothing) for s in starts])
        free = seats - len(busy)
        if exact and busy and max(busy) >= seats:
            free = sum(1 for seat in range(seats) if seat not in busy)
        if free or include_full:
            result.append(Slot(start, end, lane, seats, starts, free))
    return _merge_lanes(result)


def _merge_lanes(slots: list[Slot]) -> list[Slot]:
    # Two rules for disjoint services never both apply to one service at one time, but two
    # rules of the same lane could touch: keep the first slot of each start (sorted by lane).
    seen, result = set(), []
    for slot in slots:
        if slot.start not in seen:
            seen.add(slot.start)
            result.append(slot)
    return result


def find_slot(office: Office, service: Service, start: datetime, pool: str, *,
              now: datetime | None = None, notice: bool = True) -> Slot | None:
    """The grid slot that starts at ``start`` (aware), or ``None`` if none does."""
    local_day = start.astimezone(office.zone).date()
    for slot in grid(office, service, local_day, local_day, pool, now=now, notice=notice):
        if slot.start == start:
            return slot
    return None


def nearest_free(office: Office, service: Service, start: datetime, pool: str, *,
                 count: int = 3, now: datetime | None = None,
                 notice: bool = True) -> list[Slot]:
    """Up to ``count`` free slots closest in time to ``start`` within a week either side."""
    local_day = start.astimezone(office.zone).date()
    slots = free_slots(office, service, local_day - timedelta(days=7),
                       local_day + timedelta(days=7), pool=pool, now=now, notice=notice)
    slots.sort(key=lambda slot: abs((slot.start - start).total_seconds()))
    return sorted(slots[:count], key=lambda slot: slot.start)


def days_with_free_slots(office: Office, service: Service, first: date, last: date, *,
                         pool: str = "public", now: datetime | None = None) -> dict[date, int]:
    """``{local date: free slots}`` for the month view."""
    counts: dict[date, int] = {}
    for slot in free_slots(office, service, first, last, pool=pool, now=now):
        day = slot.start.astimezone(office.zone).date()
        counts[day] = counts.get(day, 0) + 1
    return counts


# -- answers kept per process -----------------------------------------------------------------
#
# A window of 60 days costs tens of milliseconds to compute and to write as JSON, and is
# asked for far more often than seats change. ``AnswerCache`` keeps an answer (the bytes
# of the API's reply, say) for as long as nothing it depends on changed:
#
# - the office's seat ledger: a *stamp* of its future claims (how many, the newest id,
#   how many expire, how many belong to an appointment, the next expiry) read in one
#   statement, at most every ``AVAILABILITY_CACHE_SECONDS`` (default 1 s) and at once
#   after this process committed a change to any seat claim (``ledger_generation``);
#   every write of the booking operations changes the stamp;
# - the catalog (the office, its rules and closures, the service): its revision, as the
#   catalog's own search cache sees it (``catalog/search/cache.py``);
# - time: an answer ends at the next expiry of a claim (a hold or a released seat),
#   when its first free time comes within the office's notice, and at midnight at the
#   office (today and the horizon move).
#
# Another process's booking is thus seen within a second, this process's at once; the
# seat ledger refuses a seat that was taken meanwhile whatever an answer said.

_generation_lock = threading.Lock()
_ledger_generation = 0
_LEDGER_CHANGED = "citizen_desk.booking.ledger_changed"


def ledger_generation() -> int:
    """How many transactions of this process that wrote seat claims have committed."""
    return _ledger_generation


@event.listens_for(Session, "before_flush")
def _note_claims_flushed(session, flush_context, instances):
    if not session.info.get(_LEDGER_CHANGED) and any(
            isinstance(obj, SeatClaim) for obj in (*session.new, *session.dirty,
                                                    *session.deleted)):
        session.info[_LEDGER_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_claims_written(state):
    # The operations update and delete claims with bulk statements, which skip the flush.
    if (state.is_update or state.is_delete or state.is_insert) and getattr(
            getattr(state.statement, "table", None), "name", None) == SeatClaim.__tablename__:
        state.session.info[_LEDGER_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _count_ledger_commit(session):
    global _ledger_generation
    if session.info.pop(_LEDGER_CHANGED, False):
        with _generation_lock:
            _ledger_generation += 1


@event.listens_for(Session, "after_rollback")
def _no_ledger_change_after_rollback(session):
    session.info.pop(_LEDGER_CHANGED, None)


@dataclass(frozen=True)
class LedgerStamp:
    """What an office's future seat claims looked like, in one row (see above)."""

    office_id: int
    value: tuple
    next_expiry: datetime | None
    generation: int
    revision: int


def _catalog_revision() -> int:
    from citizen_desk.catalog.search.cache import EXTENSION
    cache = current_app.extensions.get(EXTENSION) if has_app_context() else None
    return cache.revision() if cache is not None else 0


def ledger_stamp(office_id: int, *, now: datetime | None = None) -> LedgerStamp:
    """The stamp of ``office_id``'s claims of slots from ``now`` on, in one statement."""
    now = now or utcnow()
    generation = _ledger_generation  # read first: a later commit makes the stamp look older
    row = db.session.execute(
        select(func.count(SeatClaim.id), func.max(SeatClaim.id),
               func.count(SeatClaim.expires_dt), func.count(SeatClaim.appointment_id),
               func.min(case((SeatClaim.expires_dt > now, SeatClaim.expires_dt))))
        .where(SeatClaim.office_id == office_id, SeatClaim.start_dt >= now)).one()
    next_expiry = row[4]
    if next_expiry is not None and next_expiry.tzinfo is None:  # min() of SQLite's text
        next_expiry = datetime.fromisoformat(str(next_expiry)).replace(tzinfo=timezone.utc)
    return LedgerStamp(office_id, (row[0], row[1], row[2], row[3], next_expiry), next_expiry,
                       generation, _catalog_revision())


@dataclass
class _Entry:
    value: object
    stamp: LedgerStamp
    valid_until: datetime
    checked: float


class AnswerCache:
    """A small LRU of answers per process, each valid while its office's ledger stamp,
    the catalog's revision and its time limit hold (see above)."""

    #: However quiet the office, an answer is computed again after this long.
    LONGEST = timedelta(minutes=5)

    def __init__(self, seconds: float = 1.0, size: int = 128):
        self.seconds = seconds
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        """The answer kept for ``key`` if it still holds, else ``None`` (may read one stamp)."""
        with self._lock:
            entry = self._items.get(key)
            if entry is not None:
                self._items.move_to_end(key)
        if entry is None:
            return None
        if utcnow() >= entry.valid_until or _catalog_revision() != entry.stamp.revision:
            self._drop(key, entry)
            return None
        fresh = monotonic() - entry.checked < self.seconds
        if fresh and entry.stamp.generation == _ledger_generation:
            return entry.value
        stamp = ledger_stamp(entry.stamp.office_id)
        if stamp.value != entry.stamp.value or stamp.revision != entry.stamp.revision:
            self._drop(key, entry)
            return None
        with self._lock:
            if self._items.get(key) is entry:
                self._items[key] = _Entry(entry.value, stamp, entry.valid_until,
                                          monotonic())
        return entry.value

    def put(self, key, value, stamp: LedgerStamp, office: Office, slots: list[Slot]):
        """Keep ``value``, computed from ``slots`` of ``office`` after ``stamp`` was read."""
        now = utcnow()
        limits = [now + self.LONGEST]
        midnight = datetime.combine(now.astimezone(office.zone).date() + timedelta(days=1),
                                    time.min).replace(tzinfo=office.zone)
        limits.append(midnight.astimezone(timezone.utc))
        if stamp.next_expiry is not None:
            limits.append(stamp.next_expiry)
        if slots:
            limits.append(min(slot.start for slot in slots)
                          - timedelta(hours=office.min_notice_hours))
        entry = _Entry(value, stamp, min(limits), monotonic())
        with self._lock:
            self._items[key] = entry
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def _drop(self, key, entry):
        with self._lock:
            if self._items.get(key) is entry:
                del self._items[key]

    def clear(self):
        with self._lock:
            self._items.clear()


ANSWERS = "citizen_desk.booking.answers"


def answers() -> AnswerCache:
    """The application's cache of availability answers (made on first use)."""
    cache = current_app.extensions.get(ANSWERS)
    if cache is None:
        cache = current_app.extensions.setdefault(ANSWERS, AnswerCache(
            seconds=float(current_app.config.get("AVAILABILITY_CACHE_SECONDS", 1.0))))
    return cache
