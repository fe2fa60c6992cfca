"""The shapes every form view takes, so that views stay a few lines long.

- ``attempt(form, change)``: run an operation that may refuse its input; a
  ``ValidationError`` undoes what it flushed (a savepoint of the unit of
  work) and is shown beside its fields and in the form's error summary.
- ``save(...)``: validate, change, flash and redirect — or show the form again.
  Given the object edited (``current=``), the form carries the version it
  was opened with (``Versioned``); a save from an older one, or one that
  lost a race at the database, changes nothing and shows the form again
  (409) with the object's current values and a message saying why
  (``core/versions.py``).
- ``action(...)``: a one-button POST (retire, remove, revoke) with its CSRF check.

Nothing here commits: the request is one unit of work (``core/uow.py``).
"""
from __future__ import annotations

from typing import Callable

from flask import abort, flash, redirect, render_template
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField

from citizen_desk.core import uow
from citizen_desk.core.validation import ValidationError
from citizen_desk.core.versions import STALE_MESSAGE, Stale, check_version
from citizen_desk.extensions import db


class ActionForm(FlaskForm):
    """A one-button form: only its CSRF token (retire, remove, revoke, sign out …)."""


class Versioned:
    """Mixin of an edit form: the version of the object when the form was opened.

    Templates render it beside the CSRF token: ``{{ form.version }}``.
    """

    version = HiddenField()


def attempt(form, change: Callable):
    """``(True, change())``, or ``(False, None)`` with the refusal shown on ``form``."""
    try:
        with uow.savepoint():
            return True, change()
    except ValidationError as exc:
        exc.apply_to(form)
        return False, None


def save(form, change: Callable, message: str, target, template: str, *,
         current=None, data: Callable | None = None, **context):
    """Validate ``form``, make the change, flash ``message`` and go to ``target``.

    ``target`` is a URL, or a function of what ``change()`` returned that gives
    one. A refused change shows ``template`` again with the form's errors.

    ``current`` is the object an edit form changes (a ``Versioned`` form):
    the form is opened with its version, and a save made from another
    version is refused (``Stale``), as is one whose UPDATE finds the row
    changed meanwhile (``StaleDataError``). Then nothing is changed and the
    form shows the object as it is now — ``data(current)`` gives the form's
    values, or the object itself does (``obj=``) — with status 409.
    """
    if current is not None and not form.is_submitted():
        form.version.data = current.version
    if form.validate_on_submit():
        try:
            ok, result = attempt(form, _checked(current, form, change))
        except (Stale, StaleDataError):
            if current is None:  # not an edit form: the error handler answers 409
                raise
            return _conflict(form, current, data, template, **context)
        if ok:
            flash(message, "success")
            return redirect(target(result) if callable(target) else target)
    return render_template(template, form=form, **context)


def _checked(current, form, change: Callable) -> Callable:
    if current is None:
        return change

    def checked_change():
        check_version(current, form.version.data)
        result = change()
        db.session.flush()  # a lost race shows here, inside the savepoint
        return result
    return checked_change


def _forget_submitted(form):
    # Fields show what was typed (``raw_data``) before their data; processing without
    # form data leaves it in place.
    for field in form:
        if hasattr(field, "form"):  # a FormField: its sub-form's fields
            _forget_submitted(field.form)
        field.raw_data = None


def _conflict(form, current, data: Callable | None, template: str, **context):
    """The form again with ``current`` as it is in the database now, and why (409)."""
    session = db.session()
    failed = session.get_nested_transaction()
    if failed is not None and not failed.is_active:
        # A flush that failed inside ``uow.savepoint()`` leaves its savepoint deactivated
        # (not rolled back); until it is, the session refuses every query.
        failed.rollback()
    db.session.expire(current)  # what this request read or changed is not what is there
    if data is None:
        form.process(formdata=None, obj=current)
    else:
        form.process(formdata=None, data=data(current))
    _forget_submitted(form)
    form.version.data = current.version
    form.form_errors.append(STALE_MESSAGE)
    return render_template(template, form=form, **context), 409


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
