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
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from citizen_desk.booking.models import SeatClaim
from citizen_desk.catalog.hours import closed_days
from citizen_desk.catalog.models import OpeningRule, Service
from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office


@dataclass(frozen=True)
class Slot:
    """A time at which ``service`` can start: the grid slots it needs, on one lane."""

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
               now: datetime) -> list[_Row]:
    """``grid`` as plain tuples, sorted by start and lane (``free_slots`` counts them)."""
    zone = office.zone
    earliest = first_bookable(office, now)
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
         now: datetime | None = None) -> list[Slot]:
    """Every start time in [first, last] (local dates) the rules give ``service`` in ``pool``.

    Closures, holidays, the office's notice and horizon are applied; seats
    already taken are not (see ``free_slots``). Reads no database rows
    beyond those ``load_office`` loaded.
    """
    return [Slot(*row) for row in _grid_rows(office, service, first, last, pool,
                                            now or utcnow())]


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


def taken(office_id: int, pool: str, start: datetime, end: datetime, *,
          now: datetime | None = None,
          lanes=None) -> set[tuple[int, datetime, int]]:
    """``{(lane, slot start, seat_no)}`` of the live claims of [start, end), in one statement.

    ``lanes`` limits it to those lanes (the others' seats cannot matter).
    """
    now = now or utcnow()
    query = select(SeatClaim.lane, SeatClaim.start_dt, SeatClaim.seat_no).where(
        SeatClaim.office_id == office_id, SeatClaim.pool == pool,
        SeatClaim.start_dt >= start, SeatClaim.start_dt < end,
        or_(SeatClaim.expires_dt.is_(None), SeatClaim.expires_dt > now))
    if lanes is not None:
        query = query.where(SeatClaim.lane.in_(sorted(lanes)))
    return {(lane, start_dt, seat) for lane, start_dt, seat in db.session.execute(query)}


def free_seats(slot: Slot, claims: set) -> list[int]:
    """Seat numbers free in every grid slot ``slot`` needs."""
    return [seat for seat in range(slot.seats)
            if not any((slot.lane, start, seat) in claims for start in slot.starts)]


def free_slots(office: Office, service: Service, first: date, last: date, *,
               pool: str = "public", now: datetime | None = None,
               include_full: bool = False) -> list[Slot]:
    """The slots of [first, last] with their free seats; full ones only if ``include_full``.

    ``office`` should come from ``load_office`` (its rules and closures loaded).
    """
    now = now or utcnow()
    rows = _grid_rows(office, service, first, last, pool, now)
    if not rows:
        return []
    claims = taken(office.id, pool, rows[0][0], max(row[4][-1] for row in rows)
                   + timedelta(seconds=1), now=now, lanes={row[2] for row in rows})
    # The seat numbers taken per (lane, grid slot): a slot's free seats are the numbers
    # below its seats that none of its grid slots has taken.
    used: dict[tuple[int, datetime], set[int]] = {}
    for lane, start, seat in claims:
        used.setdefault((lane, start), set()).add(seat)
    nothing: frozenset = frozenset()
    result = []
    for start, end, lane, seats, starts in rows:
        if len(starts) == 1:
            busy = used.get((lane, start), nothing)
        else:
            busy = set().union(*(used.get((lane, s), nothing) for s in starts))
        free = seats - len(busy) if max(busy, default=-1) < seats else \
            sum(1 for seat in range(seats) if seat not in busy)
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
              now: datetime | None = None) -> Slot | None:
    """The grid slot that starts at ``start`` (aware), or ``None`` if none does."""
    local_day = start.astimezone(office.zone).date()
    for slot in grid(office, service, local_day, local_day, pool, now=now):
        if slot.start == start:
            return slot
    return None


def nearest_free(office: Office, service: Service, start: datetime, pool: str, *,
                 count: int = 3, now: datetime | None = None) -> list[Slot]:
    """Up to ``count`` free slots closest in time to ``start`` within a week either side."""
    local_day = start.astimezone(office.zone).date()
    slots = free_slots(office, service, local_day - timedelta(days=7),
                       local_day + timedelta(days=7), pool=pool, now=now)
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
