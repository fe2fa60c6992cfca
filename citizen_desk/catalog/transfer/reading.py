"""Read a catalog file's text into a plain document, refusing what could hurt.

A catalog file comes from outside: before the JSON Schema sees it, the text
must not be able to make the parser build something huge or deep, nor carry
values the database would refuse. Refused, each with its place in the file:

- YAML anchors and aliases (``&a`` / ``*a``): ``yaml.safe_load`` expands
  them, and 442 bytes of nested aliases became 2.4 GB. The loader refuses the
  first anchor or alias it meets, before anything is built.
- Nesting deeper than the schema's deepest path (``MAX_DEPTH`` lists and
  objects): checked while YAML is composed and, for JSON, by a scan of the
  brackets before ``json.loads`` builds anything.
- Integers longer than ``MAX_INT_DIGITS`` (Python refuses to convert more
  than 4,300 digits with a ``ValueError``; no field needs more than five).
- A key twice in one object: JSON and YAML would silently keep the last.
- Texts (values and keys) holding a NUL character, which PostgreSQL cannot
  store, or a lone surrogate (``"\\ud800"``), which is not text at all.

Places are written as the importer writes them (``services[3].code``), or
as a line and column where no path exists yet.
"""
from __future__ import annotations

import json
import re

import yaml
from flask_babel import lazy_gettext as _l

from citizen_desk.catalog.transfer.support import MAX_PROBLEMS, fail, format_path
from citizen_desk.core.validation import ValidationError

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "read_json", "read_yaml", "plain"]

#: Lists and objects inside one another: the schema's deepest path is
#: file → services → service → translations → language → documents.
MAX_DEPTH = 6
#: The largest number a catalog field takes (20,000 services) has five digits.
MAX_INT_DIGITS = 20

# A JSON string (escapes included, never backtracking) or a bracket.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]', re.DOTALL)
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_AS_PARENTHESES = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKET = bytes(set(range(256)) - set(b"[]{}"))
# NUL, and UTF-16 surrogates (only ever alone in a Python string).
_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")


class _Object(dict):
    """An object as read, remembering the keys it held more than once."""

    duplicates: tuple = ()


class _LongNumber:
    """An integer too long to convert, kept in place so that its path can be named."""

    def __init__(self, digits: int):
        self.digits = digits


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _too_deep(line: int, column: int):
    fail("", _l("Lists and objects are nested deeper than a catalog file allows "
                "(at most %(max)d levels; line %(line)d, column %(column)d).",
                max=MAX_DEPTH, line=line, column=column))


# -- JSON --------------------------------------------------------------------------------------

def _check_json_depth(text: str):
    """Refuse deep nesting before ``json.loads`` (which recurses) builds it."""
    # Fast path, in C: keep the brackets outside strings and take away the
    # innermost pairs MAX_DEPTH times; nothing opening is left unless the
    # file nests deeper (or does not close what it opens).
    outside = _JSON_STRING.sub("", text).encode("utf-8", "surrogatepass")
    brackets = outside.translate(_AS_PARENTHESES, _NOT_BRACKET)
    for _ in range(MAX_DEPTH):
        brackets = brackets.replace(b"()", b"")
    if b"(" not in brackets:
        return
    depth = 0
    for token in _JSON_TOKEN.finditer(text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                _too_deep(*_line_column(text, token.start()))
        elif bracket in "]}":
            depth -= 1


def _json_object(pairs) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen = set()
        obj.duplicates = tuple(dict.fromkeys(k for k, _ in pairs if k in seen or seen.add(k)))
    return obj


def _json_int(digits: str):
    return int(digits) if len(digits.lstrip("-")) <= MAX_INT_DIGITS else _LongNumber(len(digits))


def read_json(text: str):
    """The JSON document in ``text``, or ``ValidationError``."""
    _check_json_depth(text)
    try:
        document = json.loads(text, object_pairs_hook=_json_object, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        fail("", _l("This is not valid JSON: %(problem)s (line %(line)d, column %(column)d).",
                    problem=exc.msg, line=exc.lineno, column=exc.colno))
    return plain(document)


# -- YAML --------------------------------------------------------------------------------------

class _CatalogLoader(yaml.SafeLoader):
    """``SafeLoader`` without anchors and aliases, with a depth limit, keeping duplicates."""

    _depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        mark = event.start_mark
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            fail("", _l("YAML anchors and aliases (&name, *name) are not accepted: write the "
                        "values out in full (line %(line)d, column %(column)d).",
                        line=mark.line + 1, column=mark.column + 1))
        if not isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            return super().compose_node(parent, index)
        if self._depth >= MAX_DEPTH:
            _too_deep(mark.line + 1, mark.column + 1)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_catalog_map(self, node):
        data = _Object()
        yield data
        keys = [self.construct_object(key) for key, _ in node.value
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge"]
        seen = set()
        data.duplicates = tuple(dict.fromkeys(
            k for k in keys if not isinstance(k, _LongNumber) and (k in seen or seen.add(k))))
        data.update(self.construct_mapping(node))

    def construct_catalog_int(self, node):
        value = self.construct_scalar(node)
        if len(value.lstrip("+-")) > MAX_INT_DIGITS:
            return _LongNumber(len(value))
        return self.construct_yaml_int(node)


_CatalogLoader.add_constructor("tag:yaml.org,2002:map", _CatalogLoader.construct_catalog_map)
_CatalogLoader.add_constructor("tag:yaml.org,2002:int", _CatalogLoader.construct_catalog_int)


def read_yaml(text: str):
    """The YAML document in ``text``, or ``ValidationError``."""
    try:
        document = yaml.load(text, Loader=_CatalogLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            line, column = mark.line + 1, mark.column + 1
        elif isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
            line, column = _line_column(text, exc.position)
        else:
            line = column = 0
        fail("", _l("This is not valid YAML (line %(line)d, column %(column)d).",
                    line=line, column=column))
    return plain(document)


# -- both --------------------------------------------------------------------------------------

def _key(key) -> str:
    """A key as text, as ``json.dumps`` writes it (YAML reads ``1:`` or ``2026-01-01:`` as such)."""
    if isinstance(key, str):
        return key
    if isinstance(key, (bool, int, float)) or key is None:
        return json.dumps(key)
    return str(key)


def _character(text: str) -> str | None:
    found = _BAD_CHARACTER.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def plain(document):
    """``document`` as plain dicts, lists, texts and numbers; ``ValidationError`` if it holds
    a duplicated key, an overlong number or a NUL or surrogate character."""
    problems = []

    def walk(value, path):
        if len(problems) >= MAX_PROBLEMS:
            return None
        if isinstance(value, dict):
            for key in getattr(value, "duplicates", ()):
                problems.append((format_path([*path, _key(key)]),
                                 _l("appears more than once in the same object")))
            out = {}
            for key, item in value.items():
                if isinstance(key, _LongNumber):
                    problems.append((format_path(path), _l(
                        "a key is a number with too many digits (%(digits)d)",
                        digits=key.digits)))
                    continue
                key = _key(key)
                bad = _character(key)
                if bad:
                    problems.append((format_path(path), _l(
                        "a key contains the character %(character)s, which a text may not "
                        "contain", character=bad)))
                    continue
                out[key] = walk(item, [*path, key])
            return out
        if isinstance(value, (list, tuple)):
            return [walk(item, [*path, n]) for n, item in enumerate(value)]
        if isinstance(value, str):
            bad = _character(value)
            if bad:
                problems.append((format_path(path), _l(
                    "contains the character %(character)s, which a text may not contain",
                    character=bad)))
            return value
        if isinstance(value, _LongNumber):
            problems.append((format_path(path), _l(
                "is a number with too many digits (%(digits)d; at most %(max)d)",
                digits=value.digits, max=MAX_INT_DIGITS)))
            return None
        if value is None or isinstance(value, (bool, int, float)):
            return value
        # YAML reads unquoted dates (and sets, binary …) as such: give the schema text.
        return str(value)

    result = walk(document, [])
    if problems:
        raise ValidationError.from_pairs(problems[:MAX_PROBLEMS])
    return result
