"""An office's calendar: public holidays, its own closures, and its sessions on a given day.

Booking uses ``closed_days`` and ``sessions_on`` to build slots; the office
page uses them to show opening hours and upcoming closures. All dates and
times here are local to the office.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from functools import lru_cache

import holidays as holidays_lib

from citizen_desk.catalog.models import OpeningRule
from citizen_desk.offices.models import Office

#: How far ahead an office's page lists closures and holidays.
UPCOMING_DAYS = 90


@dataclass(frozen=True)
class ClosedDay:
    """A local date on which the office is closed, wholly or between two times."""

    day: date
    #: ``{language: text}`` (closures) — holidays carry their name in Greek and English.
    reason: dict
    holiday: bool = False
    start_time: time | None = None
    end_time: time | None = None

    @property
    def whole_day(self) -> bool:
        return self.start_time is None


def supported_countries() -> dict[str, list[str]]:
    """Country codes the ``holidays`` package knows, with their subdivisions."""
    return holidays_lib.list_supported_countries()


@lru_cache(maxsize=64)
def _holidays(country: str, subdivision: str | None, year: int, language: str) -> dict:
    try:
        calendar = holidays_lib.country_holidays(country, subdiv=subdivision, years=year,
                                                 language=language)
    except NotImplementedError:
        return {}
    return dict(calendar)


def public_holidays(office: Office, start: date, end: date) -> dict[date, dict]:
    """``{date: {"el": name, "en": name}}`` of the office's public holidays in [start, end]."""
    if not office.holiday_country:
        return {}
    found: dict[date, dict] = {}
    for year in range(start.year, end.year + 1):
        for language, code in (("el", "el"), ("en", "en_US")):
            for day, name in _holidays(office.holiday_country, office.holiday_subdivision,
                                       year, code).items():
                if start <= day <= end:
                    found.setdefault(day, {})[language] = name
    return found


def closed_days(office: Office, start: date, end: date) -> list[ClosedDay]:
    """Every day in [start, end] on which ``office`` is closed, wholly or in part, by date.

    Public holidays close the whole day; a closure may close part of a day.
    """
    result = [ClosedDay(day, reason, holiday=True)
              for day, reason in public_holidays(office, start, end).items()]
    for closure in office.closures:
        day = max(closure.start_date, start)
        while day <= min(closure.end_date, end):
            result.append(ClosedDay(day, dict(closure.reason), start_time=closure.start_time,
                                    end_time=closure.end_time))
            day += timedelta(days=1)
    return sorted(result, key=lambda c: (c.day, c.start_time or time.min, not c.holiday))


def is_closed_all_day(office: Office, day: date) -> bool:
    return any(c.whole_day for c in closed_days(office, day, day))


def sessions_on(office: Office, day: date, service=None) -> list[OpeningRule]:
    """The rules that open ``office`` on ``day`` (for ``service`` if given), by start time.

    Whole-day closures and holidays leave none; part-day closures are left
    to the caller, who cuts slots around them.
    """
    if is_closed_all_day(office, day):
        return []
    rules = [rule for rule in office.rules if rule.applies_on(day)
             and (service is None or rule.applies_to(service))]
    return sorted(rules, key=lambda rule: rule.start_time)


def weekly_hours(office: Office, today: date) -> dict[int, list[OpeningRule]]:
    """``{iso_weekday: [rule, …]}`` of the rules in force today or later, for the office page."""
    week: dict[int, list[OpeningRule]] = {n: [] for n in range(1, 8)}
    for rule in office.rules:
        if rule.valid_until and rule.valid_until < today:
            continue
        for number in rule.weekday_numbers:
            week[number].append(rule)
    for rules in week.values():
        rules.sort(key=lambda rule: (rule.start_time, rule.valid_from))
    return week
