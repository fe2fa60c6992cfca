"""The booking page of staff: service (and, for NGO staff, office) and day, then the day's
times and the citizen's details on one page.

Clerks and managers book a caller into the office's staff seats, or into its
public seats when they choose to (the page shows the free seats of both at
every time); NGO staff book into the NGO seats of any office that offers the
service, with contact details optional. The details are checked by
``identity.clean_details`` with every problem shown at once, worded for
staff; the booking is tried inside a savepoint, so a refused one (a full
time, the citizen's cap) writes nothing.
"""
from __future__ import annotations

from datetime import datetime, timezone

from babel.lists import format_list
from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _, lazy_gettext as _l, ngettext

from citizen_desk.booking import availability, identity, operations
from citizen_desk.booking.models import Channel
from citizen_desk.booking.operations import CapReached, SlotTaken
from citizen_desk.booking.staff import queries
from citizen_desk.booking.staff.forms import (DeskBookingForm, NgoBookingForm,
                                              booking_form_class, identifiers_of)
from citizen_desk.booking.staff.views import (EXAMPLE_DAY, FIRST_DAY, LAST_DAY, acting_user,
                                              bp, day_error, office_or_404,
                                              organisation_id_or_403, parse_day)
from citizen_desk.core import uow
from citizen_desk.core.access import permission
from citizen_desk.core.i18n import format_local
from citizen_desk.core.validation import ValidationError
from citizen_desk.staff.permissions import ngo_staff, staff_of

#: ``clean_details`` speaks to the citizen; on the staff pages the same problems are told
#: about the citizen.
STAFF_WORDING = {
    "name.required": _l("Enter the citizen's full name."),
    "phone.required": _l("Enter the caller's phone number."),
    "email.required": _l("Enter the citizen's e-mail address: this service needs it."),
    "contact.required": _l("Enter a phone number or an e-mail address, so that the office "
                           "can reach the citizen."),
}


def _staff_wording(errors: dict) -> dict:
    reworded = {}
    for key, message in errors.items():
        for code, staff_text in STAFF_WORDING.items():
            if str(message) == str(identity.MESSAGES[code]):
                message = staff_text
                break
        reworded[key] = message
    return reworded


def _seats_hint(row, pools) -> list[str]:
    """The free seats at a time, one short line per pool the page books into."""
    lines = []
    for pool in pools:
        free = row.free.get(pool)
        if pool == "staff":
            lines.append(_("Staff: none") if free is None else _("Staff: full")
                         if free == 0 else _("Staff: %(num)d", num=free))
        elif pool == "public":
            lines.append(_("Public: none") if free is None else _("Public: full")
                         if free == 0 else _("Public: %(num)d", num=free))
        else:
            lines.append(_("Full") if not free else ngettext(
                "%(num)d seat free", "%(num)d seats free", free))
    return lines


def _taken_message(exc: SlotTaken, pool: str, office) -> str:
    if pool == "staff":
        message = _("The staff seats at this time are full. Choose another time, "
                    "or choose the public seats.")
    else:
        message = _("This time was just taken. Choose another one.")
    times = [format_local(slot.start, "EEE d/M HH:mm", tz=office.timezone)
             for slot in exc.alternatives]
    if times:
        message = _("%(problem)s Nearest free times: %(times)s.", problem=message,
                    times=format_list(times, locale=get_locale()))
    return message


class _Choice:
    """The service, office and day chosen on the booking page (its GET parameters)."""

    def __init__(self, services, *, office=None, choose_office=False):
        args = request.args
        self.errors: dict = {}
        self.services = services
        self.service = None
        self.office = office
        self.offices = []
        self.day = None
        code = (args.get("service") or "").strip()
        if code:
            self.service = next((s for s in services if s.code == code), None)
            if self.service is None:
                self.errors["service"] = _("Choose a service from the list.")
        if choose_office and self.service is not None:
            self.offices = queries.offices_offering(self.service)
            wanted = (args.get("office") or "").strip()
            if wanted:
                self.office = next((o for o in self.offices if o.code == wanted), None)
                if self.office is None:
                    self.errors["office"] = _("This service is not offered at this office. "
                                              "Choose one of the offices listed.")
            elif len(self.offices) == 1:
                self.office = self.offices[0]
        if args.get("day"):
            try:
                self.day = parse_day(args["day"])
            except ValueError:
                self.errors["day"] = day_error()
        if self.office is not None:
            self.office = availability.load_office(self.office.id)

    @property
    def ready(self) -> bool:
        """Service and office chosen: the days with free times can be shown."""
        return self.service is not None and self.office is not None and not self.errors

    @property
    def complete(self) -> bool:
        return self.ready and self.day is not None

    def args(self, **overrides) -> dict:
        values = {"service": self.service.code if self.service else None,
                  "day": self.day.isoformat() if self.day else None}
        if self.offices:
            values["office"] = self.office.code if self.office else None
        values.update(overrides)
        return {key: value for key, value in values.items() if value}


def _parse_start(value):
    """The instant a time radio sends (ISO 8601 with offset), within the years a day may be."""
    try:
        start = datetime.fromisoformat((value or "").strip()[:40])
        if start.tzinfo is None:
            return None
        start = start.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
    return start if FIRST_DAY.year <= start.year <= LAST_DAY.year else None


def _book(choice: _Choice, form, *, pool: str, channel: Channel, contact_required: bool,
          organisation_id: int | None):
    """Try the booking of the submitted form: the appointment, or ``None`` and its errors shown."""
    service, office = choice.service, choice.office
    identifiers = identifiers_of(service)
    required = list(service.required_fields or [])
    if channel == Channel.phone and "phone" not in required:
        required.append("phone")
    errors: dict = {}
    start = _parse_start(form.start.data)
    if start is None:
        errors["start"] = _("Choose a time from the list.")
    try:
        details = identity.clean_details(form.raw_details(identifiers), required,
                                         contact_required=contact_required)
    except ValidationError as exc:
        errors.update(exc.errors)
        details = None
    if errors:
        form.show_errors(_staff_wording(errors))
        return None, 200
    try:
        with uow.savepoint():
            booked = operations.book(
                office, service, start, details, pool=pool, channel=channel,
                citizen_keys=identity.citizen_keys(details), booked_by=acting_user(),
                organisation_id=organisation_id)
    except ValidationError as exc:
        form.show_errors(_staff_wording(exc.errors))
        return None, 200
    except SlotTaken as exc:
        form.show_errors({"start": _taken_message(exc, pool, office)})
        return None, 409
    except CapReached:
        form.form_errors.append(_(
            "This citizen already has the most appointments allowed for this service. "
            "Cancel one of them before booking another."))
        return None, 409
    return booked.appointment, 201


def _booking_page(choice: _Choice, form, *, pools, endpoint: str, endpoint_args: dict,
                  status: int = 200):
    rows = []
    free_days = {}
    if choice.ready:
        free_days = queries.free_days(choice.office, choice.service, choice.office.today(),
                                      pools)
    if choice.complete:
        rows = queries.time_rows(choice.office, choice.service, choice.day, pools)
    return render_template(
        "booking/staff/book.html", choice=choice, form=form, rows=rows, pools=pools,
        free_days=free_days, seats_hint=lambda row: _seats_hint(row, pools),
        identifiers=identifiers_of(choice.service) if choice.service else (),
        endpoint=endpoint, endpoint_args=endpoint_args,
        book_url=lambda **day: url_for(endpoint, **endpoint_args, **choice.args(**day)),
        organisation=acting_user().organisation,
        example_day=format_local(EXAMPLE_DAY, "short")), status


@bp.route("/<office>/book", methods=["GET", "POST"])
@permission(staff_of("office"))
def office_book(office):
    """Book for a caller or a visitor at the counter: service, day, time and details, one page."""
    office = office_or_404(office)
    choice = _Choice(queries.services_at(office), office=office)
    form_class = booking_form_class(DeskBookingForm, identifiers_of(choice.service)
                                    if choice.service else ())
    form = form_class()
    status = 200
    if request.method == "POST" and choice.complete and form.validate_on_submit():
        appointment, status = _book(
            choice, form, pool=form.pool.data, channel=Channel(form.channel.data),
            contact_required=True, organisation_id=None)
        if appointment is not None:
            flash(_("Booked: %(code)s. Read the code out, print the confirmation or "
                    "send the text below.", code=appointment.display_code), "success")
            return redirect(url_for(".office_appointment", office=office.code,
                                    code=appointment.code))
    return _booking_page(choice, form, pools=("staff", "public"), endpoint=".office_book",
                         endpoint_args={"office": office.code}, status=status)


@bp.route("/organisation/book", methods=["GET", "POST"])
@permission(ngo_staff)
def ngo_book():
    """Book for someone the organisation supports, into the NGO seats of an office."""
    organisation_id = organisation_id_or_403()
    choice = _Choice(queries.services_offered(), choose_office=True)
    form_class = booking_form_class(NgoBookingForm, identifiers_of(choice.service)
                                    if choice.service else ())
    form = form_class()
    status = 200
    if request.method == "POST" and choice.complete and form.validate_on_submit():
        appointment, status = _book(choice, form, pool="ngo", channel=Channel.ngo,
                                    contact_required=False, organisation_id=organisation_id)
        if appointment is not None:
            flash(_("Booked: %(code)s. Print the confirmation for the citizen in their "
                    "language.", code=appointment.display_code), "success")
            return redirect(url_for(".ngo_appointment", code=appointment.code))
    return _booking_page(choice, form, pools=("ngo",), endpoint=".ngo_book", endpoint_args={},
                         status=status)
