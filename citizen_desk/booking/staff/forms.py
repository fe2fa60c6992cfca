"""Forms of the staff side of booking: the booking form, cancelling with a reason.

The booking form checks only what it can alone (a time was picked, a known
pool and channel); the citizen's details are checked by
``identity.clean_details`` and the time by the operations, whose
``ValidationError`` names the fields of this form (see ``DETAIL_FIELDS``).
"""
from __future__ import annotations

from functools import lru_cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, RadioField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Length

from citizen_desk.booking.identity import interpreter_choices
from citizen_desk.catalog.models import PERSONAL_FIELD_LABELS
from citizen_desk.core.i18n import NATIVE_NAMES

#: The identifiers a service may require, besides the contact fields every form has.
IDENTIFIER_FIELDS = ("amka", "afm", "id_number", "birth_date", "address")

#: Where ``clean_details``' error keys are shown on the form.
DETAIL_FIELDS = {f"identifiers.{code}": code for code in IDENTIFIER_FIELDS}
DETAIL_FIELDS.update({"needs.interpreter": "interpreter", "needs.wheelchair": "wheelchair",
                      "needs.sign_language": "sign_language"})

POOL_LABELS = {
    "staff": _l("Staff seats"),
    "public": _l("Public seats"),
    "ngo": _l("NGO seats"),
}

CHANNEL_LABELS = {
    "online": _l("Online"),
    "phone": _l("By phone"),
    "counter": _l("At the counter"),
    "ngo": _l("Through an organisation"),
    "api": _l("Through an integration"),
}


def language_choices() -> list[SelectChoice]:
    return [SelectChoice(code, NATIVE_NAMES.get(code, code))
            for code in current_app.config["LANGUAGES"]]


class BookingForm(FlaskForm):
    """A booking made by staff: the time, the seats, how the citizen asked, their details."""

    #: Checked by the view (an instant from the list) and by ``operations.slot_at``.
    start = RadioField(_l("Time"), choices=[], validate_choice=False)
    name = StringField(_l("Full name"), description=_l("As written on the identity card."))
    phone = StringField(_l("Phone number"))
    email = StringField(_l("E-mail address (optional)"))
    #: Both checked by ``clean_details`` (with its own messages).
    language = SelectField(_l("Language of the confirmation"), choices=[], validate_choice=False)
    interpreter = SelectField(_l("Interpreter"), choices=[], validate_choice=False)
    wheelchair = BooleanField(_l("Needs wheelchair access"))
    sign_language = BooleanField(_l("Needs a sign language interpreter"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = language_choices()
        self.interpreter.choices = [SelectChoice("", _l("No interpreter needed"))] + [
            SelectChoice(code, label) for code, label in interpreter_choices()]

    def raw_details(self, identifiers: tuple[str, ...]) -> dict:
        """What ``identity.clean_details`` reads, as typed."""
        return {
            "name": self.name.data, "phone": self.phone.data, "email": self.email.data,
            "language": self.language.data,
            "identifiers": {code: self[code].data for code in identifiers},
            "needs": {"interpreter": self.interpreter.data or None,
                      "wheelchair": bool(self.wheelchair.data),
                      "sign_language": bool(self.sign_language.data)},
        }

    def show_errors(self, errors: dict):
        """Put ``clean_details``' or an operation's errors beside their fields."""
        for key, message in errors.items():
            target = self._fields.get(DETAIL_FIELDS.get(key, key))
            if target is None or target.name == "csrf_token":
                self.form_errors.append(message)
            else:
                target.errors = [*(target.errors or []), message]


class DeskBookingForm(BookingForm):
    """A clerk's or manager's booking for a caller: staff or public seats, phone or counter."""

    pool = RadioField(_l("Seats"), choices=[SelectChoice("staff", POOL_LABELS["staff"]),
                                            SelectChoice("public", POOL_LABELS["public"])],
                      default="staff")
    channel = RadioField(_l("How the citizen asked"),
                         choices=[SelectChoice("phone", CHANNEL_LABELS["phone"]),
                                  SelectChoice("counter", CHANNEL_LABELS["counter"])],
                         default="phone")


class NgoBookingForm(BookingForm):
    """An NGO worker's booking for someone they support: contact details are optional."""

    phone = StringField(_l("Phone number (optional)"))


@lru_cache(maxsize=64)
def booking_form_class(base: type, identifiers: tuple[str, ...]) -> type:
    """``base`` with a text field for each identifier the service requires."""
    fields = {code: StringField(PERSONAL_FIELD_LABELS[code]) for code in identifiers}
    if "birth_date" in fields:
        fields["birth_date"] = StringField(PERSONAL_FIELD_LABELS["birth_date"],
                                           description=_l("Day/month/year, like 25/03/1980."))
    return type(f"{base.__name__}With{len(identifiers)}", (base,), fields)


def identifiers_of(service) -> tuple[str, ...]:
    """The identifiers ``service`` requires, in the order the form shows them."""
    required = set(service.required_fields or ())
    return tuple(code for code in IDENTIFIER_FIELDS if code in required)


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the cancellation"), description=_l(
        "Say why, as the citizen told you or as the office decided. The citizen may be told."),
        validators=[DataRequired(_l("Enter the reason for the cancellation.")),
                    Length(max=500, message=_l("Enter at most %(max)d characters."))])
