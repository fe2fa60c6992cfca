"""Tickets, their per-day numbering and the clerks at the counters.

Why numbers never repeat
------------------------
A ticket's number (``A001``) comes from the ``TicketSequence`` row of its
office, prefix and office-local day: one atomic ``INSERT … ON CONFLICT DO
UPDATE SET last = last + 1 RETURNING last``. Two kiosks issuing at the same
instant are serialised on that row by the database (PostgreSQL's row lock,
SQLite's single writer), so each gets its own number and none is skipped;
``max(seq) + 1`` in Python would hand out duplicates (DESIGN.md, "Known
traps"). A new day is a new row, so numbering restarts at 1.

Why a ticket is never called twice
----------------------------------
Every transition is a guarded ``UPDATE ticket SET status = … WHERE id = :id
AND status = :expected`` whose row count says whether this caller won
(``operations.py``). Whatever the interleaving, only one caller moves a
waiting ticket to called.
"""
from __future__ import annotations

import enum
import secrets
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (JSON, Boolean, CheckConstraint, Date, Enum, ForeignKey, Index, Integer,
                        String, UniqueConstraint, and_, false, or_, select)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citizen_desk.booking.models import Appointment
from citizen_desk.catalog.models import Counter, Service, counter_service
from citizen_desk.core.db import UTCDateTime, utcnow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office

#: The default priority classes (as Greek offices give priority): code → label.
PRIORITY_CLASSES = {
    "disability": _l("Person with a disability"),
    "pregnancy": _l("Pregnant woman"),
    "senior": _l("Person over 65"),
}


class TicketStatus(str, enum.Enum):
    waiting = "waiting"
    called = "called"
    serving = "serving"
    done = "done"
    no_show = "no_show"
    #: Only in events: a transferred ticket waits again, for its new service or counter.
    transferred = "transferred"
    cancelled = "cancelled"
    #: Still waiting when the day ended.
    expired = "expired"


#: Statuses a ticket never leaves.
FINAL_STATUSES = (TicketStatus.done, TicketStatus.no_show, TicketStatus.cancelled,
                  TicketStatus.expired)


class TicketKind(str, enum.Enum):
    walk_in = "walk_in"
    #: An appointment checked in at the kiosk or the desk.
    appointment = "appointment"
    #: Issued by staff at the desk.
    staff = "staff"


def new_public_id() -> str:
    """The tracking page's id: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def _enum(cls, name):
    return Enum(cls, name=name, native_enum=False, length=16,
                values_callable=lambda e: [m.value for m in e])


class Ticket(db.Model):
    """A citizen's place in an office's queue for one service."""

    __tablename__ = "ticket"
    __table_args__ = (
        UniqueConstraint("office_id", "idempotency_key", name="uq_ticket_office_idempotency"),
        UniqueConstraint("office_id", "day", "number", name="uq_ticket_office_day_number"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        CheckConstraint("recalls >= 0", name="recalls_positive"),
        CheckConstraint("length(prefix) BETWEEN 1 AND 2", name="prefix_length"),
        Index("ix_ticket_office_status_service", "office_id", "status", "service_id"),
        Index("ix_ticket_office_day_status", "office_id", "day", "status"),
        # The estimate's median service time reads the last hour's finished tickets: without
        # it, every ticket issued read all the service's tickets ever served (24,000 after
        # three months: 10 ms a ticket, and growing).
        Index("ix_ticket_office_service_finished", "office_id", "service_id", "finished_dt"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The tracking page's unguessable id (the QR code's link).
    public_id: Mapped[str] = mapped_column(String(43), unique=True, default=new_public_id)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    #: Where it was last called (or the counter it was transferred to).
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counter.id", ondelete="SET NULL"),
                                                   index=True)
    #: ``A001``: the prefix and the day's sequence number, three digits or more.
    number: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(2))
    seq: Mapped[int] = mapped_column(Integer)
    #: The office-local date it was issued.
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[TicketKind] = mapped_column(_enum(TicketKind, "ticket_kind"),
                                             default=TicketKind.walk_in)
    #: A code of ``PRIORITY_CLASSES`` or ``None``.
    priority: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8), default="el")
    #: ``{"interpreter": "ar" | None, "wheelchair": bool, "sign_language": bool}``
    needs: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus, "ticket_status"),
                                                 default=TicketStatus.waiting)
    #: Kept on transfer: the citizen does not queue again from the end.
    issued_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    called_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    serving_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recalls: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: One ticket per appointment (its check-in).
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL"), unique=True)
    called_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"))
    #: A short outcome category code; never free text.
    outcome: Mapped[str | None] = mapped_column(String(32))
    #: The kiosk's ``Idempotency-Key``: the same key at the same office is the same ticket.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    #: "Leave and come back": where to tell the citizen their turn nears (personal data,
    #: erased at day end by ``close_day``). E.164 phone, e-mail address.
    notify_phone: Mapped[str | None] = mapped_column(String(20))
    notify_email: Mapped[str | None] = mapped_column(String(254))
    #: Set once the "your turn nears" notice went out (a guarded UPDATE, so it goes once).
    near_notified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    office: Mapped[Office] = relationship()
    service: Mapped[Service] = relationship()
    counter: Mapped[Counter | None] = relationship()
    appointment: Mapped[Appointment | None] = relationship()

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def __repr__(self):
        return f"<Ticket {self.number} {self.day} {self.status.value}>"


def servable_by(counter_id):
    """Which tickets a counter may serve (a condition): those for one of its services not sent
    to a particular counter, and those transferred to it. ``counter_id``: an id or a
    ``bindparam``."""
    its_services = select(counter_service.c.service_id).where(
        counter_service.c.counter_id == counter_id)
    return or_(and_(Ticket.counter_id.is_(None), Ticket.service_id.in_(its_services)),
               Ticket.counter_id == counter_id)


class TicketSequence(db.Model):
    """The last number handed out for an office, prefix and local day."""

    __tablename__ = "ticket_sequence"
    __table_args__ = (CheckConstraint("last >= 0", name="last_positive"),)

    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"),
                                           primary_key=True)
    prefix: Mapped[str] = mapped_column(String(2), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class CounterSession(db.Model):
    """The clerk who holds a counter now: one per counter."""

    __tablename__ = "counter_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counter.id", ondelete="CASCADE"),
                                            unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"),
                                         index=True)
    started_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    counter: Mapped[Counter] = relationship()
