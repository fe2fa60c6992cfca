"""Locale selection and formatting of dates and times in an office's zone.

The locale comes from, in order: an explicit ``?lang=`` (remembered in the
session), the logged-in staff member's preference, the browser's
``Accept-Language``, and Greek. Unknown or malformed codes are ignored.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from flask import current_app, has_request_context, request, session, url_for
from flask_babel import get_locale

from citizen_desk.core.paging import link_args

#: Each language's own name, shown in the switcher in that language.
NATIVE_NAMES = {"el": "Ελληνικά", "en": "English"}


def available_languages() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def _valid(code) -> str | None:
    if not isinstance(code, str):
        return None
    code = code.strip().lower().replace("_", "-").split("-")[0]
    return code if code in available_languages() else None


def select_locale() -> str:
    """Flask-Babel's locale selector."""
    if not has_request_context():  # CLI and jobs: the default, or ``force_locale``
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    explicit = _valid(request.args.get("lang"))
    if explicit:
        session["lang"] = explicit
        return explicit
    remembered = _valid(session.get("lang"))
    if remembered:
        return remembered
    preferred = _staff_preference()
    if preferred:
        return preferred
    try:
        best = request.accept_languages.best_match(available_languages())
    except ValueError:
        best = None
    return best or current_app.config["BABEL_DEFAULT_LOCALE"]


def _staff_preference() -> str | None:
    """The signed-in staff member's language, through the hook the staff capability sets."""
    hook = current_app.extensions.get("citizen_desk.user_locale")
    return _valid(hook()) if hook else None


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale else current_app.config["BABEL_DEFAULT_LOCALE"]


def text_direction(language: str | None = None) -> str:
    """``rtl`` or ``ltr`` for ``<html dir>``."""
    try:
        return Locale.parse(language or current_language()).text_direction
    except (ValueError, TypeError):
        return "ltr"


def switcher_links() -> list[dict]:
    """Links to the current page in each language, for the switcher.

    The page's query parameters are kept, except those that ``url_for``
    would read as its own keywords or as the route's arguments
    (``/offices/ATH1?code=x``, ``?_external=1``): see ``paging.link_args``.
    """
    current = current_language()
    links = []
    routed = has_request_context() and request.url_rule is not None
    view_args = (request.view_args or {}) if routed else {}
    for code in available_languages():
        if routed:
            href = url_for(request.endpoint, **view_args,
                           **link_args(request.args, exclude=view_args, lang=code))
        else:
            href = url_for("home.index", lang=code)
        links.append({"code": code, "name": NATIVE_NAMES.get(code, code),
                      "href": href, "current": code == current})
    return links


def zone(name: str | None = None) -> ZoneInfo:
    """The ``ZoneInfo`` for ``name``, or the configured default zone."""
    try:
        return ZoneInfo(name or current_app.config["DEFAULT_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])


#: Patterns used across the product; Babel localises month and day names.
PATTERNS = {
    "full": "EEEE, d MMMM y",            # Πέμπτη, 26 Νοεμβρίου 2026
    "long": "d MMMM y",
    "short": "d/M/y",
    "time": "HH:mm",
    "full_time": "EEEE, d MMMM y, HH:mm",
}


def format_local(value, pattern: str = "full", tz: str | None = None) -> str:
    """Format a date or an aware datetime in an office's zone and the UI's locale.

    Naive datetimes are refused: Flask-Babel would take them as UTC.
    """
    if value is None:
        return ""
    fmt = PATTERNS.get(pattern, pattern)
    locale = get_locale() or Locale.parse(current_app.config["BABEL_DEFAULT_LOCALE"])
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("format_local needs an aware datetime")
        local = value.astimezone(zone(tz))
        if pattern == "time":
            return format_time(local, fmt, locale=locale)
        return format_datetime(local, fmt, tzinfo=zone(tz), locale=locale)
    if isinstance(value, date):
        return format_date(value, fmt, locale=locale)
    raise TypeError(f"cannot format {type(value).__name__} as a date")


def _remember_explicit_language():
    # Flask-Babel asks for the locale only when something is translated: a page that
    # redirects at once (``/book?service=…&lang=en``) must still remember the choice.
    if _valid(request.args.get("lang")) and session.get("lang") != request.args["lang"]:
        select_locale()


def init_app(app):
    app.before_request(_remember_explicit_language)
    app.jinja_env.filters["local"] = format_local
    app.jinja_env.globals.update(
        current_language=current_language,
        text_direction=text_direction,
        switcher_links=switcher_links,
    )
