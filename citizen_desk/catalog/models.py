"""Catalog models: where citizens are served, when, and at which counter.

Services themselves (what is offered) live in ``catalog/service_models.py``;
both are importable from here.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import (Boolean, CheckConstraint, Column, Date, ForeignKey, Integer, String,
                        Table, Text, Time, UniqueConstraint, false, true)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citizen_desk.core.content import TranslatedText, pick
from citizen_desk.core.db import UTCDateTime, utcnow
from citizen_desk.extensions import db

#: The booking pools seats are split into.
POOLS = ("public", "staff", "ngo")
#: ISO weekday numbers (Monday = 1) and the short names used in catalog files.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Office(db.Model):
    """A place where citizens are served: a ΚΕΠ, a municipal office, an NGO desk."""

    __tablename__ = "office"
    __table_args__ = (
        CheckConstraint("slot_minutes > 0 AND slot_minutes <= 240", name="slot_minutes_range"),
        CheckConstraint("min_notice_hours >= 0", name="min_notice_positive"),
        CheckConstraint("max_days_ahead >= 1", name="max_days_ahead_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable identifier used by imports, URLs and staff scopes (e.g. ``ATH1``).
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    address: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    directions: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Athens",
                                          server_default="Europe/Athens")
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    #: Bookings must be made at least this many hours ahead (ZMS: from the next day).
    min_notice_hours: Mapped[int] = mapped_column(Integer, default=12, server_default="12")
    #: The furthest day ahead that can be booked.
    max_days_ahead: Mapped[int] = mapped_column(Integer, default=180, server_default="180")
    slot_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    #: Public holidays from the ``holidays`` package; ``None`` turns them off.
    holiday_country: Mapped[str | None] = mapped_column(String(2), default="GR")
    holiday_subdivision: Mapped[str | None] = mapped_column(String(10))
    notes: Mapped[str | None] = mapped_column(Text)
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rules: Mapped[list[OpeningRule]] = relationship(
        back_populates="office", cascade="all, delete-orphan",
        order_by="(OpeningRule.weekdays.desc(), OpeningRule.start_time, OpeningRule.id)")
    closures: Mapped[list[Closure]] = relationship(
        back_populates="office", cascade="all, delete-orphan",
        order_by="(Closure.start_date, Closure.start_time, Closure.id)")
    counters: Mapped[list[Counter]] = relationship(
        back_populates="office", cascade="all, delete-orphan", order_by="Counter.code")

    def display_name(self, language: str | None = None) -> str:
        return pick(self.name, language, default=self.code)

    def __repr__(self):
        return f"<Office {self.code}>"


opening_rule_service = Table(
    "opening_rule_service", db.Model.metadata,
    Column("rule_id", ForeignKey("opening_rule.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
)


class OpeningRule(db.Model):
    """A weekly session of an office: weekdays, local hours, validity and seats per pool.

    A rule with no seats in any pool is walk-in hours. A rule without
    services applies to every service the office offers.
    """

    __tablename__ = "opening_rule"
    __table_args__ = (
        CheckConstraint("weekdays > 0 AND weekdays < 128", name="weekdays_mask"),
        CheckConstraint("start_time < end_time", name="start_before_end"),
        CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="valid_range"),
        CheckConstraint("repeat_weeks >= 1 AND repeat_weeks <= 52", name="repeat_weeks_range"),
        CheckConstraint("seats_public >= 0 AND seats_staff >= 0 AND seats_ngo >= 0",
                        name="seats_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"),
                                           index=True)
    #: A bit per ISO weekday: Monday = 1, Tuesday = 2, Wednesday = 4 … Sunday = 64.
    weekdays: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    #: 1 = every week, 2 = every other week counted from ``valid_from``'s week …
    repeat_weeks: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    seats_public: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    seats_staff: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    seats_ngo: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    office: Mapped[Office] = relationship(back_populates="rules")
    services: Mapped[list["Service"]] = relationship(  # noqa: F821
        secondary=opening_rule_service, order_by="Service.code")

    @property
    def weekday_numbers(self) -> list[int]:
        """ISO weekday numbers (1–7) of this rule."""
        return [n for n in range(1, 8) if self.weekdays & (1 << (n - 1))]

    @staticmethod
    def weekday_mask(numbers) -> int:
        return sum(1 << (n - 1) for n in set(numbers))

    @property
    def seats(self) -> dict[str, int]:
        return {pool: getattr(self, f"seats_{pool}") for pool in POOLS}

    @property
    def is_walk_in(self) -> bool:
        """Walk-in hours: the office is open but nothing can be booked."""
        return not any(self.seats.values())

    def applies_to(self, service) -> bool:
        return not self.services or service in self.services

    def applies_on(self, day: date) -> bool:
        """Whether this rule opens the office on ``day`` (a local date)."""
        if day.isoweekday() not in self.weekday_numbers:
            return False
        if day < self.valid_from or (self.valid_until and day > self.valid_until):
            return False
        if self.repeat_weeks > 1:
            first_monday = self.valid_from - timedelta(days=self.valid_from.weekday())
            weeks = (day - first_monday).days // 7
            return weeks % self.repeat_weeks == 0
        return True

    def overlaps(self, other: OpeningRule) -> bool:
        """Same weekday, overlapping hours and overlapping validity (services aside)."""
        if not self.weekdays & other.weekdays:
            return False
        if not (self.start_time < other.end_time and other.start_time < self.end_time):
            return False
        far = date.max
        return (self.valid_from <= (other.valid_until or far)
                and other.valid_from <= (self.valid_until or far))

    def __repr__(self):
        return f"<OpeningRule {self.office_id} {self.weekdays} {self.start_time}-{self.end_time}>"


class Closure(db.Model):
    """Days (or part of a day) when an office is closed: a strike, works, an inventory day."""

    __tablename__ = "closure"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="date_range"),
        CheckConstraint("(start_time IS NULL AND end_time IS NULL) OR "
                        "(start_time IS NOT NULL AND end_time IS NOT NULL "
                        "AND start_time < end_time)", name="time_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"),
                                           index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    #: Both empty: the whole day(s). Both set: closed between these local times.
    start_time: Mapped[time | None] = mapped_column(Time)
    end_time: Mapped[time | None] = mapped_column(Time)
    reason: Mapped[dict] = mapped_column(TranslatedText, default=dict)

    office: Mapped[Office] = relationship(back_populates="closures")

    @property
    def whole_day(self) -> bool:
        return self.start_time is None

    def __repr__(self):
        return f"<Closure {self.office_id} {self.start_date}–{self.end_date}>"


counter_service = Table(
    "counter_service", db.Model.metadata,
    Column("counter_id", ForeignKey("counter.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
)


class Counter(db.Model):
    """A desk where a clerk calls tickets (“Θυρίδα 3”), serving some of the office's services."""

    __tablename__ = "counter"
    __table_args__ = (UniqueConstraint("office_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"),
                                           index=True)
    #: Identifies the counter within its office in catalog files (e.g. ``"3"``).
    code: Mapped[str] = mapped_column(String(16))
    label: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    office: Mapped[Office] = relationship(back_populates="counters")
    services: Mapped[list["Service"]] = relationship(  # noqa: F821
        secondary=counter_service, order_by="Service.code")

    def display_label(self, language: str | None = None) -> str:
        return pick(self.label, language, default=self.code)

    def retire(self):
        """Counters are deactivated, never deleted: tickets remember where they were called."""
        self.active = False

    def __repr__(self):
        return f"<Counter {self.office_id}/{self.code}>"


from citizen_desk.catalog.service_models import (  # noqa: E402,F401
    Category, Service, ServiceSearchName, ServiceSearchWord, service_office)
from citizen_desk.catalog.revision import CatalogRevision  # noqa: E402,F401
