"""The waiting-time estimate against a synthetic morning.

Citizens arrive at random (a Poisson stream, one every ``ARRIVAL_MINUTES``
on average, 08:00–12:00), two counters serve the one service, and each
service takes a time drawn from a fixed, right-skewed distribution (a
gamma; mean ``SERVICE_MEAN`` minutes), all from a seeded random generator.
The clock is advanced by monkeypatching ``utcnow`` in the modules that read
it, and the day is played through the real operations: ``issue``,
``call_next``, ``start_serving``, ``finish``.

For every ticket the estimate shown at issue (``estimate.standing``) is
compared with the wait it actually had (issued → called). **Tolerance**
(also in docs/queue.md): for the tickets issued mid-morning (09:00–11:00,
once the office has an hour of service times; eight seeded mornings taken
together), the estimate is within ±30 % of the actual wait or ±5 minutes,
whichever is larger, for at least 80 % of them, and its mean error is
under a minute either way. The morning is busy (the two counters are
occupied about 90 % of the time; waits of up to half an hour).
"""
from __future__ import annotations

import heapq
import random
from datetime import date, datetime, time, timedelta, timezone

from citizen_desk.catalog import operations as catalog_ops
from citizen_desk.extensions import db
from citizen_desk.queue import counters, estimate, operations
from citizen_desk.staff.models import Role
from tests.factories import add_rule, create_office, create_service, create_user, daytime_zone

#: 08:00 at the office (Europe/Athens, UTC+2 in December), a Wednesday.
OPENING = datetime(2026, 12, 2, 6, 0, tzinfo=timezone.utc)
ARRIVAL_MINUTES = 3.3
SERVICE_SHAPE, SERVICE_MEAN = 3.0, 6.0
ARRIVALS_UNTIL = 240  # minutes after opening
MID_MORNING = (60, 180)
#: ±30 % or ±5 minutes, whichever is larger, for at least 80 % of the mid-morning tickets.
RELATIVE, ABSOLUTE, SHARE = 0.30, 5.0, 0.80
#: … and the mean error (estimated − actual) within a minute either way.
MAX_BIAS = 1.0
SEEDS = range(1, 9)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def within(estimated: float, actual: float) -> bool:
    return abs(estimated - actual) <= max(ABSOLUTE, RELATIVE * actual)


def play_morning(monkeypatch, seed: int) -> list[tuple[float, int, float]]:
    """``(issued minute, estimated wait, actual wait)`` of every ticket of a seeded morning."""
    clock = Clock(OPENING)
    for module in (operations, estimate, counters):
        monkeypatch.setattr(module, "utcnow", clock)
    office = create_office(holiday_country=None, min_notice_hours=0)
    add_rule(office, weekdays=[1, 2, 3, 4, 5, 6, 7], start_time=time(0), end_time=time(23, 45),
             valid_from=date(2026, 1, 1))
    # The booked duration (the estimate's fallback until service times are known) is a guess.
    service = create_service(offices=[office], ticket_prefix="A", duration_minutes=15)
    desks = []
    for n in (1, 2):
        counter = catalog_ops.add_counter(office, str(n), {"el": f"Θυρίδα {n}"}, [service])
        clerk = create_user(role=Role.clerk, office=office)
        counters.take(counter, clerk)
        desks.append((counter, clerk))

    rng = random.Random(seed)
    events, order = [], 0

    def at(minute: float, kind: str, desk: int | None = None):
        nonlocal order
        order += 1
        heapq.heappush(events, (minute, order, kind, desk))

    minute = 0.0
    while True:
        minute += rng.expovariate(1 / ARRIVAL_MINUTES)
        if minute > ARRIVALS_UNTIL:
            break
        at(minute, "arrive")
    for desk in range(len(desks)):
        at(0.0, "free", desk)

    idle, current, shown = set(), {}, {}
    while events:
        minute, _, kind, desk = heapq.heappop(events)
        clock.now = OPENING + timedelta(minutes=minute)
        if kind == "arrive":
            ticket, _ = operations.issue(office, service)
            shown[ticket.id] = (minute, estimate.standing(ticket).wait_minutes, ticket)
            if idle:
                at(minute, "free", idle.pop())
            continue
        counter, clerk = desks[desk]
        if desk in current:
            operations.finish(current.pop(desk), clerk=clerk)
        ticket = operations.call_next(counter, clerk)
        if ticket is None:
            idle.add(desk)
            continue
        operations.start_serving(ticket, clerk)
        current[desk] = ticket
        at(minute + rng.gammavariate(SERVICE_SHAPE, SERVICE_MEAN / SERVICE_SHAPE), "free", desk)

    db.session.flush()
    results = []
    for issued, estimated, ticket in shown.values():
        assert ticket.called_dt is not None, ticket.number  # everyone was called
        actual = (ticket.called_dt - ticket.issued_dt).total_seconds() / 60
        results.append((issued, estimated, actual))
    return results


def mid_morning(results) -> list[tuple[int, float]]:
    return [(estimated, actual) for issued, estimated, actual in results
            if MID_MORNING[0] <= issued <= MID_MORNING[1]]


def test_the_estimate_holds_for_mid_morning_tickets(app_ctx, monkeypatch):
    """Eight seeded mornings (about 280 mid-morning tickets), judged together: one morning
    alone is a few dozen tickets, and a run of long services makes any estimate miss."""
    pooled = []
    for seed in SEEDS:
        mid = mid_morning(play_morning(monkeypatch, seed))
        assert len(mid) >= 25  # a real morning's worth, not a handful
        pooled += mid
    good = sum(within(estimated, actual) for estimated, actual in pooled)
    assert good / len(pooled) >= SHARE, (good, len(pooled))
    # Neither optimistic nor pessimistic on the whole: the mean error is under a minute.
    # (Without counting the departure a full desk needs, it was 2 minutes short.)
    bias = sum(estimated - actual for estimated, actual in pooled) / len(pooled)
    assert abs(bias) <= MAX_BIAS, bias


def test_the_tolerance_can_fail(app_ctx, monkeypatch):
    """The check is not vacuous: an estimate of "no wait" misses most of a busy morning."""
    mid = mid_morning(play_morning(monkeypatch, 7))
    assert sum(within(0, actual) for _, actual in mid) / len(mid) < SHARE


def test_a_full_desk_is_waited_for_even_with_nobody_ahead(app_ctx):
    office = create_office(holiday_country=None, min_notice_hours=0, timezone=daytime_zone())
    add_rule(office, weekdays=[1, 2, 3, 4, 5, 6, 7], start_time=time(0), end_time=time(23, 45),
             valid_from=date(2026, 1, 1))
    service = create_service(offices=[office], ticket_prefix="A", duration_minutes=15)
    counter = catalog_ops.add_counter(office, "1", {"el": "Θυρίδα 1"}, [service])
    clerk = create_user(role=Role.clerk, office=office)
    counters.take(counter, clerk)
    first, _ = operations.issue(office, service)
    assert estimate.standing(first).wait_minutes == 0  # the counter is free
    assert estimate.service_summary(office, service)["wait_minutes"] == 15
    operations.call_next(counter, clerk)
    second, _ = operations.issue(office, service)
    shown = estimate.standing(second)
    assert (shown.ahead, shown.wait_minutes) == (0, 15)  # the citizen at the counter first
    assert estimate.service_summary(office, service) == {"waiting": 1, "wait_minutes": 30}
    assert estimate.standing(first).wait_minutes == 0  # called: no estimate
