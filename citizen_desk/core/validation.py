"""The error an operation raises when its input is not acceptable.

Operations raise ``ValidationError({field: message})`` with translated
messages; forms show them beside the fields and in the error summary, the
API answers 422 with them, the CLI prints them. Nothing has been written.
A field may be a dotted path into sub-forms (``name.el``, ``rules[0].end_time``).
"""
from __future__ import annotations

from wtforms import FormField


class ValidationError(ValueError):
    def __init__(self, errors: dict | str, field: str | None = None):
        if not isinstance(errors, dict):
            errors = {field or "": errors}
        # Messages may be lazy translations: they are turned into text when shown.
        self.errors = dict(errors)
        super().__init__(*self.errors)

    def __str__(self):
        return "; ".join(f"{k}: {v}" if k else str(v) for k, v in self.errors.items())

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
