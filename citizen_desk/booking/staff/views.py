"""Staff pages of booking: the front desk's and the NGOs' bookings, the office's day and week.

- Clerks and managers of an office (and administrators) book for a caller
  into the office's staff seats, or its public seats when they choose to;
  see the day's and the week's appointments; open one, cancel it with a
  reason, mark it attended or no-show. Another office's appointment is not
  found (404), never "forbidden": the code alone reveals nothing.
- NGO staff book for the people they support into the NGO seats of any
  office that offers the service, and see and cancel their organisation's
  bookings only.

Every change goes through ``booking.operations`` with ``by_staff``, which
records the audit entry; a refused change is tried inside a savepoint, so
nothing of it is written. The booking page is in ``book.py``.
"""
from __future__ import annotations

from datetime import date, datetime

import phonenumbers
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from markupsafe import Markup

from citizen_desk.booking import identity, operations
from citizen_desk.booking.models import Appointment, AppointmentStatus
from citizen_desk.booking.operations import NotChangeable
from citizen_desk.booking.staff import queries, texts
from citizen_desk.booking.staff.forms import CHANNEL_LABELS, POOL_LABELS, CancelForm
from citizen_desk.catalog.models import PERSONAL_FIELD_LABELS
from citizen_desk.core import uow
from citizen_desk.core.access import Policy, permission
from citizen_desk.core.forms import ActionForm
from citizen_desk.core.i18n import current_language, format_local
from citizen_desk.core.paging import page_count, requested_page
from citizen_desk.extensions import db
from citizen_desk.staff.models import Organisation, StaffUser
from citizen_desk.staff.permissions import any_office_staff, current_actor, ngo_staff, staff_of

bp = Blueprint("booking_staff", __name__, url_prefix="/staff/appointments")

#: Who has a page here at all: an office's clerks and managers, administrators, NGO staff.
desk_or_ngo = Policy("office or NGO staff", lambda actor, kw: (
    any_office_staff.allows(actor, kw) or ngo_staff.allows(actor, kw)))

PAGE_SIZE = 50
#: Dates typed in the filters: ISO (what a date picker sends) and as the pages show them.
_DAY_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
EXAMPLE_DAY = date(2026, 12, 3)

STATUS_LABELS = {
    AppointmentStatus.pending: _l("Awaiting confirmation"),
    AppointmentStatus.confirmed: _l("Booked"),
    AppointmentStatus.cancelled: _l("Cancelled"),
    AppointmentStatus.expired: _l("Expired"),
    AppointmentStatus.attended: _l("Attended"),
    AppointmentStatus.no_show: _l("Did not come"),
}


# -- helpers -------------------------------------------------------------------------------

@bp.context_processor
def _helpers():
    return {"interpreter_name": lambda code: identity.language_name(code, current_language()),
            "phone_number": phone_number}


def phone_number(e164: str | None) -> str:
    """A stored E.164 number as it is read: ``+30 691 234 5678``."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def parse_day(value: str | None) -> date:
    for fmt in _DAY_FORMATS:
        try:
            day = datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
        if FIRST_DAY <= day <= LAST_DAY:
            return day
    raise ValueError(value)


def day_error():
    return _("Enter a date like %(example)s.", example=format_local(EXAMPLE_DAY, "short"))


def office_or_404(code: str):
    office = queries.office_by_code(code)
    if office is None:
        abort(404)
    return office


def acting_user():
    return current_actor().user


def organisation_id_or_403() -> int:
    organisation_id = current_actor().organisation_id
    if organisation_id is None:  # the policy let in NGO staff only
        abort(403)
    return organisation_id


# -- the front page ------------------------------------------------------------------------

@bp.get("/")
@permission(desk_or_ngo)
def index():
    """Where staff start: their offices' days and booking, their organisation's bookings."""
    actor = current_actor()
    offices = queries.desk_offices(actor) if any_office_staff.allows(actor) else []
    organisation = actor.user.organisation if actor.organisation_id is not None else None
    return render_template("booking/staff/index.html", offices=offices,
                           organisation=organisation)


# -- an office's day and week ----------------------------------------------------------------

@bp.get("/<office>")
@permission(staff_of("office"))
def office_list(office):
    """The office's appointments of a day or of its week, printable for the morning."""
    office = office_or_404(office)
    view = "week" if request.args.get("view") == "week" else "day"
    errors = []
    today = office.today()
    day = today
    if request.args.get("day"):
        try:
            day = parse_day(request.args["day"])
        except ValueError:
            errors.append(day_error())
    first, last = (day, day) if view == "day" else queries.week_of(day)
    appointments = queries.appointments_between(office, first, last)
    step = 1 if view == "day" else 7
    return render_template(
        "booking/staff/list.html", office=office, view=view, day=day, today=today,
        first=first, last=last, errors=errors,
        days=queries.by_local_day(office, appointments, first, last),
        total=sum(1 for a in appointments if a.is_live),
        previous=date.fromordinal(max(day.toordinal() - step, FIRST_DAY.toordinal())),
        next=date.fromordinal(min(day.toordinal() + step, LAST_DAY.toordinal())),
        status_labels=STATUS_LABELS)


# -- one appointment -------------------------------------------------------------------------

def _office_appointment(office_code: str, code: str):
    office = office_or_404(office_code)
    appointment = queries.office_appointment(office, code)
    if appointment is None:
        abort(404)
    return appointment


def _ngo_appointment(code: str):
    appointment = queries.organisation_appointment(organisation_id_or_403(), code)
    if appointment is None:
        abort(404)
    return appointment


def _urls(appointment: Appointment, scope: str) -> dict:
    if scope == "office":
        args = {"office": appointment.office.code, "code": appointment.code}
        return {"self": url_for(".office_appointment", **args),
                "cancel": url_for(".office_cancel", **args),
                "print": url_for(".office_print", **args),
                "attended": url_for(".office_attended", **args),
                "no_show": url_for(".office_no_show", **args),
                "back": url_for(".office_list", office=appointment.office.code,
                                day=appointment.local_start.date().isoformat())}
    args = {"code": appointment.code}
    return {"self": url_for(".ngo_appointment", **args),
            "cancel": url_for(".ngo_cancel", **args),
            "print": url_for(".ngo_print", **args),
            "back": url_for(".ngo_list")}


def _appointment_page(appointment: Appointment, scope: str):
    return render_template(
        "booking/staff/appointment.html", appointment=appointment, scope=scope,
        urls=_urls(appointment, scope), code=texts.spelled(appointment.code),
        short_text=texts.short_text(appointment) if appointment.is_live else None,
        sms_length=texts.SMS_LENGTH,
        identifiers=[(PERSONAL_FIELD_LABELS.get(key, key), value)
                     for key, value in (appointment.identifiers or {}).items()],
        status_labels=STATUS_LABELS, pool_labels=POOL_LABELS, channel_labels=CHANNEL_LABELS,
        booked_by=_booked_by(appointment), action_form=ActionForm(),
        may_close=scope == "office" and appointment.can_close())


def _booked_by(appointment: Appointment):
    user = db.session.get(StaffUser, appointment.booked_by_id) if appointment.booked_by_id \
        else None
    organisation = db.session.get(Organisation, appointment.organisation_id) \
        if appointment.organisation_id else None
    return {"user": user, "organisation": organisation}


@bp.get("/<office>/<code>")
@permission(staff_of("office"))
def office_appointment(office, code):
    """One appointment of the office: details, needs, what to read out, print or send."""
    return _appointment_page(_office_appointment(office, code), "office")


@bp.get("/organisation/<code>")
@permission(ngo_staff)
def ngo_appointment(code):
    """One of the organisation's bookings."""
    return _appointment_page(_ngo_appointment(code), "ngo")


def _cancel_page(appointment: Appointment, scope: str):
    urls = _urls(appointment, scope)
    if not appointment.is_live:
        flash(_("This appointment can no longer be changed."), "error")
        return redirect(urls["self"])
    form = CancelForm()
    if form.validate_on_submit():
        try:
            with uow.savepoint():
                operations.cancel(appointment, reason=form.reason.data, by_staff=acting_user())
        except NotChangeable as exc:
            flash(str(exc.message), "error")
        else:
            flash(_("Appointment %(code)s cancelled.", code=appointment.display_code),
                  "success")
        return redirect(urls["self"])
    return render_template("booking/staff/cancel.html", appointment=appointment, form=form,
                           urls=urls)


@bp.route("/<office>/<code>/cancel", methods=["GET", "POST"])
@permission(staff_of("office"))
def office_cancel(office, code):
    """Cancel an appointment for the citizen, with the reason."""
    return _cancel_page(_office_appointment(office, code), "office")


@bp.route("/organisation/<code>/cancel", methods=["GET", "POST"])
@permission(ngo_staff)
def ngo_cancel(code):
    """Cancel one of the organisation's bookings, with the reason."""
    return _cancel_page(_ngo_appointment(code), "ngo")


def _close(appointment: Appointment, status: AppointmentStatus, message: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        with uow.savepoint():
            operations.close(appointment, status, by_staff=acting_user())
    except NotChangeable as exc:
        flash(str(exc.message), "error")
    else:
        flash(message, "success")
    return redirect(_urls(appointment, "office")["self"])


@bp.post("/<office>/<code>/attended")
@permission(staff_of("office"))
def office_attended(office, code):
    """Mark that the citizen came (until the queue's check-in does it)."""
    appointment = _office_appointment(office, code)
    return _close(appointment, AppointmentStatus.attended,
                  _("%(code)s marked attended.", code=appointment.display_code))


@bp.post("/<office>/<code>/no-show")
@permission(staff_of("office"))
def office_no_show(office, code):
    """Mark that the citizen did not come."""
    appointment = _office_appointment(office, code)
    return _close(appointment, AppointmentStatus.no_show,
                  _("%(code)s marked as not come.", code=appointment.display_code))


def _print_page(appointment: Appointment, scope: str):
    """The confirmation in the citizen's language, on a staff page in the staff's."""
    with texts.in_language_of(appointment) as language:
        slip = Markup(render_template("booking/staff/_slip.html",
                                      **texts.slip_context(appointment, language)))
    return render_template("booking/staff/print.html", appointment=appointment, slip=slip,
                           language=language, urls=_urls(appointment, scope))


@bp.get("/<office>/<code>/print")
@permission(staff_of("office"))
def office_print(office, code):
    """The confirmation to print, in the citizen's language."""
    return _print_page(_office_appointment(office, code), "office")


@bp.get("/organisation/<code>/print")
@permission(ngo_staff)
def ngo_print(code):
    """The confirmation to print for the citizen, in their language."""
    return _print_page(_ngo_appointment(code), "ngo")


# -- an organisation's bookings ------------------------------------------------------------

@bp.get("/organisation")
@permission(ngo_staff)
def ngo_list():
    """The organisation's coming bookings (or its past ones), newest last."""
    organisation_id = organisation_id_or_403()
    past = request.args.get("show") == "past"
    page = requested_page()
    appointments, total = queries.organisation_appointments(
        organisation_id, past=past, page=page, per_page=PAGE_SIZE)
    return render_template("booking/staff/organisation.html", appointments=appointments,
                           total=total, past=past, page=page,
                           pages=page_count(total, PAGE_SIZE), status_labels=STATUS_LABELS,
                           organisation=current_actor().user.organisation)
