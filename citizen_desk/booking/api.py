"""The booking JSON API under ``/api/v1``: free times, booking, cancelling and rescheduling.

- ``GET /offices/<office>/services/<service>/availability?from=&to=`` — the
  free times of the public pool, in the office's zone with its offset. At
  most ``AVAILABILITY_MAX_DAYS`` days a call (422 on ``to`` beyond); ``from``
  defaults to today at the office, ``to`` to ``from`` + 13 days. An unknown
  office or service, a service not offered there or not bookable online:
  404 (the resource does not exist).
- ``POST /appointments`` — 201 with the code and the manage link; 409 with
  the nearest free ``alternatives`` when the time is full, 409 when the
  citizen already holds as many bookings of the service as allowed; 422
  naming each wrong field; 403 for a ``pool`` the caller may not book into.
- ``POST /appointments/<code>/cancel`` and ``…/reschedule`` — the manage
  link's secret in the JSON body (``{"token": …}``: never in the address,
  which ends up in logs); an unknown code, a wrong token and another
  booking's token are the same 404.

Who books what: anonymous callers and device tokens book the public pool,
as a citizen online would (the office's double opt-in and proof of work
apply; tokens are not asked for proof of work). Staff acting through an
integration token (``staff.permissions.Actor``) may book ``staff`` seats of
an office they work at or, NGO staff, ``ngo`` seats; their bookings are
channel ``api``, recorded as theirs (and their organisation's), and need no
contact details (a caller may have none).

Answers carry ``Cache-Control: no-store``: free seats change by the second
and a booking's answer holds its secret. Every operation runs in the
request's unit of work; a refused one (``SlotTaken``) is tried in a
savepoint, so its partial writes are undone while its answer is sent.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from citizen_desk.booking import availability, identity, notices, operations
from citizen_desk.booking.models import Appointment, Channel
from citizen_desk.booking.schemas import (AppointmentRequest, AppointmentSchema,
                                          AvailabilityQuery, AvailabilitySchema, BookedSchema,
                                          ManageRequest, RescheduleRequest, SlotSchema)
from citizen_desk.catalog.models import Service
from citizen_desk.core import challenge, limits, uow
from citizen_desk.core.access import permission, public
from citizen_desk.core.errors import error_response
from citizen_desk.core.i18n import current_language
from citizen_desk.core.schemas import dump, use_kwargs
from citizen_desk.core.validation import CODE_PATTERN, ValidationError
from citizen_desk.extensions import db
from citizen_desk.offices.queries import office_id
from citizen_desk.staff.permissions import current_actor

api = Blueprint("booking_api", __name__)

#: Days a window spans when ``to`` is not given (``from`` included): two weeks.
DEFAULT_DAYS = 14


@dataclass(frozen=True)
class LocalSlot:
    """A slot as the API shows it: local start and end, seats left."""

    start: datetime
    end: datetime
    free: int


@dataclass(frozen=True)
class Window:
    office: str
    service: str
    timezone: str
    first: date
    last: date
    slots: list[LocalSlot]


@dataclass
class Receipt:
    """A new booking with its manage link, for ``BookedSchema``."""

    appointment: Appointment
    manage_url: str

    def __getattr__(self, name):
        return getattr(self.appointment, name)


@api.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


# -- look-ups ---------------------------------------------------------------------------------

def _office(code: str | None):
    """The office ``code`` with its rules and closures loaded, or ``None``."""
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        return None
    found = office_id(code)
    return availability.load_office(found) if found is not None else None


def _service(code: str | None) -> Service | None:
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        return None
    return db.session.scalar(select(Service).where(Service.code == code))


def _local(slots, office) -> list[LocalSlot]:
    return [LocalSlot(slot.local_start(office), slot.local_end(office), slot.free)
            for slot in slots]


def manage_url(code: str, token: str) -> str:
    """The citizen's manage link (absolute), as the mails write it.

    Under ``PUBLIC_URL`` when set: the request's ``Host`` is the client's to
    choose, and this link also goes into the confirmation mail.
    """
    return notices.absolute_url("booking_manage.show", code=code, token=token)


def _taken(taken: operations.SlotTaken, office):
    """409 with the nearest free times, in the shape of the availability answer."""
    response, status = error_response(409, taken.message)
    body = response.get_json()
    body["alternatives"] = dump(SlotSchema(many=True), _local(taken.alternatives, office),
                                language=current_language())
    return jsonify(body), status


# -- availability -----------------------------------------------------------------------------

@api.get("/offices/<office>/services/<service>/availability")
@permission(public)
@limits.booking
def availability_of(office, service):
    """The free public times of ``service`` at ``office`` from ``from`` to ``to`` (local dates).

    An answer is kept (its bytes, per address and language) while the office's seats,
    the catalog and the time allow (``availability.AnswerCache``); a bad parameter is
    parsed, and refused, every time.
    """
    key = ("availability", office, service, request.query_string, current_language())
    body = availability.answers().get(key)
    if body is None:
        return _availability_answer(office, service, key=key)
    return current_app.response_class(body, mimetype="application/json")


@use_kwargs(AvailabilityQuery, location="query")
def _availability_answer(office, service, first, last, key):
    found, wanted = _office(office), _service(service)
    if found is None or found.retired:
        return error_response(404, _("There is no office with this code."))
    if wanted is None or wanted.retired:
        return error_response(404, _("There is no service with this code."))
    try:
        operations.check_bookable(found, wanted)
    except ValidationError as problem:
        return error_response(404, problem.message)
    first, last = _window(found, first, last)
    stamp = availability.ledger_stamp(found.id)  # before the seats are read
    # Only days that can hold a bookable time are computed: today to the office's horizon.
    today = found.today()
    horizon = today + timedelta(days=found.max_days_ahead)
    slots = []
    if max(first, today) <= min(last, horizon):
        slots = availability.free_slots(found, wanted, max(first, today), min(last, horizon))
    window = Window(found.code, wanted.code, found.timezone, first, last, _local(slots, found))
    body = jsonify(dump(AvailabilitySchema(), window, language=current_language())).get_data()
    availability.answers().put(key, body, stamp, found, slots)
    return current_app.response_class(body, mimetype="application/json")


def _window(office, first: date | None, last: date | None) -> tuple[date, date]:
    """The window asked for, with its defaults; 422 on ``to`` when it is backwards or too long."""
    first = first or office.today()
    if last is None:
        try:
            last = first + timedelta(days=DEFAULT_DAYS - 1)
        except OverflowError:
            last = date.max
    longest = int(current_app.config["AVAILABILITY_MAX_DAYS"])
    if last < first:
        raise ValidationError.at("to", _("The last day cannot be before the first day."))
    if (last - first).days + 1 > longest:
        raise ValidationError.at("to", ngettext("Ask for at most %(num)d day at a time.",
                                                "Ask for at most %(num)d days at a time.",
                                                longest))
    return first, last


# -- booking ----------------------------------------------------------------------------------

@api.post("/appointments")
@permission(public)
@limits.booking
@use_kwargs(AppointmentRequest, location="json")
def book(office, service, start, pool, altcha, lang, **details):
    """Book ``service`` at ``office`` at ``start`` for the citizen of the details."""
    actor = current_actor()
    staff = actor.user is not None
    if pool == "staff" and not actor.works_at(office):
        return error_response(403, _("Only the office's own staff may book its staff seats."),
                              field="pool")
    if pool == "ngo" and actor.organisation_id is None:
        return error_response(403, _("Only the staff of an organisation may book NGO seats."),
                              field="pool")
    found, wanted = _office(office), _service(service)
    errors: dict = {}
    try:
        operations.check_bookable(found, wanted)
    except ValidationError as problem:
        errors.update(problem.errors)
    details = _clean_details(details | {"language": lang},
                             wanted.required_fields if wanted is not None else [],
                             contact_required=not staff, errors=errors)
    if not errors:
        try:
            operations.slot_at(found, wanted, start, pool)
        except ValidationError as problem:
            errors.update(problem.errors)
    proof = actor.token is None and challenge.required_for(found)
    if proof and not altcha:
        errors[challenge.FIELD] = challenge.INVALID_MESSAGE
    if errors:
        raise ValidationError(errors)
    try:
        with uow.savepoint():
            # Spent only by a booking that is made: a full time leaves it for the next try.
            if proof:
                challenge.check(altcha)
            booked = operations.book(
                found, wanted, start, details, pool=pool,
                channel=Channel.api if actor.token is not None else Channel.online,
                citizen_keys=identity.citizen_keys(details),
                booked_by=actor.user, organisation_id=actor.organisation_id,
                manage_url=manage_url)
    except operations.SlotTaken as taken:
        return _taken(taken, found)
    appointment = booked.appointment
    receipt = Receipt(appointment, manage_url(appointment.display_code, booked.token))
    return jsonify(dump(BookedSchema(), receipt, language=current_language())), 201


def _clean_details(raw: dict, required, *, contact_required: bool, errors: dict) -> dict | None:
    """``identity.clean_details``, its problems added to ``errors`` under the API's names."""
    try:
        return identity.clean_details(raw, list(required), contact_required=contact_required)
    except ValidationError as problem:
        for field, message in problem.errors.items():
            errors["lang" if field == "language" else field] = message
        return None


# -- managing with the link's secret ----------------------------------------------------------

def _by_token(code: str, token: str) -> Appointment:
    appointment = operations.find_by_token(code, token)
    if appointment is None:
        raise _NotFound()
    return appointment


class _NotFound(Exception):
    """No appointment with this code and token (one answer for every mismatch)."""


@api.errorhandler(_NotFound)
def _not_found(exc):
    return error_response(404, _("There is no appointment with this code and link."))


@api.post("/appointments/<code>/cancel")
@permission(public)
@limits.lookup
@use_kwargs(ManageRequest, location="json")
def cancel(code, token):
    """Cancel the appointment ``code`` with its manage link's ``token``."""
    appointment = _by_token(code, token)
    operations.cancel(appointment)
    return jsonify(dump(AppointmentSchema(), appointment, language=current_language()))


@api.post("/appointments/<code>/reschedule")
@permission(public)
@limits.lookup
@use_kwargs(RescheduleRequest, location="json")
def reschedule(code, token, start):
    """Move the appointment ``code`` to ``start``; when that time is full nothing changes."""
    appointment = _by_token(code, token)
    office = appointment.office
    try:
        with uow.savepoint():
            operations.reschedule(appointment, start, manage_url=manage_url, token=token)
    except operations.SlotTaken as taken:
        return _taken(taken, office)
    return jsonify(dump(AppointmentSchema(), appointment, language=current_language()))
