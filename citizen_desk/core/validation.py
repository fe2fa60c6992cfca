"""The error an operation raises when its input is not acceptable.

Operations raise ``ValidationError({field: message})`` (or
``ValidationError.at(field, message)``) with translated messages; forms
show them beside the fields and in the error summary, the API answers 422
with them, the CLI prints them, the catalog importer names the place in the
file. Nothing has been written. A field may be a dotted path into sub-forms
or a document (``name.el``, ``rules[0].end_time``, ``services[3].code``).
"""
from __future__ import annotations

import re

from wtforms import FormField

# ``\Z``, not ``$``: ``$`` also matches before a final newline, and "code\n" would pass.
#: A code of an office, a service or a counter: used in URLs, files and scopes.
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}\Z")
#: A language tag: ``el``, ``en``, ``pt-BR`` (the API lower-cases what it is given first).
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?\Z")


class ValidationError(ValueError):
    def __init__(self, errors: dict | str, field: str | None = None):
        if not isinstance(errors, dict):
            errors = {field or "": errors}
        # Messages may be lazy translations: they are turned into text when shown.
        self.errors = dict(errors)
        super().__init__(*self.errors)

    @classmethod
    def at(cls, field: str, message) -> "ValidationError":
        """One problem: ``message`` about ``field``."""
        return cls({field: message})

    @classmethod
    def from_pairs(cls, problems) -> "ValidationError":
        """Several ``(field, message)`` problems; two about one field are joined."""
        errors: dict = {}
        for field, message in problems:
            errors[field] = f"{errors[field]} {message}" if field in errors else message
        return cls(errors)

    @property
    def field(self) -> str:
        """The field of the first problem (most errors have one)."""
        return next(iter(self.errors), "")

    @property
    def message(self):
        """The message of the first problem."""
        return next(iter(self.errors.values()), "")

    def lines(self) -> list[str]:
        """Each problem as ``field: message`` (or the message alone), for a terminal."""
        return [f"{field}: {message}" if field else str(message)
                for field, message in self.errors.items()]

    def __str__(self):
        # Lines, not "; ": in Greek the semicolon is the question mark.
        return "\n".join(self.lines())

    def apply_to(self, form) -> None:
        """Attach the messages to the fields they name, or to the form as a whole."""
        for name, message in self.errors.items():
            target = form
            for part in name.replace("[", ".").replace("]", "").split("."):
                if part in getattr(target, "_fields", {}):
                    target = target._fields[part]
                else:
                    break
            if target is form or isinstance(target, FormField):
                form.form_errors.append(message)
            else:
                target.errors = [*(target.errors or []), message]
