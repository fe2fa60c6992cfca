"""What staff read out, print or send to a citizen about a booking, in the booking's language.

``short_text`` is a text-message-sized summary (at most ``SMS_LENGTH``
characters) that staff copy into whatever they send texts with;
``slip_context`` is what the printed confirmation shows. Both are made under
``force_locale(appointment.language)``, whatever language the staff page is in.
"""
from __future__ import annotations

from contextlib import contextmanager

from flask import current_app
from flask_babel import force_locale, gettext as _

from citizen_desk.booking.models import Appointment
from citizen_desk.core.content import pick
from citizen_desk.core.i18n import format_local

#: One text message of the GSM alphabet.
SMS_LENGTH = 160
#: A name is shortened to no fewer characters than this before a part of the text is dropped.
SHORTEST_NAME = 12


@contextmanager
def in_language_of(appointment: Appointment):
    """Translate and format in the booking's language (the default one if it is not offered)."""
    language = appointment.language
    if language not in current_app.config["LANGUAGES"]:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(language):
        yield language


def _shorten(text: str, length: int) -> str:
    return text if len(text) <= length else text[:max(length - 1, 1)].rstrip() + "…"


def _fit(template, values: dict, shrinkable: tuple[str, ...]) -> str | None:
    """``template`` filled in, names shortened until it fits; ``None`` if it cannot."""
    values = dict(values)
    text = template(**values)
    for key in shrinkable:
        excess = len(text) - SMS_LENGTH
        if excess <= 0:
            break
        values[key] = _shorten(values[key], max(SHORTEST_NAME, len(values[key]) - excess))
        text = template(**values)
    return text if len(text) <= SMS_LENGTH else None


def short_text(appointment: Appointment) -> str:
    """The booking in one text message (≤ 160 characters), in the booking's language."""
    with in_language_of(appointment) as language:
        office = appointment.office
        values = {
            "service": appointment.service.display_name(language),
            "office": office.display_name(language),
            "date": format_local(appointment.start_dt, "EEE d/M", tz=office.timezone),
            "time": format_local(appointment.start_dt, "time", tz=office.timezone),
            "code": appointment.display_code,
        }
        with_phone = None
        if office.phone:
            # i18n: A text message of at most 160 characters; keep it short.
            with_phone = _fit(lambda **v: _(
                "Appointment %(date)s %(time)s, %(office)s: %(service)s. Code %(code)s. "
                "Changes: %(phone)s", phone=office.phone, **v), values, ("service", "office"))
        if with_phone:
            return with_phone
        # i18n: A text message of at most 160 characters; keep it short.
        text = _fit(lambda **v: _(
            "Appointment %(date)s %(time)s, %(office)s: %(service)s. Code %(code)s", **v),
            values, ("service", "office"))
        if text is None:  # an unusually long translation: the code and the time come first
            text = _("Appointment %(date)s %(time)s, %(office)s: %(service)s. Code %(code)s",
                     **{**values, "service": "", "office": ""})[:SMS_LENGTH]
        return text


def spelled(code: str) -> list[list[str]]:
    """``"K7M4QX"`` → ``[["K", "7", "M"], ["4", "Q", "X"]]``: the code as it is read out."""
    return [list(code[:3]), list(code[3:])]


def slip_context(appointment: Appointment, language: str) -> dict:
    """What the printed confirmation shows, in ``language`` (call it inside ``in_language_of``)."""
    office, service = appointment.office, appointment.service
    return {
        "appointment": appointment,
        "office_name": office.display_name(language),
        "address": pick(office.address, language),
        "service_name": service.display_name(language),
        "documents": service.document_list(language),
        "day": format_local(appointment.start_dt, "full", tz=office.timezone),
        "time": format_local(appointment.start_dt, "time", tz=office.timezone),
        "end": format_local(appointment.end_dt, "time", tz=office.timezone),
        "code": spelled(appointment.code),
        "language": language,
    }
