"""What a citizen gives when booking: checked, normalised, and the keys that cap their bookings.

``clean_details`` reads the details step of the booking journey (the form,
the API's JSON or a clerk's entry for a caller) and returns them in one
stored form, or raises ``ValidationError`` naming *every* field that is
wrong at once, with translated messages:

- ``name``: trimmed, spaces collapsed, 2–120 characters, a letter at least,
  no control characters or bidirectional overrides;
- ``email``: ``email-validator``'s normalised form (no deliverability check:
  no network in a request);
- ``phone``: ``phonenumbers`` with Greece as the default region (``6912345678``,
  ``+30 691 234 5678`` and ``0030 691…`` are one number), stored as E.164;
  a mobile or a landline, Greek or foreign;
- identifiers a service may require (``catalog.models.PERSONAL_FIELDS``):
  AMKA and ΑΦΜ with their check digits (``python-stdnum``), an identity card
  or passport number, a date of birth, a home address.

Error keys follow the shape of the input: ``name``, ``email``, ``phone``,
``language``, ``identifiers.amka``, ``needs.interpreter`` (see ``field_key``).
Only what the service requires is kept: other identifiers are dropped
unread, which keeps the personal data minimal.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache

import phonenumbers
from babel import Locale, UnknownLocaleError
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from stdnum.exceptions import InvalidChecksum, InvalidComponent
from stdnum.exceptions import ValidationError as NumberError
from stdnum.gr import amka as amka_number
from stdnum.gr import vat as afm_number

from citizen_desk.catalog.models import PERSONAL_FIELDS
from citizen_desk.core.i18n import available_languages, current_language, zone
from citizen_desk.core.validation import ValidationError

#: Region of numbers written without a country code.
DEFAULT_REGION = "GR"
#: Length limits, in characters, of the stored values.
NAME_LENGTH = (2, 120)
ADDRESS_LENGTH = 200
EMAIL_LENGTH = 254
#: Longest text read for a short field (a phone number, an AMKA…), spaces inside included.
SHORT_INPUT_LENGTH = 40
#: A date of birth further back than this is a typing mistake.
OLDEST_AGE_YEARS = 130
#: Identity card or passport number once normalised: 5–12 Latin capitals and digits.
ID_NUMBER_PATTERN = re.compile(r"^(?=.*[0-9])[A-Z0-9]{5,12}\Z")
#: Greek and Cyrillic capitals that look like Latin ones, written the Latin way:
#: “ΑΒ 123456” typed on a Greek keyboard and “AB123456” are one card.
LOOK_ALIKES = str.maketrans(
    "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ" "АВЕКМНОРСТХІЈ",
    "ABEZHIKMNOPTYX" "ABEKMHOPCTXIJ",
)
#: Phone lines a citizen can be reached on (premium-rate, toll-free and pagers cannot).
CONTACT_LINE_TYPES = frozenset({
    PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.VOIP, PhoneNumberType.PERSONAL_NUMBER,
})
#: Line types that take a text message (numbering plans such as the USA's don't tell).
SMS_LINE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
#: Languages an office is asked to find an interpreter for: the languages
#: that people who come to Greek front offices speak most (BCP 47, as CLDR names them).
INTERPRETER_CODES = (
    "sq", "ar", "am", "bn", "bg", "zh", "fa-AF", "en", "fr", "ka", "hi", "ku", "ckb",
    "ln", "pa", "ps", "fa", "ro", "ru", "so", "sw", "ti", "tr", "uk", "ur", "fil",
)
#: What ``needs`` may hold.
NEEDS = ("interpreter", "wheelchair", "sign_language")
#: Top-level keys that ``clean_details`` reads; others (office, service, start…) are the caller's.
DETAIL_KEYS = ("name", "email", "phone", "language", "identifiers", "needs")

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_WHITESPACE_CONTROLS = frozenset("\t\n\r")
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_]{1,40}\Z")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\Z")
_DAY_FIRST_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\Z")

# i18n: Messages name each field the way it is written on the citizen's own documents.
MESSAGES = {
    "name.required": _l("Enter your full name."),
    "name.length": _l("Your full name must be %(min)d to %(max)d characters long.",
                      min=NAME_LENGTH[0], max=NAME_LENGTH[1]),
    "name.letters": _l("Your full name must contain letters."),
    "text.characters": _l("Remove the invisible or control characters from this field."),
    "text.type": _l("Enter text."),
    "email.required": _l("Enter your e-mail address."),
    "email.invalid": _l("Enter an e-mail address like name@example.gr."),
    "phone.required": _l("Enter your phone number."),
    "phone.invalid": _l("Enter a mobile or landline number, like 6912345678 or +30 691 234 5678."),
    "contact.required": _l("Enter an e-mail address or a phone number, so that we can reach "
                           "you about your appointment."),
    "amka.required": _l("Enter your social security number (AMKA)."),
    "amka.format": _l("The AMKA has 11 digits."),
    "amka.invalid": _l("This AMKA is not valid: check its digits."),
    "afm.required": _l("Enter your tax identification number (AFM)."),
    "afm.format": _l("The AFM has 9 digits."),
    "afm.invalid": _l("This AFM is not valid: check its digits."),
    "id_number.required": _l("Enter the number of your identity card or passport."),
    "id_number.invalid": _l("Enter the number as written on your identity card or passport: "
                            "5 to 12 letters and digits, like ΑΒ 123456."),
    "birth_date.required": _l("Enter your date of birth."),
    "birth_date.invalid": _l("Enter your date of birth as day/month/year, like 25/03/1980."),
    "birth_date.future": _l("Your date of birth cannot be in the future."),
    "birth_date.too_old": _l("Check the year of your date of birth."),
    "address.required": _l("Enter your home address."),
    "language.invalid": _l("Choose one of the offered languages."),
    "interpreter.invalid": _l("Choose the interpreter's language from the list."),
    "flag.invalid": _l("must be of type %(type)s", type="boolean"),
    "object.invalid": _l("must be of type %(type)s", type="object"),
    "unknown": _l("unknown field"),
}


def _too_long(limit: int):
    return lazy_ngettext("Enter at most %(num)d character.", "Enter at most %(num)d characters.",
                         limit)


class _Refused(Exception):
    """One field's problem, collected by ``clean_details``."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def field_key(code: str) -> str:
    """The error key of a personal field: ``phone``, ``email``, or ``identifiers.<code>``."""
    return code if code in ("phone", "email") else f"identifiers.{code}"


# -- the fields ---------------------------------------------------------------------------------

def _text(value, limit: int) -> str:
    """``value`` as one line of text: NFC, spaces collapsed, no control characters."""
    if not isinstance(value, str):
        raise _Refused(MESSAGES["text.type"])
    if len(value) > 4 * limit:  # a hostile paste is refused before it is worked on
        raise _Refused(_too_long(limit))
    value = unicodedata.normalize("NFC", value)
    for char in value:
        if char in _WHITESPACE_CONTROLS:
            continue
        if char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs", "Co"):
            raise _Refused(MESSAGES["text.characters"])
    value = " ".join(value.split())
    if len(value) > limit:
        raise _Refused(_too_long(limit))
    return value


def _short(value, message, limit: int = SHORT_INPUT_LENGTH) -> str:
    """A short field (a number, an address): text, stripped, at most ``limit`` characters."""
    if not isinstance(value, str):
        raise _Refused(MESSAGES["text.type"])
    value = value.strip()
    if len(value) > limit:
        raise _Refused(message)
    return value


def clean_name(value) -> str:
    name = _text(value, NAME_LENGTH[1])
    if not name:
        raise _Refused(MESSAGES["name.required"])
    if len(name) < NAME_LENGTH[0]:
        raise _Refused(MESSAGES["name.length"])
    if not any(char.isalpha() for char in name):
        raise _Refused(MESSAGES["name.letters"])
    return name


def clean_email(value) -> str:
    value = _short(value, MESSAGES["email.invalid"], EMAIL_LENGTH)
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise _Refused(MESSAGES["email.invalid"]) from None


def clean_phone(value) -> str:
    """A phone number a citizen can be called on, as E.164 (``+306912345678``)."""
    value = _short(value, MESSAGES["phone.invalid"])
    try:
        number = phonenumbers.parse(value, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise _Refused(MESSAGES["phone.invalid"]) from None
    if (not phonenumbers.is_valid_number(number)
            or phonenumbers.number_type(number) not in CONTACT_LINE_TYPES):
        raise _Refused(MESSAGES["phone.invalid"])
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def is_mobile(e164: str | None) -> bool:
    """Whether a stored number takes text messages (a mobile; or a line whose plan doesn't say)."""
    if not e164:
        return False
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    return (phonenumbers.is_valid_number(number)
            and phonenumbers.number_type(number) in SMS_LINE_TYPES)


def clean_amka(value) -> str:
    """An AMKA: 11 digits, a valid date of birth in the first six, the Luhn check digit."""
    value = amka_number.compact(_short(value, MESSAGES["amka.format"]))
    if not value.isascii() or not value.isdigit() or len(value) != 11:
        raise _Refused(MESSAGES["amka.format"])
    try:
        return amka_number.validate(value)
    except (InvalidChecksum, InvalidComponent, NumberError):
        raise _Refused(MESSAGES["amka.invalid"]) from None


def clean_afm(value) -> str:
    """A ΑΦΜ: 9 digits with its check digit; ``EL``/``GR`` prefixes and spaces are dropped."""
    value = afm_number.compact(_short(value, MESSAGES["afm.format"]))
    if not value.isascii() or not value.isdigit() or len(value) != 9:
        raise _Refused(MESSAGES["afm.format"])
    try:
        return afm_number.validate(value)
    except (InvalidChecksum, NumberError):
        raise _Refused(MESSAGES["afm.invalid"]) from None


def normalise_id_number(value: str) -> str:
    """One written form of a card or passport number: NFKC, capitals, no spaces, Latin letters."""
    value = unicodedata.normalize("NFKC", value).upper()
    value = "".join(char for char in value if not char.isspace() and char not in "-./")
    return value.translate(LOOK_ALIKES)


def clean_id_number(value) -> str:
    value = normalise_id_number(_short(value, MESSAGES["id_number.invalid"]))
    if not ID_NUMBER_PATTERN.match(value):
        raise _Refused(MESSAGES["id_number.invalid"])
    return value


def clean_birth_date(value, today: date | None = None) -> str:
    """A date of birth (``1980-03-25`` or ``25/03/1980``), as ISO ``YYYY-MM-DD``."""
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        value = _parse_date(_short(value, MESSAGES["birth_date.invalid"]))
    today = today or datetime.now(zone()).date()
    if value > today:
        raise _Refused(MESSAGES["birth_date.future"])
    if value.year < today.year - OLDEST_AGE_YEARS or (
            value.year == today.year - OLDEST_AGE_YEARS
            and (value.month, value.day) < (today.month, today.day)):
        raise _Refused(MESSAGES["birth_date.too_old"])
    return value.isoformat()


def _parse_date(text: str) -> date:
    if match := _ISO_DATE.match(text):
        year, month, day = match.groups()
    elif match := _DAY_FIRST_DATE.match(text):
        day, month, year = match.groups()
    else:
        raise _Refused(MESSAGES["birth_date.invalid"])
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise _Refused(MESSAGES["birth_date.invalid"]) from None


def clean_address(value) -> str:
    return _text(value, ADDRESS_LENGTH)


IDENTIFIER_CLEANERS = {
    "amka": clean_amka,
    "afm": clean_afm,
    "id_number": clean_id_number,
    "birth_date": clean_birth_date,
    "address": clean_address,
    "phone": clean_phone,
    "email": clean_email,
}


# -- languages ----------------------------------------------------------------------------------

def _babel_key(code: str) -> str:
    return code.replace("-", "_")


@lru_cache(maxsize=None)
def language_name(code: str, in_language: str | None = None) -> str:
    """The name of a language in ``in_language`` (default: in itself), as a list shows it."""
    try:
        reader = Locale.parse(_babel_key(in_language or code))
        name = reader.languages.get(_babel_key(code)) or Locale.parse(
            _babel_key(code)).get_display_name(reader)
    except (UnknownLocaleError, ValueError, TypeError):
        return code
    if not name:
        return code
    # CLDR writes “shqip”, “русский”; a list shows them capitalised. Georgian has
    # capitals too, but they are not used to start a word: only these scripts.
    if unicodedata.name(name[0], "").startswith(("LATIN", "GREEK", "CYRILLIC")):
        name = name[0].upper() + name[1:]
    return name


#: The interpreter languages and each one's own name (``{"ar": "العربية", "fa-AF": "دری", …}``).
INTERPRETER_LANGUAGES = {code: language_name(code) for code in INTERPRETER_CODES}
_INTERPRETER_BY_FOLDED = {code.lower(): code for code in INTERPRETER_CODES}


def interpreter_choices(in_language: str | None = None) -> list[tuple[str, str]]:
    """``(code, label)`` pairs for a select: the name in the reader's language, then its own."""
    reader = in_language or current_language()
    choices = []
    for code, own in INTERPRETER_LANGUAGES.items():
        name = language_name(code, reader)
        choices.append((code, name if name == own else f"{name} — {own}"))
    return sorted(choices, key=lambda choice: choice[1].casefold())


def clean_interpreter(value) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 20:
        raise _Refused(MESSAGES["interpreter.invalid"])
    code = _INTERPRETER_BY_FOLDED.get(value.strip().replace("_", "-").lower())
    if code is None:
        raise _Refused(MESSAGES["interpreter.invalid"])
    return code


def clean_language(value) -> str:
    if value is None or value == "":
        return current_language()
    if isinstance(value, str) and len(value) <= 20:
        code = value.strip().replace("_", "-").lower().split("-")[0]
        if code in available_languages():
            return code
    raise _Refused(MESSAGES["language.invalid"])


def _flag(value) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _Refused(MESSAGES["flag.invalid"])
    return value


# -- the whole step -----------------------------------------------------------------------------

def _safe_key(prefix: str, key) -> str:
    """An error key naming the input's own key, unless that key is too odd to echo back."""
    return f"{prefix}.{key}" if isinstance(key, str) and _SAFE_KEY.match(key) else prefix


def clean_details(raw: dict, required: list[str], *, contact_required: bool = True) -> dict:
    """The citizen's details, checked and normalised; ``ValidationError`` lists every problem.

    ``raw`` holds ``name``, ``email``, ``phone``, ``language``, ``identifiers``
    (``{field code: value}``) and ``needs``; its other keys are ignored.
    ``required`` are the service's ``required_fields``; ``phone`` and ``email``
    are read from the top level (or, failing that, from ``identifiers``).
    With ``contact_required`` an e-mail address or a phone number must be given.

    Returns ``{"name", "email" (or None), "phone" (E.164 or None), "language",
    "identifiers": {code: value} (the required ones, except phone and email),
    "needs": {"interpreter": code or None, "wheelchair": bool, "sign_language": bool}}``.
    """
    if not isinstance(raw, dict):
        raise ValidationError.at("", MESSAGES["object.invalid"])
    unknown_required = [code for code in required if code not in PERSONAL_FIELDS]
    if unknown_required:  # the catalog refuses these: a bug, not the citizen's input
        raise ValueError(f"unknown personal fields required: {unknown_required}")
    errors: dict = {}

    def attempt(key: str, clean, value):
        try:
            return clean(value)
        except _Refused as problem:
            errors.setdefault(key, problem.message)
            return None

    identifiers_raw = raw.get("identifiers")
    if identifiers_raw is None:
        identifiers_raw = {}
    elif not isinstance(identifiers_raw, dict):
        errors["identifiers"] = MESSAGES["object.invalid"]
        identifiers_raw = {}
    for code in identifiers_raw:
        if code not in PERSONAL_FIELDS:
            errors.setdefault(_safe_key("identifiers", code), MESSAGES["unknown"])

    details = {"name": None, "email": None, "phone": None, "language": None,
               "identifiers": {}, "needs": None}
    name = raw.get("name")
    if _blank(name):
        errors["name"] = MESSAGES["name.required"]
    else:
        details["name"] = attempt("name", clean_name, name)

    for code in ("email", "phone"):
        value = raw.get(code)
        if _blank(value):
            value = identifiers_raw.get(code)
        if _blank(value):
            if code in required:
                errors[code] = MESSAGES[f"{code}.required"]
        else:
            details[code] = attempt(code, IDENTIFIER_CLEANERS[code], value)
    if (contact_required and not details["email"] and not details["phone"]
            and "email" not in errors and "phone" not in errors):
        errors["email"] = errors["phone"] = MESSAGES["contact.required"]

    for code in required:
        if code in ("email", "phone") or code in details["identifiers"]:
            continue
        key = field_key(code)
        value = identifiers_raw.get(code)
        if _blank(value):
            errors.setdefault(key, MESSAGES[f"{code}.required"])
            continue
        cleaned = attempt(key, IDENTIFIER_CLEANERS[code], value)
        if cleaned:
            details["identifiers"][code] = cleaned
        elif key not in errors:  # an address of spaces only
            errors[key] = MESSAGES[f"{code}.required"]

    details["language"] = attempt("language", clean_language, raw.get("language"))
    details["needs"] = _clean_needs(raw.get("needs"), errors)
    if errors:
        raise ValidationError(errors)
    return details


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _clean_needs(raw, errors: dict) -> dict:
    needs = {"interpreter": None, "wheelchair": False, "sign_language": False}
    if raw is None:
        return needs
    if not isinstance(raw, dict):
        errors["needs"] = MESSAGES["object.invalid"]
        return needs
    for key, value in raw.items():
        if key not in NEEDS:
            errors.setdefault(_safe_key("needs", key), MESSAGES["unknown"])
            continue
        clean = clean_interpreter if key == "interpreter" else _flag
        try:
            needs[key] = clean(value)
        except _Refused as problem:
            errors[f"needs.{key}"] = problem.message
    return needs


def citizen_keys(details: dict) -> list[str]:
    """What identifies the citizen for the cap on bookings: ``email:…``, ``phone:…``, ``amka:…``,
    ``afm:…``, ``id:…`` — those present in ``details`` (as ``clean_details`` returns them)."""
    keys = []
    if details.get("email"):
        keys.append(f"email:{details['email'].lower()}")
    if details.get("phone"):
        keys.append(f"phone:{details['phone']}")
    identifiers = details.get("identifiers") or {}
    for code, prefix in (("amka", "amka"), ("afm", "afm"), ("id_number", "id")):
        if identifiers.get(code):
            keys.append(f"{prefix}:{identifiers[code]}")
    return keys
