"""Offices with bookable hours, dates safely in the future, and a booked appointment."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from citizen_desk.booking import availability
from citizen_desk.core.db import utcnow
from tests.factories import add_rule, create_office, create_service


def next_weekday(iso_weekday: int, weeks_ahead: int = 1) -> date:
    """A date with that ISO weekday, at least a week from today (beyond any notice)."""
    today = utcnow().date()
    day = today + timedelta(days=7 * weeks_ahead)
    return day + timedelta(days=(iso_weekday - day.isoweekday()) % 7)


def at(office, day: date, hour: int, minute: int = 0) -> datetime:
    """The aware instant of a local wall-clock time at the office."""
    return datetime.combine(day, time(hour, minute)).replace(tzinfo=office.zone)


@pytest.fixture
def bookable(app_ctx):
    """An office open Mon–Fri 09:00–12:00 with 3 public and 1 staff seat per 15-minute
    slot, no public holidays, and a 15-minute service offered there."""
    office = create_office(holiday_country=None, min_notice_hours=0)
    add_rule(office, start_time=time(9), end_time=time(12),
             seats={"public": 3, "staff": 1})
    service = create_service(offices=[office], duration_minutes=15)
    office = availability.load_office(office.id)
    return office, service
