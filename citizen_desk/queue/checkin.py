"""Checking in an appointment at the kiosk or the desk: the booking becomes a ticket.

The citizen types the code from their confirmation (``K7M-4QX``) or scans a
QR code that holds it — a scanner types like a keyboard, and a scanned
manage link (``…/appointments/K7M4QX/…``) is read for its code. Within the
office's window (default 30 minutes before to 15 minutes after the start)
the appointment becomes an ``appointment`` ticket, called first once due
(``policy.py``), and the appointment is marked attended. Too early or too
late is a clear refusal; when late, the kiosk offers a walk-in ticket.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from citizen_desk.booking import operations as booking
from citizen_desk.booking.models import Appointment, AppointmentStatus, normalise_code
from citizen_desk.core.db import utcnow
from citizen_desk.core.errors import Conflict
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from citizen_desk.queue import operations
from citizen_desk.queue.models import Ticket, TicketKind
from citizen_desk.queue.settings import QueueSettings

_LINK_CODE = re.compile(r"/appointments/([A-Za-z0-9-]{6,8})(?:[/?#]|$)")


class TooEarly(Conflict):
    """Checked in before the window opens; ``opens_at`` says when it does."""

    def __init__(self, message, opens_at: datetime):
        super().__init__(message)
        self.opens_at = opens_at


class TooLate(Conflict):
    """The window closed: the appointment's time has passed. A walk-in ticket may be offered."""


def code_from_input(text) -> str | None:
    """The appointment code in what was typed or scanned (a code or a manage link)."""
    if not isinstance(text, str) or len(text) > 500:
        return None
    found = _LINK_CODE.search(text)
    return normalise_code(found.group(1) if found else text.strip())


def find(office, text) -> Appointment | None:
    """The office's appointment with the typed or scanned code."""
    code = code_from_input(text)
    if code is None:
        return None
    return db.session.scalar(select(Appointment).where(
        Appointment.code == code, Appointment.office_id == office.id))


def check_in(office, text, *, language: str | None = None, idempotency_key: str | None = None,
             issued_by=None, now: datetime | None = None,
             notify_phone: str | None = None, notify_email: str | None = None
             ) -> tuple[Ticket, bool]:
    """The ticket for the appointment whose code is ``text``; ``(ticket, created)``.

    Checking in twice gives the first ticket again. Refusals change nothing:
    an unknown code, another office's, a cancelled one (``ValidationError``),
    before the window (``TooEarly``), after it (``TooLate``).
    """
    appointment = find(office, text)
    if appointment is not None:
        existing = db.session.scalar(select(Ticket).where(Ticket.appointment_id == appointment.id))
        if existing is not None:
            return existing, False
    if appointment is None or appointment.status not in (AppointmentStatus.confirmed,):
        raise ValidationError.at("appointment_code", _l(
            "We cannot find a booking with this code for today at this office. Check the code "
            "in your confirmation."))
    now = now or utcnow()
    settings = QueueSettings.of(office)
    opens_at = appointment.start_dt - timedelta(minutes=settings.checkin_early_minutes)
    closes_at = appointment.start_dt + timedelta(minutes=settings.checkin_late_minutes)
    if now < opens_at:
        raise TooEarly(_l("It is too early to check in: check-in opens at %(time)s.",
                          time=opens_at.astimezone(office.zone).strftime("%H:%M")), opens_at)
    if now > closes_at:
        raise TooLate(_l("Your appointment time has passed, so it cannot be checked in. You "
                         "can take a ticket and wait your turn."))
    ticket, created = operations.issue(
        office, appointment.service, kind=TicketKind.appointment, appointment=appointment,
        language=language or appointment.language or "el", needs=_needs(appointment),
        idempotency_key=idempotency_key, issued_by=issued_by,
        notify_phone=notify_phone, notify_email=notify_email)
    if created:
        booking.checked_in(appointment)
    return ticket, created


def _needs(appointment: Appointment) -> dict:
    """The appointment's needs, as a ticket's (the clerk sees the interpreter flag)."""
    needs = dict(getattr(appointment, "needs", None) or {})
    return {"interpreter": needs.get("interpreter") or None,
            "wheelchair": needs.get("wheelchair") is True,
            "sign_language": needs.get("sign_language") is True}
