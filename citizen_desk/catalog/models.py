"""Catalog models: the services offered, and when and at which counter each office serves them.

A service is never deleted (bookings and tickets point to it): it is
retired. Offices themselves live in ``citizen_desk/offices``; their rules,
closures and counters are attached to them from here. The search words of
services are the search package's (``catalog/search/models.py``).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import (JSON, Boolean, CheckConstraint, Column, Date, ForeignKey, Integer, String,
                        Table, Time, UniqueConstraint, false, true)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from citizen_desk.core.content import TranslatedText, pick
from citizen_desk.core.db import UTCDateTime, utcnow
from citizen_desk.core.versions import VERSIONED
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office

#: The booking pools seats are split into.
POOLS = ("public", "staff", "ngo")
#: ISO weekday numbers (Monday = 1) and the short names used in catalog files.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Personal fields a service may require from the citizen who books it.
PERSONAL_FIELDS = ("amka", "afm", "id_number", "birth_date", "address", "phone", "email")
PERSONAL_FIELD_LABELS = {
    "amka": _l("Social security number (AMKA)"),
    "afm": _l("Tax identification number (AFM)"),
    "id_number": _l("Identity card or passport number"),
    "birth_date": _l("Date of birth"),
    "address": _l("Home address"),
    "phone": _l("Phone number"),
    "email": _l("Email address"),
}

service_office = Table(
    "service_office", db.Model.metadata,
    Column("service_id", ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
    Column("office_id", ForeignKey("office.id", ondelete="CASCADE"), primary_key=True),
)


class Category(db.Model):
    """A group of services on the catalog page (“Πολιτική κατάσταση”, “Ασφάλιση” …)."""

    __tablename__ = "service_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def display_name(self, language: str | None = None) -> str:
        return pick(self.name, language, default=self.code)

    def __repr__(self):
        return f"<Category {self.code}>"


class Service(db.Model):
    """A procedure a citizen can carry out: a certificate, an authorisation, a registration."""

    __tablename__ = "service"
    __table_args__ = (
        CheckConstraint("duration_minutes > 0 AND duration_minutes <= 480",
                        name="duration_range"),
        CheckConstraint("length(ticket_prefix) BETWEEN 1 AND 2", name="ticket_prefix_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    #: The letters before ticket numbers (``A`` → ``A001``); unique within an office.
    ticket_prefix: Mapped[str] = mapped_column(String(2))
    duration_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_category.id", ondelete="SET NULL"), index=True)
    bookable_online: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    walk_in: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    #: Codes from ``PERSONAL_FIELDS`` the citizen must give (e.g. ``["amka"]``).
    required_fields: Mapped[list] = mapped_column(JSON, default=list)
    name: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    summary: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    description: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    #: ``{language: [document, …]}`` — the checklist of what to bring.
    documents: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    fees: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    #: ``{language: url}`` of the official procedure page (e.g. on gov.gr).
    link: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    #: ``{language: [word, …]}`` other words people search with.
    synonyms: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Incremented by every UPDATE and checked by it: a stale edit form cannot overwrite.
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    category: Mapped[Category | None] = relationship()
    offices: Mapped[list[Office]] = relationship(secondary=service_office,
                                                 order_by=Office.code, info=VERSIONED)

    def display_name(self, language: str | None = None) -> str:
        return pick(self.name, language, default=self.code)

    def text(self, field: str, language: str | None = None) -> str:
        return pick(getattr(self, field), language)

    def document_list(self, language: str | None = None) -> list[str]:
        return pick(self.documents, language, default=[]) or []

    @property
    def languages(self) -> list[str]:
        return sorted(self.name)

    def retire(self):
        """Hide the service from citizens; bookings and tickets keep pointing to it."""
        self.retired = True

    def __repr__(self):
        return f"<Service {self.code}>"


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
    #: Incremented by every UPDATE and checked by it: a stale edit form cannot overwrite.
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    office: Mapped[Office] = relationship(backref=backref(
        "rules", cascade="all, delete-orphan",
        order_by=lambda: (OpeningRule.weekdays.desc(), OpeningRule.start_time, OpeningRule.id)))
    services: Mapped[list[Service]] = relationship(secondary=opening_rule_service,
                                                   order_by=Service.code, info=VERSIONED)

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
    #: Incremented by every UPDATE and checked by it: a stale edit form cannot overwrite.
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    office: Mapped[Office] = relationship(backref=backref(
        "closures", cascade="all, delete-orphan",
        order_by=lambda: (Closure.start_date, Closure.start_time, Closure.id)))

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
    #: Incremented by every UPDATE and checked by it: a stale edit form cannot overwrite.
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    office: Mapped[Office] = relationship(backref=backref(
        "counters", cascade="all, delete-orphan", order_by=lambda: Counter.code))
    services: Mapped[list[Service]] = relationship(secondary=counter_service,
                                                   order_by=Service.code, info=VERSIONED)

    def display_label(self, language: str | None = None) -> str:
        return pick(self.label, language, default=self.code)

    def retire(self):
        """Counters are deactivated, never deleted: tickets remember where they were called."""
        self.active = False

    def __repr__(self):
        return f"<Counter {self.office_id}/{self.code}>"
