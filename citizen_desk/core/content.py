"""Content translations: text that is data (service names, office addresses…).

These are not gettext messages. A translatable field is a JSON object of
locale → text (``{"el": "Πιστοποιητικό…", "en": "Certificate…"}``) and is
shown in the reader's language, falling back to Greek, then to any language
that has a value — never an empty label.
"""
from __future__ import annotations

from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.mutable import MutableDict

#: The language every piece of content must have.
PRIMARY_LANGUAGE = "el"

#: A column holding ``{locale: text}``; JSONB on PostgreSQL, JSON text on SQLite.
TranslatedText = MutableDict.as_mutable(JSON().with_variant(JSONB(), "postgresql"))


def pick(values: dict | None, language: str | None = None, default: str = "") -> str:
    """The text of ``values`` for ``language``, else Greek, else any non-empty one."""
    if not values:
        return default
    for code in (language, PRIMARY_LANGUAGE):
        if code and values.get(code):
            return values[code]
    for text in values.values():
        if text:
            return text
    return default


def clean(values: dict | None) -> dict:
    """Drop empty translations and strip whitespace."""
    return {code: text.strip() for code, text in (values or {}).items()
            if isinstance(text, str) and text.strip()}
