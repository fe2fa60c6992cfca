"""What the booking API reads and answers: windows of days, booking and manage bodies, slots.

The shapes are documented in ``docs/openapi.yaml`` (``Availability``,
``Slot``, ``AppointmentRequest``, ``Booked``, ``Appointment``,
``SlotTaken``); ``tests/booking/test_api.py`` checks real answers against
it. Times go out as ISO 8601 in the office's zone with its offset
(``2026-12-03T09:00:00+02:00``) and come in as any ISO 8601 instant that
carries an offset; dates are the office's local dates (``YYYY-MM-DD``).

The citizen's details (``name``, ``email``, ``phone``, ``lang``,
``identifiers``, ``needs``) are only carried here: ``identity.clean_details``
checks them against what the service requires and names every field that
is wrong at once, so their types are its to refuse too.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

from flask_babel import lazy_gettext as _l
from marshmallow import fields

from citizen_desk.catalog.models import POOLS
from citizen_desk.core.schemas import Code, OfficeCode, Schema, max_length, one_of

#: Longest manage token read (``find_by_token`` takes 20–100 characters; longer is a 422).
MAX_TOKEN_LENGTH = 200
#: Longest proof-of-work payload read (``core/challenge.py`` refuses longer ones itself).
MAX_ALTCHA_LENGTH = 4096
#: Instants outside these years are refused as malformed: no office is open then, and
#: converting them to an office's zone could leave the calendar's range.
EARLIEST_YEAR, LATEST_YEAR = 1970, 9000

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
# ISO 8601 / RFC 3339 with seconds optional; the offset (or Z) is required.
_INSTANT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
                      r"([Zz]|[+-][0-9]{2}:[0-9]{2})\Z")


class LocalDate(fields.Field):
    """A calendar date written ``YYYY-MM-DD`` (and only so)."""

    default_error_messages = {"invalid": _l("Enter a date like 2026-12-03.")}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not _DATE.match(value):
            raise self.make_error("invalid")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None


class Instant(fields.Field):
    """An ISO 8601 instant with its UTC offset, e.g. ``2026-12-03T09:00:00+02:00``; aware UTC out.

    A time without an offset is refused: ``09:00`` alone does not say where.
    """

    default_error_messages = {
        "invalid": _l("Give the date and time with their UTC offset, "
                      "like 2026-12-03T09:00:00+02:00."),
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not _INSTANT.match(value):
            raise self.make_error("invalid")
        try:
            parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
            instant = parsed.astimezone(timezone.utc)
        except (ValueError, OverflowError):
            raise self.make_error("invalid") from None
        if not EARLIEST_YEAR <= instant.year <= LATEST_YEAR:
            raise self.make_error("invalid")
        return instant


class ServiceCode(Code):
    """A service code (its shape only: the view finds the service)."""

    default_error_messages = {"invalid_code": _l("There is no service with this code.")}


# -- input ------------------------------------------------------------------------------------

class AvailabilityQuery(Schema):
    """``GET …/availability``: ``?from=`` and ``?to=``, local dates of the office, both included.

    ``from`` defaults to today at the office, ``to`` to ``from`` + 13 days (two weeks).
    """

    first = LocalDate(data_key="from", load_default=None)
    last = LocalDate(data_key="to", load_default=None)


class AppointmentRequest(Schema):
    """``POST /appointments``: where, what, when, and the citizen's details."""

    office = OfficeCode(required=True)
    service = ServiceCode(required=True)
    start = Instant(required=True)
    # The details: checked by ``identity.clean_details`` (types included).
    name = fields.Raw(load_default=None, allow_none=True)
    email = fields.Raw(load_default=None, allow_none=True)
    phone = fields.Raw(load_default=None, allow_none=True)
    lang = fields.Raw(load_default=None, allow_none=True)
    identifiers = fields.Raw(load_default=None, allow_none=True)
    needs = fields.Raw(load_default=None, allow_none=True)
    #: The seats booked into: ``public``; ``staff`` and ``ngo`` for staff callers only.
    pool = fields.String(load_default="public", validate=one_of(POOLS))
    #: The solved proof-of-work challenge, when the office asks for one.
    altcha = fields.String(load_default=None, allow_none=True,
                           validate=max_length(MAX_ALTCHA_LENGTH))


class ManageRequest(Schema):
    """``POST /appointments/<code>/cancel``: the manage link's secret."""

    token = fields.String(required=True, validate=max_length(MAX_TOKEN_LENGTH))


class RescheduleRequest(ManageRequest):
    """``POST /appointments/<code>/reschedule``: the secret and the new time."""

    start = Instant(required=True)


# -- output -----------------------------------------------------------------------------------

class SlotSchema(Schema):
    """A free time (``views.LocalSlot``): start and end in the office's zone, seats left."""

    start = fields.Function(lambda slot: slot.start.isoformat())
    end = fields.Function(lambda slot: slot.end.isoformat())
    free = fields.Integer()


class AvailabilitySchema(Schema):
    """The free times of a window (``api.Window``)."""

    office = fields.String()
    service = fields.String()
    timezone = fields.String()
    first = fields.Date(data_key="from")
    last = fields.Date(data_key="to")
    slots = fields.List(fields.Nested(SlotSchema))


class AppointmentSchema(Schema):
    """An appointment as its holder sees it."""

    code = fields.Function(lambda appointment: appointment.display_code)
    status = fields.Function(lambda appointment: appointment.status.value)
    office = fields.Function(lambda appointment: appointment.office.code)
    service = fields.Function(lambda appointment: appointment.service.code)
    start = fields.Function(lambda appointment: appointment.local_start.isoformat())
    end = fields.Function(lambda appointment: appointment.local_end.isoformat())
    pool = fields.String()


class BookedSchema(AppointmentSchema):
    """A new booking (``api.Receipt``): the appointment and its manage link, shown once."""

    manage_url = fields.String()
