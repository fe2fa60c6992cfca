"""Who is called next: the office's call-next policy, as a pure function.

In words a front-office manager uses — when a clerk presses *call next*:

1. **Appointments that are due come first.** A citizen who booked and has
   checked in is called as soon as their appointment time is near: from
   ``appointment_early_minutes`` (default 5) before it. Several due
   appointments go in the order of their appointment times.
2. **Then priority.** People with a disability, then pregnant women, then
   people over 65 — the office chooses the classes and their order.
3. **Then everyone else in the order they arrived** (the time the ticket was
   issued; a transferred ticket keeps its first issue time). An appointment
   checked in well before its time waits here, in arrival order like everyone
   else: if the line reaches it first, it is served early.
4. **Fairness.** Appointments and priority must not starve the ordinary line:
   when the last ``fairness_max_consecutive`` calls at the office (default 3)
   were all appointments or priority tickets, and someone without an
   appointment has waited longer than ``fairness_wait_minutes`` (default 20),
   the person without an appointment who has waited longest is called next.

Two tickets that would tie are ordered by their id (the older ticket row
first), so the same waiting tickets, the same recent calls and the same clock
always give the same answer, whatever order the tickets are listed in.

This module knows nothing of the database: the queue's operations turn the
waiting tickets into :class:`Candidate` objects, the office's settings into
:class:`Knobs` and its recent calls into a :class:`History`, and ask
:func:`next_ticket`. ``docs/queue.md`` has a worked example.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

WALK_IN = "walk_in"
APPOINTMENT = "appointment"
STAFF = "staff"
#: The kinds of ticket: from a kiosk, an appointment's check-in, or issued by staff at a desk.
KINDS = (WALK_IN, APPOINTMENT, STAFF)

#: What a call was, as :class:`History` remembers it (see :func:`call_kind`).
CALL_APPOINTMENT = "appointment"
CALL_PRIORITY = "priority"
CALL_WALK_IN = "walk_in"
CALL_KINDS = (CALL_APPOINTMENT, CALL_PRIORITY, CALL_WALK_IN)

#: The default priority classes, highest first (as Greek offices give priority).
DEFAULT_PRIORITY_CLASSES = ("disability", "pregnancy", "senior")


def _plain(value):
    """An enum member's value (``TicketKind.walk_in`` → ``"walk_in"``), anything else as is."""
    return getattr(value, "value", value)


def _require_aware(name, value):
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be an aware datetime, got {value!r}")


@dataclass(frozen=True)
class Candidate:
    """A waiting ticket, as much of it as the policy looks at.

    ``id`` orders ties (all candidates of one call share its type: the
    ticket's primary key). ``due_dt`` is the appointment's start time, for
    appointment check-ins only. ``service_id`` and ``needs`` ride along for
    the caller (the console shows them) and do not change the order.
    """

    id: int | str
    kind: str
    priority: str | None
    issued_dt: datetime
    due_dt: datetime | None = None
    service_id: int | None = None
    needs: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self):
        kind = _plain(self.kind)
        if kind not in KINDS:
            raise ValueError(f"unknown ticket kind {self.kind!r}")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "priority", _plain(self.priority) or None)
        object.__setattr__(self, "needs", frozenset(self.needs))
        _require_aware("issued_dt", self.issued_dt)
        _require_aware("due_dt", self.due_dt)

    @property
    def is_appointment(self) -> bool:
        return self.kind == APPOINTMENT

    def waited(self, now: datetime) -> timedelta:
        """How long the citizen has waited by ``now``."""
        return now - self.issued_dt


@dataclass(frozen=True)
class Knobs:
    """One office's policy settings (defaults are the house defaults)."""

    #: An appointment is due from this many minutes before its start time.
    appointment_early_minutes: int = 5
    #: K: at most this many appointment or priority calls in a row while …
    fairness_max_consecutive: int = 3
    #: … T: someone without an appointment has waited longer than this.
    fairness_wait_minutes: int = 20
    #: Priority class codes, highest first; their place in this tuple is their rank.
    priority_classes: tuple[str, ...] = DEFAULT_PRIORITY_CLASSES

    def __post_init__(self):
        for name in ("appointment_early_minutes", "fairness_max_consecutive",
                     "fairness_wait_minutes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number ≥ 0, got {value!r}")
        classes = tuple(self.priority_classes)
        if len(set(classes)) != len(classes):
            raise ValueError(f"priority classes repeat: {classes!r}")
        object.__setattr__(self, "priority_classes", classes)

    @classmethod
    def from_mapping(cls, values) -> Knobs:
        """The knobs from an office's stored settings (a dict, e.g. a JSON
        column): a missing or empty setting keeps the default, an unknown
        name is refused."""
        values = {name: value for name, value in (values or {}).items() if value is not None}
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown policy settings {sorted(unknown)!r}")
        return cls(**values)

    @property
    def early(self) -> timedelta:
        return timedelta(minutes=self.appointment_early_minutes)

    @property
    def fairness_wait(self) -> timedelta:
        return timedelta(minutes=self.fairness_wait_minutes)

    def rank(self, priority: str | None) -> int:
        """0 for the highest class, …; a class the office no longer lists
        ranks after the listed ones; no priority ranks last."""
        if priority is None:
            return len(self.priority_classes) + 1
        try:
            return self.priority_classes.index(priority)
        except ValueError:
            return len(self.priority_classes)


def call_kind(candidate: Candidate) -> str:
    """What calling ``candidate`` counts as for the fairness bound: an
    appointment, a priority ticket, or an ordinary walk-in (kiosk or desk)."""
    if candidate.is_appointment:
        return CALL_APPOINTMENT
    if candidate.priority is not None:
        return CALL_PRIORITY
    return CALL_WALK_IN


@dataclass(frozen=True)
class History:
    """The kinds (:data:`CALL_KINDS`) of the office's last calls, most recent
    first. Only the first ``fairness_max_consecutive`` entries matter."""

    recent: tuple[str, ...] = ()

    def __post_init__(self):
        recent = tuple(_plain(kind) for kind in self.recent)
        unknown = [kind for kind in recent if kind not in CALL_KINDS]
        if unknown:
            raise ValueError(f"unknown call kinds {unknown!r}")
        object.__setattr__(self, "recent", recent)

    def after(self, called: Candidate) -> History:
        """The history once ``called`` has been called."""
        return History((call_kind(called),) + self.recent)

    def ahead_of_line_streak(self) -> int:
        """How many of the latest calls in a row were appointments or priority."""
        streak = 0
        for kind in self.recent:
            if kind == CALL_WALK_IN:
                break
            streak += 1
        return streak


def is_due(candidate: Candidate, knobs: Knobs, now: datetime) -> bool:
    """A checked-in appointment whose time is near: its start is at most
    ``appointment_early_minutes`` away (or already past)."""
    return (candidate.is_appointment and candidate.due_dt is not None
            and candidate.due_dt <= now + knobs.early)


def line_key(candidate: Candidate, knobs: Knobs, now: datetime) -> tuple:
    """Rules 1–3 as one sort key: due appointments (by appointment time),
    then priority rank, then arrival, then id."""
    if is_due(candidate, knobs, now):
        return (0, candidate.due_dt, 0, candidate.issued_dt, candidate.id)
    return (1, None, knobs.rank(candidate.priority), candidate.issued_dt, candidate.id)


def _arrival_key(candidate: Candidate) -> tuple:
    return (candidate.issued_dt, candidate.id)


def _fairness_owed(history: History, knobs: Knobs) -> bool:
    """The last K calls were all appointments or priority (rule 4's first half)."""
    return history.ahead_of_line_streak() >= knobs.fairness_max_consecutive


class _Line:
    """The waiting tickets sorted twice — by rules 1–3 and by arrival of those
    without an appointment — from which calls are taken one by one."""

    def __init__(self, candidates, knobs: Knobs, now: datetime):
        _require_aware("now", now)
        candidates = list(candidates)
        if len({c.id for c in candidates}) != len(candidates):
            raise ValueError("two candidates share an id")
        self.knobs, self.now = knobs, now
        self.by_rules = sorted(candidates, key=lambda c: line_key(c, knobs, now))
        self.by_arrival = sorted((c for c in candidates if not c.is_appointment),
                                 key=_arrival_key)
        self.taken: set = set()
        # Everything before these positions is taken: each list is walked once.
        self.start = {"by_rules": 0, "by_arrival": 0}

    def _first(self, name):
        ordered, i = getattr(self, name), self.start[name]
        while i < len(ordered) and ordered[i].id in self.taken:
            i += 1
        self.start[name] = i
        return ordered[i] if i < len(ordered) else None

    def take(self, history: History) -> Candidate | None:
        """Apply the rules once: the ticket called next, now out of the line."""
        pick = self._first("by_rules")
        if pick is not None and _fairness_owed(history, self.knobs):
            longest = self._first("by_arrival")
            if longest is not None and longest.waited(self.now) > self.knobs.fairness_wait:
                pick = longest
        if pick is not None:
            self.taken.add(pick.id)
        return pick


def next_ticket(candidates, history: History, knobs: Knobs, now: datetime) -> Candidate | None:
    """The ticket the clerk calls now, or ``None`` when nobody waits."""
    return _Line(candidates, knobs, now).take(history)


def order(candidates, history: History, knobs: Knobs, now: datetime,
          limit: int | None = None) -> list[Candidate]:
    """Every candidate in the order they would be called if nobody else
    arrived and the clock stood still: ``order(...)[0]`` is
    :func:`next_ticket`, and a ticket's index is the number of people ahead
    of it. Each step applies the fairness bound to the calls before it.

    ``limit``: only the first so many (call-next tries a few, not the whole line)."""
    line = _Line(candidates, knobs, now)
    called: list[Candidate] = []
    while (limit is None or len(called) < limit) and (pick := line.take(history)) is not None:
        called.append(pick)
        # Only the latest K calls matter; keeping no more keeps this linear.
        history = History(history.after(pick).recent[:line.knobs.fairness_max_consecutive])
    return called
