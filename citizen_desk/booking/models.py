"""Appointments and the seat ledger that makes overbooking impossible.

How the database enforces the seat limit
----------------------------------------
An opening rule offers ``seats_<pool>`` seats in every slot of its session.
Each taken seat of a slot is one ``SeatClaim`` row, numbered ``seat_no``
from 0 to the seats the rule gives, under the unique constraint
``(office_id, lane, pool, start_dt, seat_no)``. Booking picks a seat number
that is free in every slot the service needs and inserts those rows; two
requests that race for the same seat collide on the constraint — the loser's
insert fails (on PostgreSQL it waits for the winner's commit first) and it
tries the next seat, or answers "just taken" when none is left. No count in
Python decides anything, so no interleaving can overbook. A service longer
than one slot keeps the same ``seat_no`` across its consecutive slots: it
occupies one seat.

The *lane* keeps apart the seats of opening rules that overlap in time,
which the catalog allows only for disjoint sets of services: a rule for
every service has lane 0, a rule for some services the smallest of their
ids. A rule edited or replaced for the same services keeps its lane, so the
seats already taken stay counted.

Holds, pending double opt-in bookings and seats released by a cancellation
are claims that expire (``expires_dt``): counted as taken until then, free
after it, with no job needed for correctness. Whoever wants a seat deletes
the expired claims in its way before inserting its own.

The per-citizen cap works the same way: ``BookingCap`` rows numbered 0 to
N−1 per service, pool and citizen key (e-mail, phone, identifier) under a
unique constraint, deleted when the appointment is cancelled and ignored once
it is over.
"""
from __future__ import annotations

import enum
import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import (JSON, CheckConstraint, Enum, ForeignKey, Index, Integer, String,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citizen_desk.catalog.models import POOLS, Service
from citizen_desk.core.db import UTCDateTime, utcnow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office

#: Appointment codes: no 0/O, no 1/I — read out over the phone without ambiguity.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 6


class AppointmentStatus(str, enum.Enum):
    #: Booked, waiting for the citizen to open the link in the confirmation mail.
    pending = "pending"
    confirmed = "confirmed"
    cancelled = "cancelled"
    #: A pending booking whose link was not opened in time; its seat returned.
    expired = "expired"
    attended = "attended"
    no_show = "no_show"


#: Statuses in which an appointment holds its seat.
LIVE_STATUSES = (AppointmentStatus.pending, AppointmentStatus.confirmed)


class Channel(str, enum.Enum):
    online = "online"
    phone = "phone"
    counter = "counter"
    ngo = "ngo"
    api = "api"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str | None) -> str | None:
    """``"k7m-4qx"`` → ``"K7M4QX"``; ``None`` when it cannot be a code."""
    if not isinstance(text, str) or len(text) > 20:
        return None
    code = "".join(text.split()).replace("-", "").upper()
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Appointment(db.Model):
    """A citizen's booked time at an office for one service."""

    __tablename__ = "appointment"
    __table_args__ = (
        CheckConstraint("end_dt > start_dt", name="end_after_start"),
        CheckConstraint("pool IN ('public', 'staff', 'ngo')", name="pool_known"),
        Index("ix_appointment_office_id_start_dt", "office_id", "start_dt"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The calendar UID: stable across reschedules.
    uid: Mapped[str] = mapped_column(String(64), unique=True,
                                     default=lambda: f"{uuid.uuid4()}@citizen-desk")
    #: The short human code (``K7M4QX``); alone it reveals nothing.
    code: Mapped[str] = mapped_column(String(CODE_LENGTH), unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    pool: Mapped[str] = mapped_column(String(8), default="public")
    lane: Mapped[int] = mapped_column(Integer, default=0)
    seat_no: Mapped[int] = mapped_column(Integer, default=0)
    start_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    end_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[AppointmentStatus] = mapped_column(
        Enum(AppointmentStatus, name="appointment_status", native_enum=False, length=16,
                values_callable=lambda e: [m.value for m in e]),
        default=AppointmentStatus.confirmed)
    channel: Mapped[Channel] = mapped_column(
        Enum(Channel, name="appointment_channel", native_enum=False, length=16,
                values_callable=lambda e: [m.value for m in e]),
        default=Channel.online)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(8), default="el")
    #: ``{"amka": "…", "afm": "…"}``: what the service requires, normalised.
    identifiers: Mapped[dict] = mapped_column(JSON, default=dict)
    #: ``{"interpreter": "ar" | None, "wheelchair": bool, "sign_language": bool}``
    needs: Mapped[dict] = mapped_column(JSON, default=dict)
    booked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True)
    #: A pending booking is dropped when it is not confirmed by then.
    confirm_by_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The ``.ics`` SEQUENCE: incremented by every reschedule and by the cancellation.
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cancelled_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    reminder_sent_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When it was marked attended or no-show.
    closed_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    office: Mapped[Office] = relationship()
    service: Mapped[Service] = relationship()

    @property
    def display_code(self) -> str:
        return f"{self.code[:3]}-{self.code[3:]}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def local_start(self) -> datetime:
        return self.start_dt.astimezone(self.office.zone)

    @property
    def local_end(self) -> datetime:
        return self.end_dt.astimezone(self.office.zone)

    def can_change(self, now: datetime | None = None) -> bool:
        """Whether the citizen may still cancel or reschedule (before it starts)."""
        return self.is_live and self.start_dt > (now or utcnow())

    def can_close(self, now: datetime | None = None) -> bool:
        """Whether staff may mark it attended or no-show (from its start on)."""
        return (self.status == AppointmentStatus.confirmed
                and self.start_dt <= (now or utcnow()) + timedelta(hours=1))

    def __repr__(self):
        return f"<Appointment {self.code} {self.status.value}>"


class AppointmentToken(db.Model):
    """A manage link's secret, stored as its SHA-256 (the link holds the token itself).

    An appointment may have several: the confirmation mail's, and one per
    later mail that carries a link (a reminder cannot recover the first).
    """

    __tablename__ = "appointment_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointment.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    appointment: Mapped[Appointment] = relationship()

    @staticmethod
    def issue(appointment: Appointment) -> str:
        """Add a token to ``appointment`` and return it (256 bits, URL-safe)."""
        token = secrets.token_urlsafe(32)
        db.session.add(AppointmentToken(appointment=appointment, token_hash=hash_token(token)))
        return token


class SeatClaim(db.Model):
    """One taken seat of one slot (see the module's docstring)."""

    __tablename__ = "seat_claim"
    __table_args__ = (
        UniqueConstraint("office_id", "lane", "pool", "start_dt", "seat_no",
                         name="uq_seat_claim_seat"),
        CheckConstraint("seat_no >= 0", name="seat_no_positive"),
        CheckConstraint("pool IN ('public', 'staff', 'ngo')", name="pool_known"),
        Index("ix_seat_claim_office_pool_start", "office_id", "pool", "start_dt"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    lane: Mapped[int] = mapped_column(Integer, default=0)
    pool: Mapped[str] = mapped_column(String(8))
    #: The slot's start (UTC).
    start_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    seat_no: Mapped[int] = mapped_column(Integer)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL"), index=True)
    #: A hold's key (kept in the citizen's session) while the seat is only held.
    hold_key: Mapped[str | None] = mapped_column(String(64), index=True)
    #: Counted as taken until then; ``None``: for as long as the appointment lives.
    expires_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    appointment: Mapped[Appointment | None] = relationship()


class BookingCap(db.Model):
    """One of a citizen's N allowed future bookings of a service in a pool."""

    __tablename__ = "booking_cap"
    __table_args__ = (
        UniqueConstraint("service_id", "pool", "citizen_key", "slot_no",
                         name="uq_booking_cap_slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    pool: Mapped[str] = mapped_column(String(8))
    #: ``email:…``, ``phone:+30…``, ``amka:…`` (see ``identity.citizen_keys``).
    citizen_key: Mapped[str] = mapped_column(String(300))
    slot_no: Mapped[int] = mapped_column(Integer)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointment.id", ondelete="CASCADE"), index=True)
    #: The appointment's end: after it the cap no longer counts it.
    until_dt: Mapped[datetime] = mapped_column(UTCDateTime)


assert set(POOLS) == {"public", "staff", "ngo"}
