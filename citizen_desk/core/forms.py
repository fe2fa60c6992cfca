"""The shapes every form view takes, so that views stay a few lines long.

- ``attempt(form, change)``: run an operation that may refuse its input; a
  ``ValidationError`` undoes what it flushed (a savepoint of the unit of
  work) and is shown beside its fields and in the form's error summary.
- ``save(...)``: validate, change, flash and redirect — or show the form again.
- ``action(...)``: a one-button POST (retire, remove, revoke) with its CSRF check.

Nothing here commits: the request is one unit of work (``core/uow.py``).
"""
from __future__ import annotations

from typing import Callable

from flask import abort, flash, redirect, render_template
from flask_wtf import FlaskForm

from citizen_desk.core import uow
from citizen_desk.core.validation import ValidationError


class ActionForm(FlaskForm):
    """A one-button form: only its CSRF token (retire, remove, revoke, sign out …)."""


def attempt(form, change: Callable):
    """``(True, change())``, or ``(False, None)`` with the refusal shown on ``form``."""
    try:
        with uow.savepoint():
            return True, change()
    except ValidationError as exc:
        exc.apply_to(form)
        return False, None


def save(form, change: Callable, message: str, target, template: str, **context):
    """Validate ``form``, make the change, flash ``message`` and go to ``target``.

    ``target`` is a URL, or a function of what ``change()`` returned that gives
    one. A refused change shows ``template`` again with the form's errors.
    """
    if form.validate_on_submit():
        ok, result = attempt(form, change)
        if ok:
            flash(message, "success")
            return redirect(target(result) if callable(target) else target)
    return render_template(template, form=form, **context)


def action(change: Callable, message: str, target: str):
    """A one-button POST: CSRF checked, the change, its message, back to ``target``."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        with uow.savepoint():
            change()
    except ValidationError as exc:
        for text in exc.errors.values():
            flash(text, "error")
    else:
        flash(message, "success")
    return redirect(target)
