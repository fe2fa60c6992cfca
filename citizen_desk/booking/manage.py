"""The manage link's pages: see an appointment, cancel it, move it, get its ``.ics``, confirm it.

The link in the mails is ``/appointments/<code>/<token>``. Opening it checks
the token, keeps ``code → token`` in the visitor's session (the signed
cookie) and redirects to ``/appointments/<code>``; every later page finds
the token there. So the secret leaves the address bar at once: it is not
in the browser's history of the pages that follow, in their language
switcher's links, in a screenshot or a shared screen, nor in a Referer
(besides, the site's ``Referrer-Policy`` sends no path to other sites).
Nothing is lost by it: the POST forms need the session cookie anyway, for
their CSRF token. A session keeps the last few links it opened.

An unknown code, a wrong token, another booking's code with this token, or a
session that never opened the link all get the same 404. The look-ups that
take a token (the link, the confirmation link, the ``.ics`` with ``?token=``)
count against the address's look-up rate limit (``limits.lookup``).

The confirmation link of a double opt-in booking,
``/appointments/<code>/<token>/confirm``, shows the appointment with a
button and the POST confirms it: mail scanners open links by themselves,
and a GET that confirmed would confirm for them.

A cancelled, expired or past appointment shows its state and no actions.
Every answer is ``Cache-Control: no-store``: these pages hold a person's
appointment.
"""
from __future__ import annotations

from flask import (Blueprint, Response, abort, flash, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from citizen_desk.booking import availability, calendar_file, notices, operations as ops, picker
from citizen_desk.booking.models import Appointment, AppointmentStatus, normalise_code
from citizen_desk.core import limits, uow
from citizen_desk.core.access import permission, public
from citizen_desk.core.db import utcnow
from citizen_desk.core.forms import attempt
from citizen_desk.core.i18n import current_language, format_local
from citizen_desk.core.validation import ValidationError

bp = Blueprint("booking_manage", __name__)

#: The session's key for the manage links it opened: ``{code: token}``.
SESSION_KEY = "manage_links"
#: How many links one session keeps (the oldest goes first).
KEEP_LINKS = 5
CANCEL_REASON_LENGTH = 500


class CancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Why are you cancelling? (optional)"),
        [Length(max=CANCEL_REASON_LENGTH, message=_l(
            "Write at most %(max)d characters.", max=CANCEL_REASON_LENGTH))],
        description=_l("This helps the office plan its hours. You do not have to answer."))


class RescheduleForm(FlaskForm):
    """A new time: one of the day's free times (an ISO instant), checked by the operation."""

    start = StringField(_l("New time"))


class ConfirmForm(FlaskForm):
    """The double opt-in button: only its CSRF token."""


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


# -- the link and the session ----------------------------------------------------------------

def _remember(appointment: Appointment, token: str):
    links = session.get(SESSION_KEY)
    links = dict(links) if isinstance(links, dict) else {}
    links.pop(appointment.code, None)
    links[appointment.code] = token
    session[SESSION_KEY] = dict(list(links.items())[-KEEP_LINKS:])


def _session_token(code: str | None) -> str | None:
    links = session.get(SESSION_KEY)
    return links.get(code) if code and isinstance(links, dict) else None


def _held(code: str) -> tuple[Appointment, str]:
    """The appointment of ``code`` whose link this session opened, and its token; else 404."""
    code = normalise_code(code)
    token = _session_token(code)
    appointment = ops.find_by_token(code, token)
    if appointment is None:
        abort(404)
    return appointment, token


def _page(appointment: Appointment) -> str:
    return url_for(".appointment", code=appointment.display_code)


def _manage_url(code: str, token: str) -> str:
    return notices.absolute_url("booking_manage.show", code=code, token=token)


@bp.get("/appointments/<code>/<token>")
@permission(public)
@limits.lookup
def show(code, token):
    """The manage link: check it, keep it in the session, go to the appointment's page."""
    appointment = ops.find_by_token(code, token)
    if appointment is None:
        abort(404)
    _remember(appointment, token)
    return redirect(_page(appointment), 303)


# -- the appointment -------------------------------------------------------------------------

def _state(appointment: Appointment) -> str:
    """What the page says the appointment is: live, pending, unconfirmed, cancelled, past …"""
    now = utcnow()
    status = appointment.status
    if status == AppointmentStatus.pending:
        if appointment.confirm_by_dt is None or appointment.confirm_by_dt <= now:
            return "unconfirmed"
        return "pending" if appointment.start_dt > now else "past"
    if status == AppointmentStatus.confirmed:
        return "confirmed" if appointment.start_dt > now else "past"
    return status.value  # cancelled, expired, attended, no_show


def _render_appointment(appointment: Appointment, token: str, status: int = 200, error=None):
    state = _state(appointment)
    return render_template(
        "booking/manage/show.html", appointment=appointment, state=state, error=error,
        can_change=appointment.can_change() and state in ("confirmed", "pending"),
        confirm_form=ConfirmForm() if state == "pending" else None,
        confirm_url=url_for(".confirm", code=appointment.code, token=token)
        if state == "pending" else None, **_details(appointment)), status


def _details(appointment: Appointment) -> dict:
    office, service = appointment.office, appointment.service
    language = current_language()
    return dict(
        office=office, service=service,
        when=format_local(appointment.start_dt, "full_time", office.timezone),
        until=format_local(appointment.end_dt, "time", office.timezone),
        documents=[text for text in service.document_list(language) or [] if text])


def _unchangeable(appointment: Appointment, token: str):
    """The appointment's page with why nothing can be done (409)."""
    return _render_appointment(appointment, token, 409,
                               _("This appointment can no longer be changed."))


@bp.get("/appointments/<code>")
@permission(public)
def appointment(code):
    """The appointment as its link's holder sees it, with what they can still do."""
    found, token = _held(code)
    return _render_appointment(found, token)


@bp.get("/appointments/<code>.ics")
@permission(public)
@limits.lookup
def ics(code):
    """The ``.ics`` of the appointment, for the session that opened its link or with ``?token=``."""
    code = normalise_code(code)
    token = request.args.get("token") or _session_token(code)
    found = ops.find_by_token(code, token)
    if found is None:
        abort(404)
    body = calendar_file.ics_for(found, language=current_language(),
                                 manage_url=_manage_url(found.code, token)
                                 if found.is_live else None)
    return Response(body, content_type=calendar_file.content_type(found), headers={
        "Content-Disposition": f'attachment; filename="{calendar_file.filename(found)}"'})


# -- cancel ----------------------------------------------------------------------------------

@bp.route("/appointments/<code>/cancel", methods=["GET", "POST"])
@permission(public)
def cancel(code):
    """Ask before cancelling (with an optional reason), then cancel."""
    found, token = _held(code)
    if not found.can_change():
        return _unchangeable(found, token)
    form = CancelForm()
    if form.validate_on_submit():
        done, _result = attempt(form, lambda: ops.cancel(found, reason=form.reason.data))
        if done:
            flash(_("Your appointment has been cancelled."), "success")
            return redirect(_page(found), 303)
    return render_template("booking/manage/cancel.html", appointment=found, form=form,
                           **_details(found)), 422 if form.errors else 200


# -- reschedule ------------------------------------------------------------------------------

@bp.route("/appointments/<code>/reschedule", methods=["GET", "POST"])
@permission(public)
def reschedule(code):
    """Move the appointment: a month of days with free times (``?month=2026-12``), then the
    free times of the chosen day (``?day=2026-12-08``), whose POST moves it.

    The move is atomic (``operations.reschedule``): when the time was just
    taken, the appointment keeps its old time and the page offers the
    nearest free ones.
    """
    found, token = _held(code)
    if not found.can_change():
        return _unchangeable(found, token)
    office = availability.load_office(found.office_id)
    day = picker.parse_day(request.args.get("day"))
    if request.method == "GET" and (day is None or not picker.in_window(office, day)):
        return _month_page(found, office)
    form = RescheduleForm()
    start = picker.parse_start(form.start.data)
    # A POST is decided by its time; the day only says which times to show again.
    day = day or (start.astimezone(office.zone).date() if start else found.local_start.date())
    choices = _choices(found, office, picker.free_times(office, found.service, day,
                                                        pool=found.pool))
    status = 200
    if form.validate_on_submit():
        try:
            if start is None:
                raise ValidationError.at("start", _l("Choose a time."))
            with uow.savepoint():
                ops.reschedule(found, start, token=token, manage_url=_manage_url)
        except ValidationError as exc:
            exc.apply_to(form)
            status = 422
        except ops.SlotTaken as exc:
            return render_template(
                "booking/manage/reschedule_taken.html", appointment=found, form=form, day=day,
                choices=_choices(found, office, exc.alternatives, with_date=True),
                month_key=picker.month_key(day), **_details(found)), 409
        else:
            flash(_("Your appointment has been moved to %(when)s.", when=format_local(
                found.start_dt, "full_time", office.timezone)), "success")
            return redirect(_page(found), 303)
    return render_template("booking/manage/reschedule_time.html", appointment=found, form=form,
                           day=day, choices=choices, month_key=picker.month_key(day),
                           **_details(found)), status


def _choices(appointment: Appointment, office, slots, *, with_date: bool = False):
    """The times to choose from, without the one the appointment has now."""
    return picker.time_choices([slot for slot in slots if slot.start != appointment.start_dt],
                               office, with_date=with_date)


def _month_page(appointment: Appointment, office):
    month = picker.parse_month(request.args.get("month"))
    if month is None or not picker.month_in_window(office, month):
        month = picker.first_free_month(office, appointment.service, pool=appointment.pool)
    grid = picker.month_grid(office, appointment.service, month, pool=appointment.pool)
    return render_template("booking/manage/reschedule_day.html", appointment=appointment,
                           month=grid, month_key=picker.month_key, **_details(appointment))


# -- double opt-in ---------------------------------------------------------------------------

@bp.route("/appointments/<code>/<token>/confirm", methods=["GET", "POST"])
@permission(public)
@limits.lookup
def confirm(code, token):
    """The link in the mail of a double opt-in booking: a button that confirms it.

    A booking whose deadline passed says so and offers to book again.
    """
    found = ops.find_by_token(code, token)
    if found is None:
        abort(404)
    _remember(found, token)
    state = _state(found)
    if state == "unconfirmed" or found.status == AppointmentStatus.expired:
        return _expired(found)
    if state != "pending":  # confirmed already, cancelled, past: the page says which
        return redirect(_page(found), 303)
    form = ConfirmForm()
    if form.validate_on_submit():
        if not ops.confirm(found):
            return _expired(found)
        flash(_("Your appointment is confirmed."), "success")
        return redirect(_page(found), 303)
    return render_template("booking/manage/confirm.html", appointment=found, form=form,
                           deadline=format_local(found.confirm_by_dt, "full_time",
                                                 found.office.timezone),
                           **_details(found))


def _expired(appointment: Appointment):
    return render_template("booking/manage/expired.html", appointment=appointment,
                           **_details(appointment)), 410
