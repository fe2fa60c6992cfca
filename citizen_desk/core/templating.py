"""Template helpers every capability's pages use: content in the reader's language, times, days.

Registered on the Jinja environment by ``create_app`` so that no capability
has to own what all of them need.
"""
from __future__ import annotations

from babel import Locale
from babel.dates import get_day_names
from flask_babel import get_locale

from citizen_desk.core.content import pick
from citizen_desk.core.i18n import current_language


def content(values, default=""):
    """A content translation in the reader's language (Greek, then any, as fallback)."""
    return pick(values, current_language(), default=default)


def weekday_name(number: int) -> str:
    """The localised name of ISO weekday ``number`` (1 = Monday)."""
    return get_day_names("wide", locale=get_locale())[number - 1]


def hhmm(value) -> str:
    """A time of day as ``08:30`` (empty for none)."""
    return value.strftime("%H:%M") if value else ""


def language_name(code: str) -> str:
    """The name of the language ``code`` in the reader's language (“Αγγλικά”, “English”)."""
    try:
        return Locale.parse(code).get_display_name(get_locale()) or code
    except (ValueError, TypeError):
        return code


def init_app(app):
    app.jinja_env.globals.update(content=content, weekday_name=weekday_name,
                                 language_name=language_name)
    app.jinja_env.filters["hhmm"] = hhmm
