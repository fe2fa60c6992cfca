"""The forms of the citizen's booking journey (Flask-WTF: each POST carries its CSRF token).

They only carry what was typed: ``identity.clean_details`` checks the
details, and the operations check office, service and time again on every
POST (``views.py``).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField

from citizen_desk.booking import identity
from citizen_desk.catalog.models import PERSONAL_FIELD_LABELS, PERSONAL_FIELDS
from citizen_desk.core.i18n import NATIVE_NAMES, available_languages

#: Identifiers a service may require, besides the e-mail address and the phone (asked always).
IDENTIFIER_FIELDS = tuple(code for code in PERSONAL_FIELDS if code not in ("email", "phone"))
#: Hints under the identifier fields: where to find the number, which format.
IDENTIFIER_HINTS = {
    "amka": _l("11 digits, as on your health booklet or your AMKA certificate."),
    "afm": _l("9 digits, as on your tax returns."),
    "id_number": _l("As written on the card or passport, for example ΑΒ 123456."),
    "birth_date": _l("For example, 25/03/1980."),
    "address": _l("Street and number, postcode and town."),
}
#: ``autocomplete`` tokens of the fields, so that browsers fill them in.
AUTOCOMPLETE = {"name": "name", "email": "email", "phone": "tel", "birth_date": "bday",
                "address": "street-address"}


def _limit(length: int) -> dict:
    # The browser stops typing there; a longer paste is refused by clean_details and
    # shown back cut to this length (``DetailsForm.show_errors``).
    return {"maxlength": length}


class TimeForm(FlaskForm):
    """The time step: one of the day's free times (an ISO instant), checked by ``hold``."""

    start = StringField(_l("Time"))


class DetailsForm(FlaskForm):
    """The details step; the view removes the identifiers the service does not need."""

    name = StringField(_l("Full name"), render_kw=_limit(identity.NAME_LENGTH[1]),
                       description=_l("As on your identity card or passport."))
    email = StringField(_l("E-mail address"), render_kw=_limit(identity.EMAIL_LENGTH),
                        description=_l("We send the confirmation and the link to change or "
                                       "cancel the appointment here."))
    phone = StringField(_l("Mobile phone number"),
                        render_kw=_limit(identity.SHORT_INPUT_LENGTH),
                        description=_l("For example, 6912345678 or +30 691 234 5678."))
    amka = StringField(PERSONAL_FIELD_LABELS["amka"], description=IDENTIFIER_HINTS["amka"],
                       render_kw=_limit(identity.SHORT_INPUT_LENGTH))
    afm = StringField(PERSONAL_FIELD_LABELS["afm"], description=IDENTIFIER_HINTS["afm"],
                      render_kw=_limit(identity.SHORT_INPUT_LENGTH))
    id_number = StringField(PERSONAL_FIELD_LABELS["id_number"],
                            description=IDENTIFIER_HINTS["id_number"],
                            render_kw=_limit(identity.SHORT_INPUT_LENGTH))
    birth_date = StringField(PERSONAL_FIELD_LABELS["birth_date"],
                             description=IDENTIFIER_HINTS["birth_date"],
                             render_kw=_limit(identity.SHORT_INPUT_LENGTH))
    address = StringField(PERSONAL_FIELD_LABELS["address"],
                          description=IDENTIFIER_HINTS["address"],
                          render_kw=_limit(identity.ADDRESS_LENGTH))
    # clean_details says which values are acceptable, in the words of the journey.
    language = RadioField(_l("Which language should we write to you in?"), choices=[],
                          validate_choice=False)
    interpreter = SelectField(_l("Interpreter"), choices=[], validate_choice=False,
                              description=_l("If you need one, choose the language; the office "
                                             "arranges the interpreter."))
    wheelchair = BooleanField(_l("Wheelchair access"))
    sign_language = BooleanField(_l("Greek Sign Language interpretation"))

    def __init__(self, required_fields, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for code in IDENTIFIER_FIELDS:
            if code not in required_fields:
                delattr(self, code)
        self.required_fields = list(required_fields)
        self.identifier_fields = [self[code] for code in IDENTIFIER_FIELDS
                                  if code in required_fields]
        self.language.choices = [(code, NATIVE_NAMES.get(code, code))
                                 for code in available_languages()]
        self.interpreter.choices = [("", _l("No interpreter needed")),
                                    *identity.interpreter_choices()]

    def raw_details(self) -> dict:
        """What was typed, in the shape ``identity.clean_details`` reads."""
        return {
            "name": self.name.data, "email": self.email.data, "phone": self.phone.data,
            "language": self.language.data,
            "identifiers": {field.name: field.data for field in self.identifier_fields},
            "needs": {"interpreter": self.interpreter.data or None,
                      "wheelchair": bool(self.wheelchair.data),
                      "sign_language": bool(self.sign_language.data)},
        }

    def fill(self, details: dict):
        """Show details already given (``clean_details``'s shape), for a change."""
        self.name.data = details.get("name")
        self.email.data = details.get("email")
        self.phone.data = details.get("phone")
        self.language.data = details.get("language")
        for field in self.identifier_fields:
            field.data = (details.get("identifiers") or {}).get(field.name)
        needs = details.get("needs") or {}
        self.interpreter.data = needs.get("interpreter") or ""
        self.wheelchair.data = bool(needs.get("wheelchair"))
        self.sign_language.data = bool(needs.get("sign_language"))

    def show_errors(self, errors: dict):
        """Put ``clean_details``'s errors (``identifiers.amka``, ``needs.interpreter``…) on
        the fields they are about, or on the form."""
        for field in self:
            limit = (field.render_kw or {}).get("maxlength")
            if limit and isinstance(field.data, str):
                field.data = field.data[:limit]
        if errors.get("email") is not None and errors.get("email") == errors.get("phone"):
            errors = {key: value for key, value in errors.items() if key != "phone"}  # once
        for key, message in errors.items():
            name = key.split(".", 1)[1] if key.startswith(("identifiers.", "needs.")) else key
            if name in self._fields and name != "csrf_token":
                field = self[name]
                field.errors = [*(field.errors or []), message]
            else:
                self.form_errors.append(message)


class BookForm(FlaskForm):
    """The final submit of the check-your-answers page (and the proof of work, if asked)."""
