"""The kiosk's JSON API: ``POST /api/v1/offices/<office>/tickets`` issues a ticket.

A kiosk token of the office, or a token of its staff, sends
``{"service", "priority"?, "lang"?, "appointment_code"?, "needs"?,
"notify_phone"?, "notify_email"?}`` with an ``Idempotency-Key`` header
(1–64 characters): ``201`` and the ticket (``schemas.ticket_json``) when it
is new, ``200`` and the same ticket when the key was used before with the
same body, ``422`` when it was used with another. A kiosk's ticket is a
walk-in, for a service open now (``operations.check_issuable``); a staff
token's is a desk ticket, issued by that person and not bound by the hours.

With ``appointment_code`` the appointment is checked in instead
(``checkin.check_in``): ``409`` when it is too early (with
``checkin_opens_at``) or too late (with ``"walk_in_offered": true``: the
kiosk may then ask for a walk-in ticket for the same service).
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from sqlalchemy import select

from citizen_desk.booking import identity
from citizen_desk.booking.schemas import ServiceCode
from citizen_desk.catalog.models import Service
from citizen_desk.core.access import permission
from citizen_desk.core.errors import error_response
from citizen_desk.core.i18n import current_language
from citizen_desk.core.schemas import LanguageCode, Schema, max_length, use_kwargs
from citizen_desk.core.validation import CODE_PATTERN, ValidationError
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import checkin, operations
from citizen_desk.queue.models import Ticket, TicketKind
from citizen_desk.queue.schemas import ticket_json
from citizen_desk.staff.models import TokenPurpose
from citizen_desk.staff.permissions import current_actor, device_of

api = Blueprint("queue_kiosk_api", __name__)

HEADER = "Idempotency-Key"
MAX_KEY = 64


class TicketRequest(Schema):
    """``POST /offices/<office>/tickets``: what the kiosk's citizen chose."""

    service = ServiceCode(load_default=None, allow_none=True)
    priority = fields.String(load_default=None, allow_none=True, validate=max_length(32))
    lang = LanguageCode(load_default=None, allow_none=True)
    appointment_code = fields.String(load_default=None, allow_none=True,
                                     validate=max_length(500))
    # Checked by the operation (``_clean_needs``), types included.
    needs = fields.Raw(load_default=None, allow_none=True)
    notify_phone = fields.Raw(load_default=None, allow_none=True)
    notify_email = fields.Raw(load_default=None, allow_none=True)


@api.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def find_office(code) -> Office | None:
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        return None
    office = db.session.scalar(select(Office).where(Office.code == code))
    return office if office is not None and not office.retired else None


def find_service(code) -> Service | None:
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        return None
    return db.session.scalar(select(Service).where(Service.code == code))


def clean_contact(phone, email) -> tuple[str | None, str | None]:
    """The "tell me when my turn nears" contact, cleaned; a ``ValidationError`` per bad field."""
    errors, cleaned = {}, {}
    for field, value, clean in (("notify_phone", phone, identity.clean_phone),
                                ("notify_email", email, identity.clean_email)):
        if value in (None, ""):
            cleaned[field] = None
            continue
        try:
            cleaned[field] = clean(value)
        except Exception as problem:  # identity's refusal carries its translated message
            if getattr(problem, "message", None) is None:
                raise
            errors[field] = problem.message
            continue
        if field == "notify_phone" and not identity.is_mobile(cleaned[field]):
            errors[field] = _l("Enter a mobile number, like 6912345678, for the text message.")
    if errors:
        raise ValidationError(errors)
    return cleaned["notify_phone"], cleaned["notify_email"]


def _key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY or not key.isprintable():
        raise ValidationError.at(HEADER, _l("The request key is not valid."))
    return key


def _same_request(ticket: Ticket, language, needs, phone, email) -> bool:
    """Whether a replayed key came with the body of its first request (beyond the operation's
    own check of service, kind and priority)."""
    return (ticket.language == language and ticket.needs == operations._clean_needs(needs)
            and ticket.notify_phone == phone and ticket.notify_email == email)


@api.post("/offices/<office>/tickets")
@permission(device_of(TokenPurpose.kiosk))
@use_kwargs(TicketRequest, location="json")
def issue(office, service, priority, lang, appointment_code, needs, notify_phone,
          notify_email):
    """Issue a ticket at ``office`` (or check an appointment in); idempotent by its key."""
    found = find_office(office)
    if found is None:
        return error_response(404, _("There is no office with this code."))
    key = _key()
    language = lang or current_language()
    phone, email = clean_contact(notify_phone, notify_email)
    actor = current_actor()
    clerk = actor.user if actor.token is None or not actor.token.is_device else None
    if appointment_code is not None:
        return _check_in(found, appointment_code, lang, key, clerk, phone, email)
    if service is None:
        raise ValidationError.at("service", _l("Choose one of the services of this office."))
    kind = TicketKind.staff if clerk is not None else TicketKind.walk_in
    ticket, created = operations.issue(
        found, find_service(service), kind=kind, priority=priority or None, language=language,
        needs=needs, idempotency_key=key, issued_by=clerk, notify_phone=phone,
        notify_email=email)
    if not created and not _same_request(ticket, language, needs, phone, email):
        raise ValidationError.at(HEADER, _l(
            "This request key was already used for another ticket."))
    return _answer(ticket, created)


def _answer(ticket: Ticket, created: bool):
    """The ticket as the kiosk shows it: ``201`` when issued now, ``200`` for a replayed key."""
    return jsonify(ticket_json(ticket, language=ticket.language)), 201 if created else 200


def _check_in(office, code, lang, key, clerk, phone, email):
    try:
        ticket, created = checkin.check_in(office, code, language=lang, idempotency_key=key,
                                           issued_by=clerk, notify_phone=phone,
                                           notify_email=email)
    except checkin.TooEarly as early:
        body, status = error_response(409, early.message, field="appointment_code")
        payload = body.get_json()
        payload["checkin_opens_at"] = early.opens_at.astimezone(office.zone).isoformat()
        return jsonify(payload), status
    except checkin.TooLate as late:
        body, status = error_response(409, late.message, field="appointment_code")
        payload = body.get_json()
        payload["walk_in_offered"] = True
        return jsonify(payload), status
    return _answer(ticket, created)
