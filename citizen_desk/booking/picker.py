"""What a citizen picks from: a month of days with free times, and the free times of a day.

The booking journey (``views.py``) and rescheduling from a manage link both
show them, with the macros of ``templates/booking/_month.html`` (``Month``)
and ``templates/booking/_times.html`` (``TimeChoice``). Dates are the
office's local dates; a month costs the statements of one ``free_slots``
call, whatever the number of days, slots or bookings.

Query parameters arrive as text and leave as dates here: ``parse_month``
(``2026-12``), ``parse_day`` (``2026-12-08``) and ``parse_start`` (an ISO
8601 instant with its offset) answer ``None`` for anything else.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from babel.dates import get_day_names
from flask import current_app
from flask_babel import get_locale, gettext, ngettext

from citizen_desk.booking import availability
from citizen_desk.booking.availability import Slot
from citizen_desk.catalog.models import Service
from citizen_desk.core.db import utcnow
from citizen_desk.core.i18n import format_local
from citizen_desk.offices.models import Office

_MONTH = re.compile(r"^(\d{4})-(\d{2})\Z")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\Z")
#: An ISO instant is about 25 characters; anything far longer is not one.
_START_LENGTH = 40


@dataclass(frozen=True)
class Day:
    """A day of the month view."""

    date: date
    #: Free start times that day (0: nothing to book, shown as plain text).
    free: int
    #: What a screen reader says for its button: «Τρίτη 8 Δεκεμβρίου, 12 ελεύθερες ώρες».
    label: str


@dataclass(frozen=True)
class Month:
    """One month of an office's calendar for one service, week by week (Monday first)."""

    #: The first day of the month.
    first: date
    #: «Δεκέμβριος 2026».
    title: str
    #: ``(short, full)`` weekday names, Monday first, for the column headers.
    weekdays: list[tuple[str, str]]
    #: Seven cells per week: a ``Day`` of the month, or ``None`` before the 1st and after its end.
    weeks: list[list[Day | None]]
    #: The first day of the previous and of the next month, when they have bookable days.
    previous: date | None
    next: date | None

    @property
    def free_days(self) -> int:
        return sum(1 for week in self.weeks for day in week if day and day.free)


@dataclass(frozen=True)
class TimeChoice:
    """A free time as a radio button: ``value`` is posted, ``label`` and ``hint`` are shown."""

    value: str
    label: str
    hint: str
    start: datetime


# -- parsing ----------------------------------------------------------------------------------

def parse_month(text) -> date | None:
    """``"2026-12"`` → ``date(2026, 12, 1)``; ``None`` for anything else."""
    match = _MONTH.match(text) if isinstance(text, str) else None
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    return date(year, month, 1) if 1 <= month <= 12 and year >= 1 else None


def parse_day(text) -> date | None:
    """``"2026-12-08"`` → that date; ``None`` for anything else (``2026-02-30`` too)."""
    match = _DAY.match(text) if isinstance(text, str) else None
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def parse_start(text) -> datetime | None:
    """An ISO 8601 instant with its UTC offset (as ``TimeChoice.value``), or ``None``."""
    if not isinstance(text, str) or not text or len(text) > _START_LENGTH:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None and value.utcoffset() is not None else None


def month_key(day: date) -> str:
    """The ``?month=`` value of the month of ``day``."""
    return f"{day.year:04d}-{day.month:02d}"


# -- the window -------------------------------------------------------------------------------

def window(office: Office, now: datetime | None = None) -> tuple[date, date]:
    """The first and the last local date that can be booked at ``office``."""
    now = now or utcnow()
    first = availability.first_bookable(office, now).astimezone(office.zone).date()
    return first, availability.last_bookable_day(office, now)


def in_window(office: Office, day: date, now: datetime | None = None) -> bool:
    first, last = window(office, now)
    return first <= day <= last


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _month_end(day: date) -> date:
    return _next_month(day) - timedelta(days=1)


def month_in_window(office: Office, month: date, now: datetime | None = None) -> bool:
    """Whether any day of ``month`` can be booked."""
    first, last = window(office, now)
    return _month_start(first) <= month <= _month_start(last)


def first_free_month(office: Office, service: Service, *, pool: str = "public",
                     now: datetime | None = None) -> date:
    """The month to show first: that of the earliest free day in the first weeks of the
    window (``AVAILABILITY_MAX_DAYS``), else the window's first month."""
    now = now or utcnow()
    first, last = window(office, now)
    span = int(current_app.config.get("AVAILABILITY_MAX_DAYS", 62))
    free = availability.days_with_free_slots(
        office, service, first, min(last, first + timedelta(days=span - 1)), pool=pool, now=now)
    return _month_start(min(free) if free else first)


# -- the month --------------------------------------------------------------------------------

def day_label(day: date, free: int) -> str:
    """«Τρίτη 8 Δεκεμβρίου, 12 ελεύθερες ώρες» / “Tuesday 8 December, 12 free times”."""
    return ngettext("%(day)s, %(num)d free time", "%(day)s, %(num)d free times", free,
                    day=format_local(day, "EEEE d MMMM"))


def weekday_headers() -> list[tuple[str, str]]:
    short = get_day_names("abbreviated", locale=get_locale())
    full = get_day_names("wide", locale=get_locale())
    return [(short[n], full[n]) for n in range(7)]


def month_grid(office: Office, service: Service, month: date, *, pool: str = "public",
               now: datetime | None = None) -> Month:
    """The month of ``month`` with each day's free start times.

    ``office`` comes from ``availability.load_office`` (rules and closures loaded).
    """
    now = now or utcnow()
    month = _month_start(month)
    end = _month_end(month)
    first, last = window(office, now)
    free = {}
    if month <= last and end >= first:
        free = availability.days_with_free_slots(office, service, max(month, first),
                                                 min(end, last), pool=pool, now=now)
    weeks: list[list[Day | None]] = []
    week: list[Day | None] = [None] * (month.isoweekday() - 1)
    day = month
    while day <= end:
        count = free.get(day, 0)
        week.append(Day(day, count, day_label(day, count) if count else ""))
        if len(week) == 7:
            weeks.append(week)
            week = []
        day += timedelta(days=1)
    if week:
        weeks.append(week + [None] * (7 - len(week)))
    previous = _month_start(month - timedelta(days=1))
    following = _next_month(month)
    return Month(
        first=month, title=format_local(month, "LLLL y"), weekdays=weekday_headers(),
        weeks=weeks,
        previous=previous if month_in_window(office, previous, now) else None,
        next=following if month_in_window(office, following, now) else None)


# -- the times of a day -----------------------------------------------------------------------

def free_times(office: Office, service: Service, day: date, *, pool: str = "public",
               now: datetime | None = None) -> list[Slot]:
    """The free slots of one local date."""
    return availability.free_slots(office, service, day, day, pool=pool, now=now)


def time_choices(slots: list[Slot], office: Office, *, with_date: bool = False
                 ) -> list[TimeChoice]:
    """Radio choices for ``slots``: the local time (and the day, ``with_date``), free seats."""
    choices = []
    for slot in slots:
        local = slot.start.astimezone(office.zone)
        clock = f"{local:%H:%M}"
        label = gettext("%(day)s at %(time)s", day=format_local(local.date(), "EEEE d MMMM"),
                        time=clock) if with_date else clock
        hint = ngettext("%(num)d place free", "%(num)d places free", slot.free)
        choices.append(TimeChoice(slot.start.isoformat(), label, hint, slot.start))
    return choices
