"""The office: where citizens are served. Every capability points at it.

An office's schedule (opening rules, closures), counters and services are
the catalog's; they are attached to ``Office`` from there (``office.rules``,
``office.closures``, ``office.counters``) so that this package imports none
of the capabilities above it.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from citizen_desk.core.content import TranslatedText, pick
from citizen_desk.core.db import UTCDateTime, utcnow
from citizen_desk.core.i18n import zone
from citizen_desk.core.versions import VERSIONED  # noqa: F401 (registers the version listener)
from citizen_desk.extensions import db


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
    #: Double opt-in: an online booking waits for the link in its mail to be opened.
    confirm_by_email: Mapped[bool] = mapped_column(Boolean, default=False,
                                                   server_default=false())
    #: Online bookings solve a proof-of-work challenge (ALTCHA) on the final submit.
    proof_of_work: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Anyone may watch the office's waiting-room display (numbers and counters only).
    public_display: Mapped[bool] = mapped_column(Boolean, default=False,
                                                 server_default=false())
    #: The walk-in queue's settings (``citizen_desk/queue/settings.py``); empty = house defaults.
    queue_settings: Mapped[dict] = mapped_column(JSON, default=dict)
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Incremented by every UPDATE and checked by it: a stale edit form cannot overwrite.
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    def display_name(self, language: str | None = None) -> str:
        return pick(self.name, language, default=self.code)

    @property
    def zone(self):
        """The office's time zone (``ZoneInfo``)."""
        return zone(self.timezone)

    def today(self) -> date:
        """The date it is now at the office."""
        return utcnow().astimezone(self.zone).date()

    def __repr__(self):
        return f"<Office {self.code}>"
