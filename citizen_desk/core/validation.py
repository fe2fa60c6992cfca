"""The error an operation raises when its input is not acceptable.

Operations raise ``ValidationError({field: message})`` with translated
messages; forms show them beside the fields and in the error summary, the
API answers 422 with them, the CLI prints them. Nothing has been written.
"""
from __future__ import annotations


class ValidationError(ValueError):
    def __init__(self, errors: dict[str, str] | str, field: str | None = None):
        if isinstance(errors, str):
            errors = {field or "": errors}
        self.errors = {name: str(message) for name, message in errors.items()}
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in self.errors.items()))

    def apply_to(self, form) -> None:
        """Attach the messages to a Flask-WTF form's fields (or its form-level errors)."""
        for name, message in self.errors.items():
            field = getattr(form, name, None) if name else None
            if field is not None and hasattr(field, "errors"):
                field.errors = list(field.errors) + [message]
            else:
                form.form_errors.append(message)
