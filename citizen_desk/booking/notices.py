"""What the citizen is told after each change: mails through the outbox, in their language.

The operations call ``booked``, ``confirmed``, ``rescheduled`` and
``cancelled`` inside the unit of work; ``send_reminders`` is run by ``flask
notify reminders``. Each mail is written to the outbox in the change's own
transaction (``core/outbox.queue_mail``) and sent only after its commit, so
a booking that rolls back never mails anyone. Nothing is sent to an
appointment without an e-mail address (a phone or counter booking).

Every mail is HTML and plain text in the booking's language (Flask-Babel's
``force_locale``), with the appointment's ``.ics`` attached
(``calendar_file``: ``METHOD:REQUEST``, or ``CANCEL`` once it is cancelled)
and, while it can still be changed, the manage link. The link's secret is
known only where it was made: the booking passes its token along; a
reminder or a change made by staff issues a new one
(``AppointmentToken.issue``; an appointment may have several).

Links are absolute: from ``PUBLIC_URL`` when it is set (always set it in
production — a command has no request to take the host from, and a request's
``Host`` header is the client's to choose), else from the current request.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from citizen_desk.booking import calendar_file
from citizen_desk.booking.models import Appointment, AppointmentStatus, AppointmentToken
from citizen_desk.core.content import pick
from citizen_desk.core.db import utcnow
from citizen_desk.core.i18n import available_languages, format_local
from citizen_desk.core.outbox import Attachment, queue_mail
from citizen_desk.extensions import db

log = logging.getLogger(__name__)


# -- hooks the operations call ---------------------------------------------------------------

def booked(appointment: Appointment, token: str, manage_url=None):
    """The booking's mail: its details and manage link; for a pending one, the confirm link."""
    if not appointment.email:
        return
    extra = {}
    if appointment.status == AppointmentStatus.pending:
        extra = {"confirm_url": absolute_url("booking_manage.confirm", code=appointment.code,
                                             token=token),
                 "confirm_by": appointment.confirm_by_dt}
    _send(appointment, "booked", _link(appointment, token, manage_url), **extra)


def confirmed(appointment: Appointment):
    """The double opt-in link was opened: the appointment stands."""
    if appointment.email:
        _send(appointment, "confirmed", _link(appointment, None, None))


def rescheduled(appointment: Appointment, token: str | None = None, manage_url=None):
    """The appointment moved: its new time (``token``: the link the citizen used, if any)."""
    if appointment.email:
        _send(appointment, "rescheduled", _link(appointment, token, manage_url))


def cancelled(appointment: Appointment, *, by_staff: bool = False):
    """The appointment is cancelled (by the citizen, or by the office with its reason)."""
    if appointment.email:
        _send(appointment, "cancelled", None, by_staff=by_staff,
              reason=appointment.cancel_reason if by_staff else None,
              book_again_url=absolute_url("catalog.service", code=appointment.service.code))


def reminder(appointment: Appointment, *, send_after_commit: bool = True):
    """The day before: when, where and what to bring, and the manage link."""
    if appointment.email:
        return _send(appointment, "reminder", _link(appointment, None, None),
                     send_after_commit=send_after_commit)
    return None


# -- reminders -------------------------------------------------------------------------------

def due_reminders(now: datetime | None = None) -> list[Appointment]:
    """Confirmed appointments with an e-mail, tomorrow in their office's zone, not yet reminded."""
    now = now or utcnow()
    # Tomorrow is a different UTC window in each zone: take every candidate of the next
    # three days (any zone's tomorrow lies inside) and keep those on their office's tomorrow.
    candidates = db.session.scalars(select(Appointment).where(
        Appointment.status == AppointmentStatus.confirmed, Appointment.email.is_not(None),
        Appointment.reminder_sent_dt.is_(None), Appointment.start_dt > now,
        Appointment.start_dt < now + timedelta(days=3)).order_by(Appointment.start_dt))
    return [a for a in candidates
            if a.local_start.date() == now.astimezone(a.office.zone).date() + timedelta(days=1)]


def send_reminders(now: datetime | None = None) -> list[int]:
    """Queue tomorrow's reminders; the ids of the outbox mails written.

    Each appointment is claimed by a guarded ``UPDATE … WHERE reminder_sent_dt
    IS NULL`` before its mail is queued in the same transaction: a second run,
    or one running at the same time (its UPDATE waits for this transaction and
    then finds the column set), sends nothing again. The mails wait for the
    caller to send them after the commit, over one SMTP connection.
    """
    now = now or utcnow()
    mail_ids = []
    for appointment in due_reminders(now):
        claimed = db.session.execute(
            update(Appointment)
            .where(Appointment.id == appointment.id, Appointment.reminder_sent_dt.is_(None),
                   Appointment.status == AppointmentStatus.confirmed)
            .values(reminder_sent_dt=now)
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue  # another run reminded it (or it was cancelled) meanwhile
        db.session.expire(appointment, ["reminder_sent_dt"])
        mail = reminder(appointment, send_after_commit=False)
        mail_ids.append(mail.id)
    return mail_ids


# -- building the mails ----------------------------------------------------------------------

def _subject(kind: str, pending: bool, **values) -> str:
    """The subject of each mail, with the service and the time in it."""
    if kind == "booked" and pending:
        return _("Confirm your appointment: %(service)s, %(when)s", **values)
    return {
        "booked": lambda: _("Appointment booked: %(service)s, %(when)s", **values),
        "confirmed": lambda: _("Appointment confirmed: %(service)s, %(when)s", **values),
        "rescheduled": lambda: _("Appointment moved: %(service)s, %(when)s", **values),
        "cancelled": lambda: _("Appointment cancelled: %(service)s, %(when)s", **values),
        "reminder": lambda: _("Reminder: your appointment tomorrow, %(service)s, %(when)s",
                              **values),
    }[kind]()


def mail_language(appointment: Appointment) -> str:
    """The booking's language if the product speaks it, else the default one."""
    if appointment.language in available_languages():
        return appointment.language
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _send(appointment: Appointment, kind: str, manage_url: str | None, *,
          send_after_commit: bool = True, **extra):
    language = mail_language(appointment)
    office, service = appointment.office, appointment.service
    tz = office.timezone
    with force_locale(language):
        context = {"confirm_url": None, "confirm_by": None, "reason": None, "by_staff": False,
                   "book_again_url": None, **extra}
        context.update(
            appointment=appointment, kind=kind, language=language, manage_url=manage_url,
            service_name=service.display_name(language),
            office_name=office.display_name(language),
            address=pick(office.address, language),
            directions=pick(office.directions, language),
            when=format_local(appointment.start_dt, "full_time", tz),
            until=format_local(appointment.end_dt, "time", tz),
            documents=[text for text in service.document_list(language) or [] if text])
        if context["confirm_by"] is not None:
            context["confirm_by"] = format_local(context["confirm_by"], "full_time", tz)
        subject = _subject(kind, appointment.status == AppointmentStatus.pending,
                           service=context["service_name"], when=context["when"])
        text = render_template(f"booking/mail/{kind}.txt", **context)
        html = render_template(f"booking/mail/{kind}.html", **context)
        ics = calendar_file.ics_for(appointment, language=language, manage_url=manage_url)
    attachment = Attachment(calendar_file.filename(appointment),
                            calendar_file.content_type(appointment), ics)
    return queue_mail(appointment.email, subject, text, html, [attachment],
                      send_after_commit=send_after_commit)


def _link(appointment: Appointment, token: str | None, manage_url) -> str | None:
    """The manage link for the mail, or ``None`` once nothing can be done with it."""
    if not appointment.is_live:
        return None
    if token is None:
        token = AppointmentToken.issue(appointment)
    if manage_url is not None:
        return manage_url(appointment.code, token)
    return absolute_url("booking_manage.show", code=appointment.code, token=token)


def absolute_url(endpoint: str, **values) -> str:
    """An absolute URL for a mail: under ``PUBLIC_URL``, else the current request's host."""
    base = current_app.config.get("PUBLIC_URL")
    if not base and has_request_context():
        return url_for(endpoint, _external=True, **values)
    if not base:
        server = current_app.config.get("SERVER_NAME")
        scheme = current_app.config.get("PREFERRED_URL_SCHEME", "http")
        base = f"{scheme}://{server}" if server else "http://localhost"
        if not server:
            log.warning("PUBLIC_URL is not set: links in mails point to %s", base)
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/",
                                       url_scheme=parts.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)
