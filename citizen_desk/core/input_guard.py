"""Input that no view is given: unstorable characters, and ids beyond their columns.

- A NUL character or a lone surrogate in the path, a query parameter or a
  form field answers 400 (the translated error page, or JSON under
  ``/api/``) before anything else reads it: PostgreSQL refuses NUL in a
  text and a lone surrogate cannot be written as UTF-8, so no operation
  could store or even look such a value up. JSON bodies are checked by
  the API's parser (``core/schemas.py``).
- ``<int:…>`` in a route matches numbers up to ``MAX_ID``, the largest
  value of an ``INTEGER`` column: ``/staff/users/99999999999999999999``
  is a 404 like any other unknown id, not an overflow in the database.
"""
from __future__ import annotations

import re

from flask import abort, request
from werkzeug.routing import IntegerConverter

#: The largest id of an ``INTEGER`` primary key (PostgreSQL; SQLite's are wider).
MAX_ID = 2**31 - 1

#: What no text may contain: NUL and the surrogate halves of UTF-16.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class IdConverter(IntegerConverter):
    """``<int:…>`` bounded by ``MAX_ID`` unless the route gives its own ``max``."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def unstorable(text) -> bool:
    """Whether ``text`` (a string) holds a character that no column can store."""
    return isinstance(text, str) and UNSTORABLE.search(text) is not None


def _any_unstorable(multidict) -> bool:
    return any(unstorable(key) or unstorable(value)
               for key, value in multidict.items(multi=True))


def refuse_unstorable():
    """``before_request``: 400 for an unstorable character in the path, query or form."""
    if unstorable(request.path) or _any_unstorable(request.args):
        abort(400)
    if request.mimetype in FORM_TYPES and _any_unstorable(request.form):
        abort(400)


def init_app(app):
    """Before the capabilities register their routes (the converter) and hooks (the check)."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_unstorable)
