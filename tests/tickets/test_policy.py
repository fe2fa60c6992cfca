"""The call-next policy (``citizen_desk/queue/policy.py``), without a database.

First one test per rule, on small hand-made queues; then property-based
tests: a simulated office day where tickets arrive and a clerk keeps calling,
checked for "everyone is called, once", the fairness bound, a bounded wait
and determinism.
"""
from __future__ import annotations

import enum
import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citizen_desk.queue.policy import (APPOINTMENT, CALL_APPOINTMENT, CALL_PRIORITY, CALL_WALK_IN,
                                       KINDS, STAFF, WALK_IN, Candidate, History, Knobs, call_kind,
                                       is_due, next_ticket, order)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
KNOBS = Knobs()


def minutes(n):
    return timedelta(minutes=n)


def walk_in(id, waited, priority=None, kind=WALK_IN):
    """A ticket issued ``waited`` minutes before NOW."""
    return Candidate(id=id, kind=kind, priority=priority, issued_dt=NOW - minutes(waited))


def appointment(id, due_in, waited=1, priority=None):
    """A checked-in appointment starting ``due_in`` minutes after NOW."""
    return Candidate(id=id, kind=APPOINTMENT, priority=priority,
                     issued_dt=NOW - minutes(waited), due_dt=NOW + minutes(due_in))


def ids(candidates):
    return [c.id for c in candidates]


def called_first(candidates, history=History(), knobs=KNOBS, now=NOW):
    return next_ticket(candidates, history, knobs, now).id


APPOINTMENTS_3 = History((CALL_APPOINTMENT,) * 3)


# --- rule 1: due appointments first ----------------------------------------------------

def test_a_due_appointment_goes_before_older_and_priority_tickets():
    line = [walk_in(1, waited=40), walk_in(2, waited=30, priority="disability"),
            appointment(3, due_in=0)]
    assert called_first(line) == 3


def test_an_appointment_is_due_from_the_early_window_on():
    knobs = Knobs(appointment_early_minutes=5)
    assert is_due(appointment(1, due_in=5), knobs, NOW)
    assert not is_due(appointment(1, due_in=6), knobs, NOW)
    assert called_first([walk_in(1, waited=10), appointment(2, due_in=5)], knobs=knobs) == 2


def test_an_appointment_not_yet_due_is_not_first():
    line = [walk_in(1, waited=10), appointment(2, due_in=6, waited=30)]
    assert called_first([walk_in(1, waited=10), appointment(2, due_in=6, waited=3)]) == 1
    # Not due, it waits in arrival order like anyone: checked in first, called first.
    assert called_first(line) == 2
    assert called_first([walk_in(1, waited=10, priority="senior"),
                         appointment(2, due_in=6, waited=30)]) == 1


def test_due_appointments_go_in_the_order_of_their_times():
    line = [appointment(1, due_in=2, waited=20), appointment(2, due_in=-10, waited=1),
            appointment(3, due_in=0, waited=5)]
    assert ids(order(line, History(), KNOBS, NOW)) == [2, 3, 1]


# --- rule 2: priority classes by rank --------------------------------------------------

def test_priority_classes_go_in_rank_order_before_ordinary_tickets():
    line = [walk_in(1, waited=50), walk_in(2, waited=5, priority="senior"),
            walk_in(3, waited=1, priority="disability"), walk_in(4, waited=3, priority="pregnancy")]
    assert ids(order(line, History(), KNOBS, NOW)) == [3, 4, 2, 1]


def test_the_office_chooses_the_rank_of_its_classes():
    knobs = Knobs(priority_classes=("senior", "disability"))
    line = [walk_in(1, waited=5, priority="disability"), walk_in(2, waited=1, priority="senior"),
            walk_in(3, waited=9, priority="pregnancy"), walk_in(4, waited=60)]
    # A class the office no longer lists still goes before ordinary tickets.
    assert ids(order(line, History(), knobs, NOW)) == [2, 1, 3, 4]


# --- rule 3: arrival, then id ----------------------------------------------------------

def test_the_longest_waiting_goes_first_kiosk_or_desk():
    line = [walk_in(1, waited=3), walk_in(2, waited=12, kind=STAFF), walk_in(3, waited=7)]
    assert ids(order(line, History(), KNOBS, NOW)) == [2, 3, 1]


def test_a_tie_goes_to_the_lower_id():
    line = [walk_in(7, waited=4), walk_in(5, waited=4), walk_in(6, waited=4)]
    assert ids(order(line, History(), KNOBS, NOW)) == [5, 6, 7]
    assert ids(order(list(reversed(line)), History(), KNOBS, NOW)) == [5, 6, 7]


# --- rule 4: the fairness bound --------------------------------------------------------

def test_after_k_appointment_calls_a_long_waiting_walk_in_goes_first():
    line = [appointment(1, due_in=0), walk_in(2, waited=21)]
    assert called_first(line, APPOINTMENTS_3) == 2


def test_not_before_k_calls():
    line = [appointment(1, due_in=0), walk_in(2, waited=21)]
    assert called_first(line, History((CALL_APPOINTMENT,) * 2)) == 1
    # A walk-in call in between breaks the streak.
    broken = History((CALL_APPOINTMENT, CALL_APPOINTMENT, CALL_WALK_IN, CALL_APPOINTMENT))
    assert called_first(line, broken) == 1


def test_not_before_the_walk_in_waited_longer_than_t():
    assert called_first([appointment(1, due_in=0), walk_in(2, waited=20)], APPOINTMENTS_3) == 1
    assert called_first([appointment(1, due_in=0), walk_in(2, waited=21)], APPOINTMENTS_3) == 2


def test_priority_calls_count_towards_the_streak():
    line = [walk_in(1, waited=2, priority="senior"), walk_in(2, waited=25)]
    history = History((CALL_PRIORITY, CALL_APPOINTMENT, CALL_PRIORITY))
    assert called_first(line) == 1
    assert called_first(line, history) == 2


def test_the_fairness_call_is_the_longest_waiting_without_an_appointment():
    line = [appointment(1, due_in=0, waited=90), walk_in(2, waited=30),
            walk_in(3, waited=45, priority="senior", kind=STAFF), walk_in(4, waited=60)]
    assert called_first(line, APPOINTMENTS_3) == 4


def test_k_and_t_are_the_offices():
    line = [appointment(1, due_in=0), walk_in(2, waited=11)]
    knobs = Knobs(fairness_max_consecutive=1, fairness_wait_minutes=10)
    assert called_first(line, History((CALL_APPOINTMENT,)), knobs) == 2
    assert called_first(line, History((CALL_WALK_IN,)), knobs) == 1


def test_order_applies_the_bound_step_by_step():
    line = [appointment(i, due_in=0, waited=1) for i in range(1, 8)]
    line += [walk_in(100, waited=30), walk_in(101, waited=25)]
    assert ids(order(line, History((CALL_APPOINTMENT,) * 2), KNOBS, NOW)) == [
        1, 100, 2, 3, 4, 101, 5, 6, 7]


# --- the small print -------------------------------------------------------------------

def test_nobody_waiting():
    assert next_ticket([], History(), KNOBS, NOW) is None
    assert order([], APPOINTMENTS_3, KNOBS, NOW) == []


def test_next_ticket_is_the_head_of_order_whatever_the_input_order():
    line = [appointment(1, due_in=3), appointment(2, due_in=30, waited=40), walk_in(3, waited=22),
            walk_in(4, waited=22, priority="pregnancy"), walk_in(5, waited=2, kind=STAFF)]
    expected = order(line, APPOINTMENTS_3, KNOBS, NOW)
    for seed in range(20):
        shuffled = random.Random(seed).sample(line, len(line))
        assert order(shuffled, APPOINTMENTS_3, KNOBS, NOW) == expected
        assert next_ticket(shuffled, APPOINTMENTS_3, KNOBS, NOW) == expected[0]


def test_the_call_kinds_history_remembers():
    assert call_kind(appointment(1, due_in=0, priority="senior")) == CALL_APPOINTMENT
    assert call_kind(walk_in(2, waited=1, priority="senior", kind=STAFF)) == CALL_PRIORITY
    assert call_kind(walk_in(3, waited=1, kind=STAFF)) == CALL_WALK_IN
    history = History().after(appointment(1, due_in=0)).after(walk_in(2, waited=1))
    assert history.recent == (CALL_WALK_IN, CALL_APPOINTMENT)
    assert History((CALL_PRIORITY, CALL_APPOINTMENT, CALL_WALK_IN, CALL_PRIORITY)) \
        .ahead_of_line_streak() == 2


def test_enum_members_are_taken_by_value():
    class Kind(enum.Enum):
        appointment = APPOINTMENT
    candidate = Candidate(id=1, kind=Kind.appointment, priority=None, issued_dt=NOW, due_dt=NOW)
    assert candidate.kind == APPOINTMENT and candidate.is_appointment


def test_knobs_from_an_offices_settings():
    assert Knobs.from_mapping(None) == Knobs()
    assert Knobs.from_mapping({"fairness_max_consecutive": 2, "fairness_wait_minutes": None,
                               "priority_classes": ["senior", "disability"]}) == Knobs(
        fairness_max_consecutive=2, priority_classes=("senior", "disability"))


@pytest.mark.parametrize("bad", [
    lambda: Candidate(id=1, kind="vip", priority=None, issued_dt=NOW),
    lambda: Candidate(id=1, kind=WALK_IN, priority=None, issued_dt=NOW.replace(tzinfo=None)),
    lambda: Knobs(fairness_max_consecutive=-1),
    lambda: Knobs(fairness_wait_minutes=1.5),
    lambda: Knobs(priority_classes=("senior", "senior")),
    lambda: Knobs.from_mapping({"fairness_k": 2}),
    lambda: History(("vip",)),
    lambda: next_ticket([walk_in(1, 1)], History(), KNOBS, NOW.replace(tzinfo=None)),
    lambda: order([walk_in(1, 1), walk_in(1, 2)], History(), KNOBS, NOW),
])
def test_bad_input_is_refused(bad):
    with pytest.raises(ValueError):
        bad()


# --- property-based: a simulated office day --------------------------------------------

ticket_spec = st.tuples(
    st.sampled_from(KINDS),
    # "retired" stands for a class the office has since removed from its list.
    st.one_of(st.none(), st.sampled_from(("disability", "pregnancy", "senior", "retired"))),
    st.integers(-15, 45),  # an appointment's start, in minutes after its check-in
)
#: One minute of the day: the tickets issued, then how many calls the clerks make.
minute_spec = st.tuples(st.lists(ticket_spec, max_size=4), st.integers(0, 3))
day_spec = st.lists(minute_spec, min_size=1, max_size=40)
knobs_spec = st.builds(Knobs, appointment_early_minutes=st.integers(0, 10),
                       fairness_max_consecutive=st.integers(0, 4),
                       fairness_wait_minutes=st.integers(0, 30))
bounded = settings(max_examples=200, deadline=None)


def reference_next(waiting, history, knobs, now):
    """The policy restated as plainly as possible, to check the module against."""
    k = knobs.fairness_max_consecutive
    streak = history.recent[:k]
    if len(streak) == k and CALL_WALK_IN not in streak:
        without_appointment = [c for c in waiting if c.kind != APPOINTMENT]
        if without_appointment:
            longest = min(without_appointment, key=lambda c: (c.issued_dt, c.id))
            if now - longest.issued_dt > timedelta(minutes=knobs.fairness_wait_minutes):
                return longest
    early = timedelta(minutes=knobs.appointment_early_minutes)
    due = [c for c in waiting if c.kind == APPOINTMENT and c.due_dt <= now + early]
    if due:
        return min(due, key=lambda c: (c.due_dt, c.issued_dt, c.id))
    classes = list(knobs.priority_classes)

    def rank(priority):
        if priority is None:
            return len(classes) + 1
        return classes.index(priority) if priority in classes else len(classes)
    return min(waiting, key=lambda c: (rank(c.priority), c.issued_dt, c.id))


def simulate(day, knobs, shuffler=None):
    """Run the day: tickets arrive each minute, calls follow half a minute later;
    after the last arrivals the clerks call one a minute until nobody waits.
    Answers the tickets issued and the calls as (now, waiting before, called)."""
    issued, waiting, calls = [], [], []
    history = History()

    def call(now):
        nonlocal history
        line = list(waiting)
        if shuffler is not None:
            shuffler.shuffle(line)
        called = next_ticket(line, history, knobs, now)
        calls.append((now, tuple(waiting), called))
        waiting.remove(called)
        history = history.after(called)

    minute = 0
    for minute, (arrivals, n_calls) in enumerate(day):
        at = NOW + minutes(minute)
        for kind, priority, due_in in arrivals:
            ticket = Candidate(id=len(issued) + 1, kind=kind, priority=priority, issued_dt=at,
                               due_dt=at + minutes(due_in) if kind == APPOINTMENT else None)
            issued.append(ticket)
            waiting.append(ticket)
        for _ in range(min(n_calls, len(waiting))):
            call(at + timedelta(seconds=30))
    while waiting:
        minute += 1
        call(NOW + minutes(minute))
    return issued, calls


def key(c):
    return (c.issued_dt, c.id)


@bounded
@given(day_spec, knobs_spec)
def test_everyone_waiting_is_called_exactly_once(day, knobs):
    issued, calls = simulate(day, knobs)
    called = [c.id for _, _, c in calls]
    assert sorted(called) == [t.id for t in issued]


@bounded
@given(day_spec, knobs_spec)
def test_each_call_follows_the_rules_as_written(day, knobs):
    _, calls = simulate(day, knobs)
    history = History()
    for now, waiting, called in calls:
        assert called == reference_next(waiting, history, knobs, now)
        assert order(waiting, history, knobs, now)[0] == called
        history = history.after(called)


@bounded
@given(day_spec, knobs_spec)
def test_no_long_waiting_walk_in_is_passed_over_more_than_k_times_in_a_row(day, knobs):
    issued, calls = simulate(day, knobs)
    limit_t = timedelta(minutes=knobs.fairness_wait_minutes)
    for ticket in (t for t in issued if t.kind != APPOINTMENT):
        in_a_row = 0
        for now, waiting, called in calls:
            if called == ticket:
                break
            passed_over = now - ticket.issued_dt > limit_t and (
                called.kind == APPOINTMENT
                or (called.priority is not None and key(called) > key(ticket)))
            in_a_row = in_a_row + 1 if passed_over else 0
            assert in_a_row <= knobs.fairness_max_consecutive, (ticket, now)


@bounded
@given(day_spec, knobs_spec)
def test_a_walk_in_past_the_wait_limit_is_called_within_a_bounded_number_of_calls(day, knobs):
    """Once it has waited T, every K+1 calls at least one takes it or someone
    without an appointment who came before it: its wait is bounded whatever
    the stream of appointments and priority tickets."""
    issued, calls = simulate(day, knobs)
    limit_t = timedelta(minutes=knobs.fairness_wait_minutes)
    for ticket in (t for t in issued if t.kind != APPOINTMENT):
        late_calls = [(now, waiting, called) for now, waiting, called in calls
                      if now - ticket.issued_dt > limit_t and ticket in waiting]
        if not late_calls:
            continue
        ahead = [c for c in late_calls[0][1] if c.kind != APPOINTMENT and key(c) < key(ticket)]
        limit = (knobs.fairness_max_consecutive + 1) * (len(ahead) + 1)
        assert len(late_calls) <= limit, (ticket, len(late_calls), limit)


@bounded
@given(day_spec, knobs_spec, st.randoms(use_true_random=False))
def test_the_same_queue_gives_the_same_calls(day, knobs, shuffler):
    _, calls = simulate(day, knobs)
    _, again = simulate(day, knobs)
    _, shuffled = simulate(day, knobs, shuffler)
    assert again == calls
    assert shuffled == calls


@bounded
@given(day_spec, knobs_spec, st.integers(min_value=0, max_value=12))
def test_a_limited_order_is_the_head_of_the_whole_order(day, knobs, limit):
    """Call-next orders only the first few (``limit``): they must be the whole order's head."""
    issued, _ = simulate(day, knobs)
    history = History((CALL_APPOINTMENT, CALL_PRIORITY))
    now = NOW + minutes(len(day))
    whole = order(issued, history, knobs, now)
    assert order(issued, history, knobs, now, limit=limit) == whole[:limit]
