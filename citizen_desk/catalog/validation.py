"""Checks shared by the catalog's operations, its forms and its importer.

A failed check raises ``ValidationError`` naming the field (``name.el``,
``end_time``, ``ticket_prefix`` …) with a translated message, so a form can
put it next to the right input and the importer can prefix the place in the
file.
"""
from __future__ import annotations

import re
from datetime import date, time
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l

from citizen_desk.core.content import PRIMARY_LANGUAGE
from citizen_desk.core.validation import CODE_PATTERN, LANGUAGE_PATTERN, ValidationError

PREFIX_PATTERN = re.compile(r"^[A-Z]{1,2}\Z")  # \Z: "$" accepts a final newline

#: Longest texts accepted, per field (a description is a few pages, not a book).
MAX_LENGTH = {"name": 200, "label": 100, "summary": 1000, "description": 20000,
              "fees": 1000, "link": 500, "address": 500, "directions": 2000,
              "reason": 500, "document": 500, "synonym": 100}
MAX_ITEMS = 50


def merged(kind: str, current: dict, changes: dict) -> dict:
    """``current`` updated with ``changes``; a field the operation doesn't know is a bug."""
    unknown = set(changes) - set(current)
    if unknown:
        raise TypeError(f"unknown {kind} fields {sorted(unknown)}")
    return {**current, **changes}


def apply_values(obj, values: dict):
    """Set the attributes that change (so that unchanged rows stay clean)."""
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)


def check_code(value, field: str = "code") -> str:
    value = (value or "").strip() if isinstance(value, str) else value
    if not value:
        raise ValidationError.at(field, _l("Enter a code."))
    if not isinstance(value, str) or not CODE_PATTERN.match(value):
        raise ValidationError.at(field, _l("Use up to 32 letters, digits, dots, dashes or "
                                     "underscores, starting with a letter or digit."))
    return value


def check_text(value, field: str, kind: str, required: bool = False) -> dict:
    """A translated text ``{language: text}``: stripped, not too long, Greek if required."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ValidationError.at(field, _l("Give a text for each language."))
    cleaned = {}
    for language, text in value.items():
        if not isinstance(language, str) or not LANGUAGE_PATTERN.match(language):
            raise ValidationError.at(field, _l("“%(language)s” is not a language code.",
                                         language=str(language)[:20]))
        if text is None:
            continue
        if not isinstance(text, str):
            raise ValidationError.at(f"{field}.{language}", _l("Enter text."))
        text = text.strip()
        if len(text) > MAX_LENGTH[kind]:
            raise ValidationError.at(f"{field}.{language}", _l(
                "Enter at most %(max)d characters.", max=MAX_LENGTH[kind]))
        if text:
            cleaned[language] = text
    if required and not cleaned.get(PRIMARY_LANGUAGE):
        raise ValidationError.at(f"{field}.{PRIMARY_LANGUAGE}", _l("Enter the text in Greek."))
    return cleaned


def check_text_lists(value, field: str, kind: str) -> dict:
    """``{language: [text, …]}`` (documents to bring, synonyms)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError.at(field, _l("Give a list for each language."))
    cleaned = {}
    for language, items in value.items():
        if not isinstance(language, str) or not LANGUAGE_PATTERN.match(language):
            raise ValidationError.at(field, _l("“%(language)s” is not a language code.",
                                         language=str(language)[:20]))
        if not isinstance(items, (list, tuple)):
            raise ValidationError.at(f"{field}.{language}", _l("Give a list."))
        if len(items) > MAX_ITEMS:
            raise ValidationError.at(f"{field}.{language}", _l(
                "Give at most %(max)d items.", max=MAX_ITEMS))
        texts = []
        for index, text in enumerate(items):
            if not isinstance(text, str):
                raise ValidationError.at(f"{field}.{language}[{index}]", _l("Enter text."))
            if len(text.strip()) > MAX_LENGTH[kind]:
                raise ValidationError.at(f"{field}.{language}[{index}]", _l(
                    "Enter at most %(max)d characters.", max=MAX_LENGTH[kind]))
            if text.strip():
                texts.append(text.strip())
        if texts:
            cleaned[language] = texts
    return cleaned


def check_links(value, field: str = "link") -> dict:
    links = check_text(value, field, "link")
    for language, url in links.items():
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValidationError.at(f"{field}.{language}", _l(
                "Enter a web address starting with https://"))
    return links


def check_int(value, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError.at(field, _l("Enter a whole number."))
    if not low <= value <= high:
        raise ValidationError.at(field, _l("Enter a number from %(low)d to %(high)d.",
                                     low=low, high=high))
    return value


def check_timezone(value, field: str = "timezone") -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError.at(field, _l("“%(zone)s” is not a time zone (e.g. Europe/Athens).",
                                     zone=str(value)[:64])) from None
    return value


def check_holidays(country, subdivision) -> tuple[str | None, str | None]:
    """Country and subdivision known to the ``holidays`` package (``None``: no holidays)."""
    from citizen_desk.catalog.hours import supported_countries
    if not country:
        if subdivision:
            raise ValidationError.at("holiday_country", _l("Choose the country of the subdivision."))
        return None, None
    countries = supported_countries()
    if country not in countries:
        raise ValidationError.at("holiday_country", _l(
            "“%(country)s” is not a country with a public holiday calendar.",
            country=str(country)[:10]))
    if subdivision and subdivision not in countries[country]:
        raise ValidationError.at("holiday_subdivision", _l(
            "“%(subdivision)s” is not a subdivision of %(country)s.",
            subdivision=str(subdivision)[:10], country=country))
    return country, subdivision or None


def check_date(value, field: str, required: bool = True) -> date | None:
    if value is None and not required:
        return None
    if not isinstance(value, date):
        raise ValidationError.at(field, _l("Enter a date."))
    return value


def check_time(value, field: str, required: bool = True) -> time | None:
    if value is None and not required:
        return None
    if not isinstance(value, time):
        raise ValidationError.at(field, _l("Enter a time."))
    return value


def check_prefix(value, field: str = "ticket_prefix") -> str:
    value = value.strip().upper() if isinstance(value, str) else value
    if not isinstance(value, str) or not PREFIX_PATTERN.match(value):
        raise ValidationError.at(field, _l("Enter one or two Latin capital letters (e.g. A or BC)."))
    return value
