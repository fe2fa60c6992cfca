"""What the JSON API reads and writes: marshmallow schemas, parsed by webargs.

Each capability declares in its ``schemas.py`` what an endpoint reads (query
parameters or a JSON body) and what it answers, as schemas built on the
``Schema`` below. Views take their input from ``use_kwargs`` and dump their
answer with ``dump``; they never read ``request.args`` or ``request.json``.

Input that does not fit never reaches the view: it raises the core
``ValidationError({field: message})``, which the error model answers with
422 and ``{"error": {…}, "errors": {field: message}}``. Messages are
translated in the request's language. A field is named as the client wrote
it: ``limit``, ``person.email``, ``documents[2]``; ``""`` is the input as a
whole (a body that is not JSON, or not an object).

Query parameters (``GET``)::

    class ServiceQuery(LanguageQuery):
        q = fields.String(load_default="")

    @api.get("/services")
    @permission(public)
    @use_kwargs(ServiceQuery, location="query")
    def services(lang, q): ...

An empty parameter (``?office=``) counts as absent. Unknown parameters are
ignored: links get tracking and cache-busting parameters added to them.

A JSON body (``POST``)::

    class AppointmentRequest(Schema):
        office = OfficeField(required=True)            # resolves the code
        start = fields.AwareDateTime(required=True)
        seats = fields.Integer(strict=True, load_default=1,
                               validate=whole_number(1, 4))
        language = LanguageCode(load_default=current_language)

    @api.post("/appointments")
    @permission(public)
    @use_kwargs(AppointmentRequest, location="json")
    def book(office, start, seats, language): ...

A body is read as JSON whatever its ``Content-Type`` (a form-encoded one is
left alone). A body that is not JSON, is nested deeper than
``MAX_JSON_DEPTH`` or is not an object, a missing or ``null`` required
field, a value of the wrong type and a field the schema does not know all
answer 422; so does a text holding NUL or a lone surrogate, which no column
could store (``core/input_guard.py`` refuses them in queries and forms); a
body larger than ``MAX_JSON_BYTES`` answers 413. Use
``Integer(strict=True)`` in bodies so that ``2.5`` is not read as ``2``.

Messages: marshmallow's own (required, wrong type, unknown field …) are
replaced by the translated ones in ``MESSAGES``. A validator
(``validate.Length``, ``Range``, ``OneOf`` …) needs a translated ``error=``:
use ``max_length``, ``whole_number`` and ``one_of`` or pass ``_l(…)``.
"""
from __future__ import annotations

import json
import re
from typing import TypedDict

import marshmallow as ma
from flask import abort, current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from marshmallow.exceptions import SCHEMA
from marshmallow.experimental.context import Context
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict

from citizen_desk.core.content import pick
from citizen_desk.core.i18n import current_language
from citizen_desk.core.input_guard import unstorable
from citizen_desk.core.validation import CODE_PATTERN, LANGUAGE_PATTERN, ValidationError


#: Largest JSON body read (bytes); the booking and ticket bodies are a few hundred.
MAX_JSON_BYTES = 64 * 1024
#: Deepest nesting of objects and arrays in a JSON body.
MAX_JSON_DEPTH = 16

OBJECT = _l("must be of type %(type)s", type="object")

#: marshmallow's default messages, by (class, key), and what the client reads instead.
_REPLACEMENTS = {
    (ma.Schema, "type"): OBJECT,
    (ma.Schema, "unknown"): _l("unknown field"),
    (fields.Field, "required"): _l("required"),
    (fields.Field, "null"): _l("must not be empty"),
    (fields.Field, "validator_failed"): _l("is not valid"),
    (fields.Nested, "type"): OBJECT,
    (fields.Mapping, "invalid"): OBJECT,
    (fields.List, "invalid"): _l("Give a list."),
    (fields.Tuple, "invalid"): _l("Give a list."),
    (fields.String, "invalid"): _l("Enter text."),
    (fields.String, "invalid_utf8"): _l("Enter text."),
    (fields.Number, "invalid"): _l("must be of type %(type)s", type="number"),
    (fields.Number, "too_large"): _l("is not valid"),
    (fields.Integer, "invalid"): _l("Enter a whole number."),
    (fields.Float, "special"): _l("is not valid"),
    (fields.Decimal, "special"): _l("is not valid"),
    (fields.Boolean, "invalid"): _l("must be of type %(type)s", type="boolean"),
    (fields.Date, "invalid"): _l("Enter a date."),
    (fields.Time, "invalid"): _l("Enter a time."),
    (fields.DateTime, "invalid"): _l("is not in the expected format"),
    (fields.DateTime, "invalid_awareness"): _l("is not in the expected format"),
    (fields.TimeDelta, "invalid"): _l("is not valid"),
    (fields.Email, "invalid"): _l("Enter an e-mail address like name@example.gr."),
    (fields.URL, "invalid"): _l("is not valid"),
    (fields.UUID, "invalid_uuid"): _l("is not valid"),
}


def _english(cls, key) -> list[str]:
    """The texts marshmallow produces for ``key`` of ``cls`` (date types fill in their name)."""
    own = "_default_error_messages" if cls is ma.Schema else "default_error_messages"
    text = getattr(cls, own, {}).get(key)
    if text is None:  # a later marshmallow renamed it: its message stays untranslated
        return []
    if "{obj_type}" not in text:
        return [text]
    return [text.format(obj_type=cls.OBJ_TYPE, awareness=awareness)
            for awareness in ("aware", "naive")]


#: marshmallow's English message → its translation.
MESSAGES = {text: message for (cls, key), message in _REPLACEMENTS.items()
            for text in _english(cls, key)}


def _translated(message):
    return MESSAGES.get(message, message) if isinstance(message, str) else message


def _flatten(messages, path: str = "") -> dict:
    """marshmallow's nested messages as ``{"person.email": message}``."""
    if isinstance(messages, dict):
        errors: dict = {}
        for key, value in messages.items():
            if key == SCHEMA:  # about the object as a whole
                child = path
            elif isinstance(key, int):
                child = f"{path}[{key}]"
            else:
                child = f"{path}.{key}" if path else str(key)
            for field, message in _flatten(value, child).items():
                errors[field] = f"{errors[field]} {message}" if field in errors else message
        return errors
    if isinstance(messages, (list, tuple)):
        texts = [_translated(message) for message in messages]
        return {path: texts[0] if len(texts) == 1 else " ".join(str(t) for t in texts)}
    return {path: _translated(messages)}


def _invalid_body(message=None):
    return ValidationError({"": message or _l("Check what you entered and try again.")})


def _too_deep(value) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return True
            stack.extend((child, depth + 1)
                         for child in (item.values() if isinstance(item, dict) else item))
    return False


def _holds_unstorable(value) -> bool:
    """Whether a decoded JSON value holds a text (or a key) that no column can store."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if any(unstorable(key) for key in item):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif unstorable(item):
            return True
    return False


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity are not JSON


class Schema(ma.Schema):
    """Base of the API's schemas: translated schema-level messages, unknown fields refused.

    (The webargs parser ignores unknown *query* parameters all the same.)
    """

    error_messages = {"type": OBJECT, "unknown": _l("unknown field")}

    class Meta:
        unknown = ma.RAISE


class Parser(FlaskParser):
    """webargs' Flask parser, answering bad input with the core ``ValidationError``."""

    DEFAULT_SCHEMA_CLASS = Schema  # for arguments given as a dict of fields
    FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

    def load_querystring(self, req, schema):
        # ``?office=`` is what an empty form input sends: the parameter is not given.
        given = MultiDict([(key, value) for key, value in req.args.items(multi=True)
                           if value != ""])
        return self._makeproxy(given, schema)

    def _raw_load_json(self, req):
        if req.mimetype in self.FORM_TYPES:
            return ma.missing
        if req.max_content_length is None or req.max_content_length > MAX_JSON_BYTES:
            # A longer Content-Length answers 413; a chunked body is cut one byte
            # past the limit, which the length check below sees.
            req.max_content_length = MAX_JSON_BYTES + 1
        data = req.get_data(cache=True)
        if len(data) > MAX_JSON_BYTES:
            abort(413)
        if not data.strip():
            return ma.missing
        try:
            value = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
        except json.JSONDecodeError as exc:
            raise _invalid_body(_l(
                "This is not valid JSON: %(problem)s (line %(line)d, column %(column)d).",
                problem=exc.msg, line=exc.lineno, column=exc.colno)) from None
        except (UnicodeDecodeError, ValueError, RecursionError):
            # Not UTF-8, a number with thousands of digits, NaN, or nesting
            # deep enough to exhaust the parser's stack.
            raise _invalid_body() from None
        if _too_deep(value):
            raise _invalid_body()
        if _holds_unstorable(value):
            # NUL or a lone surrogate (``"\u0000"``, ``"\ud800"``): no column stores it.
            raise _invalid_body()
        return value

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        messages = error.messages
        if isinstance(messages, dict) and len(messages) == 1:
            # webargs files them under the one location parsed: {"json": {…}}
            (messages,) = messages.values()
        raise ValidationError(_flatten(messages) or {"": _l("is not valid")})


parser = Parser()
use_args = parser.use_args
use_kwargs = parser.use_kwargs


class LanguageCode(fields.String):
    """One of the interface's languages (``LANGUAGES``), such as ``el`` or ``en``.

    Read case-insensitively; a regional code reads as its language (``en-GB``
    → ``en``). A code of a language the application does not speak is
    refused, naming those it does, rather than answered in the default one.
    """

    default_error_messages = {"invalid_language": _l("Give a language code such as el or en.")}

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs).lower()
        if not LANGUAGE_PATTERN.match(value):
            raise self.make_error("invalid_language")
        language = value.split("-")[0]
        languages = current_app.config["LANGUAGES"]
        if language not in languages:
            raise ma.ValidationError(_("Give one of these language codes: %(codes)s.",
                                       codes=", ".join(languages)))
        return language


class WholeNumber(fields.Integer):
    """A whole number written in the digits 0-9, as the API documents its integers.

    marshmallow's ``Integer`` reads a text with ``int()``, which also takes
    ``٣`` (an Arabic-Indic three), ``1_000`` and ``5`` padded with spaces; those are refused
    here, as the document's ``type: integer`` refuses them.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not _WHOLE_NUMBER.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


_WHOLE_NUMBER = re.compile("-?[0-9]+")


class LanguageQuery(Schema):
    """``?lang=``: the language of the texts in the answer; the request's language by default."""

    lang = LanguageCode(load_default=current_language)


class Code(fields.String):
    """A code of the catalog: up to 32 letters, digits, dots, dashes or underscores."""

    default_error_messages = {"invalid_code": _l("is not in the expected format")}

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs).strip()
        if not CODE_PATTERN.match(value):
            raise self.make_error("invalid_code")
        return value


class OfficeCode(Code):
    """An office code (its shape only: the catalog's ``OfficeField`` finds the office)."""

    default_error_messages = {"invalid_code": _l("There is no office with this code.")}


# Validators with the messages a citizen reads.

def max_length(limit: int) -> validate.Length:
    return validate.Length(max=limit, error=_l("Enter at most %(max)d characters.", max=limit))


def whole_number(low: int, high: int) -> validate.Range:
    return validate.Range(low, high, error=_l("Enter a number from %(min)s to %(max)s.",
                                              min=low, max=high))


def one_of(choices) -> validate.OneOf:
    choices = list(choices)
    return validate.OneOf(choices, error=_l("must be one of: %(values)s",
                                            values=", ".join(map(str, choices))))


# Output: texts in the language the client asked for.

class _Output(TypedDict):
    language: str


_output = Context[_Output]


def dump(schema: ma.Schema, obj, *, language: str):
    """``schema.dump(obj)`` with translated content in ``language``."""
    with _output({"language": language}):
        return schema.dump(obj)


def output_language() -> str:
    """The language being dumped in (``dump``), else the request's."""
    context = _output.get(None)
    return context["language"] if context else current_language()


class Translated(fields.Field):
    """Content in several languages (``{"el": …, "en": …}``), dumped as one text.

    The text in the output language, else Greek, else any (``core.content.pick``).
    """

    def _serialize(self, value, attr, obj, **kwargs):
        return pick(value, output_language())
