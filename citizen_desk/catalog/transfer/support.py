"""Helpers of the importer: errors with their place in the file, schema messages, parsing.

A place is written the way a person reads the file:
``services[3].translations.el.name``.
"""
from __future__ import annotations

import re
from datetime import date, time
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError, best_match
from jsonschema.validators import extend

from citizen_desk.core.validation import ValidationError

#: Fields of a service that live under ``translations.<language>`` in the file.
SERVICE_TEXT_FIELDS = ("name", "summary", "description", "documents", "fees", "link",
                       "synonyms")
#: At most this many problems are reported at once.
MAX_PROBLEMS = 20


def fail(place: str, message):
    """Refuse the file: ``message`` about the record or field at ``place``."""
    raise ValidationError.at(place, message)


def path_of(where: str, field: str, service: bool = False) -> str:
    """The place in the file of an operation's ``field`` inside the record at ``where``."""
    head, dot, rest = field.partition(".")
    if service and head in SERVICE_TEXT_FIELDS and dot:
        language, bracket, index = rest.partition("[")
        return f"{where}.translations.{language}.{head}" + (f"[{index}" if bracket else "")
    return f"{where}.{field}" if field else where


def format_path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(error):
    kind, value = error.validator, error.validator_value
    if kind == "required":
        return None
    if kind == "type":
        types = value if isinstance(value, list) else [value]
        return _l("must be of type %(type)s", type=" or ".join(types))
    if kind == "maxLength":
        return _l("is too long (at most %(max)d characters)", max=value)
    if kind == "minLength":
        return _l("must not be empty")
    if kind in ("pattern", "propertyNames"):
        return _l("is not in the expected format")
    if kind in ("enum", "const"):
        values = value if isinstance(value, list) else [value]
        return _l("must be one of: %(values)s", values=", ".join(map(str, values)))
    if kind == "maxItems":
        return _l("has too many items (at most %(max)d)", max=value)
    if kind == "minItems":
        return _l("must not be empty")
    if kind == "uniqueItems":
        return _l("has repeated items")
    if kind == "minimum":
        return _l("must be at least %(min)s", min=value)
    if kind == "maximum":
        return _l("must be at most %(max)s", max=value)
    return _l("is not valid")


def _problems_of(error):
    place = format_path(error.absolute_path)
    if error.validator == "required":
        missing = [name for name in error.validator_value
                   if isinstance(error.instance, dict) and name not in error.instance]
        return [(format_path([*error.absolute_path, name]), _l("required"))
                for name in missing[:1]]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        extra = sorted(name for name in error.instance if name not in known)
        return [(format_path([*error.absolute_path, name]), _l("unknown field"))
                for name in extra[:1]]
    if error.validator in ("anyOf", "oneOf") and error.context:
        return _problems_of(best_match(error.context))
    return [(place, _message(error))]


def schema_errors(schema: dict, document, validator_class) -> list:
    """``[(place, message), …]`` of ``document`` against ``schema``, in file order."""
    validator = validator_class(schema)
    errors = sorted(validator.iter_errors(document),
                    key=lambda e: [str(p).zfill(8) for p in e.absolute_path])
    problems = []
    for error in errors:
        for problem in _problems_of(error):
            if problem not in problems:
                problems.append(problem)
        if len(problems) >= MAX_PROBLEMS:
            break
    return problems


@lru_cache(maxsize=64)
def _full_pattern(pattern: str) -> re.Pattern:
    # A schema pattern is ECMA-262, where a final ``$`` ends the text; in
    # Python it also matches before a final newline ("code\n" would pass).
    # The catalog's schema uses ``$`` only at the end of a pattern.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _full_pattern(pattern).search(instance):
        yield SchemaError(f"{instance!r} does not match {pattern!r}")


#: Draft 2020-12, with ``pattern``'s ``$`` meaning the end of the text, as in ECMA-262.
CatalogValidator = extend(Draft202012Validator, {"pattern": _pattern})


def parse_date(value: str | None, where: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(where, _l("%(value)s is not a date (YYYY-MM-DD)", value=value))


def parse_time(value: str | None) -> time | None:
    return time.fromisoformat(value) if value is not None else None
