"""Row versions: a change made from a stale form, or in a real race, is refused, not lost.

Objects that people edit through forms (offices, services, opening rules,
closures, counters, staff accounts) map a ``version`` column as SQLAlchemy's
``version_id_col``. Their UPDATE says ``… SET version = N + 1 WHERE id = :id
AND version = N``; when another transaction changed the row since it was
read, nothing matches and the flush raises ``StaleDataError`` (answered
409, or the form again with the current values: ``core/forms.py``).

That catches two requests racing; it cannot see a form opened an hour ago.
So an edit form carries the version it was opened with, and
``check_version(obj, expected)`` refuses a save made from an older one with
``Stale`` (a ``Conflict``).

Two kinds of versioned models:

- automatic (the default generator): every UPDATE of the row counts. Changing
  only a many-to-many collection (a counter's services) does not UPDATE the
  row, so a collection that is part of the edit form is marked
  ``relationship(..., info=VERSIONED)`` and changing it bumps the version;
- manual (``version_id_generator: False``, the staff account): sign-in
  bookkeeping (failure count, last sign-in, session nonce) must not make an
  open form stale, nor conflict with itself; only columns marked
  ``mapped_column(..., info=VERSIONED)`` bump the version.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect
from sqlalchemy.orm import ColumnProperty, Session

from citizen_desk.core.errors import Conflict

#: ``info=`` of a column or a collection whose change makes a new version.
VERSIONED = {"versioned": True}

STALE_MESSAGE = _l("Someone else changed these details while you were editing them. "
                   "Look at how they are now and make your changes again.")


class Stale(Conflict):
    """The object changed since the form was opened (409; the form again with current values)."""

    def __init__(self, message=None):
        super().__init__(message or STALE_MESSAGE)


def check_version(obj, expected) -> None:
    """Raise ``Stale`` unless ``expected`` (as sent by a form: text or number) is ``obj.version``.

    Nothing sent (``None`` or ``""``: a script posting only the fields it
    changes) is not checked; the row version still catches a race. Anything
    else that is not the current version is refused.
    """
    if expected is None or expected == "":
        return
    try:
        expected = int(expected)
    except (TypeError, ValueError):
        raise Stale() from None
    if expected != obj.version:
        raise Stale()


def _versioned(attribute) -> bool:
    info = attribute.columns[0].info if isinstance(attribute, ColumnProperty) else attribute.info
    return bool(info.get("versioned"))


@event.listens_for(Session, "before_flush")
def _bump_versions(session, flush_context, instances):
    for obj in list(session.dirty):
        state = inspect(obj)
        mapper = state.mapper
        if mapper.version_id_col is None or not session.is_modified(obj):
            continue
        version_key = mapper.get_property_by_column(mapper.version_id_col).key
        if state.attrs[version_key].history.has_changes():
            continue
        changed = [attr for attr in mapper.attrs
                   if attr.key != version_key and state.attrs[attr.key].history.has_changes()]
        if mapper.version_id_generator is False:
            bump = any(_versioned(attr) for attr in changed)
        else:
            # A changed column makes an UPDATE, which the generator versions by itself.
            bump = (not any(isinstance(attr, ColumnProperty) for attr in changed)
                    and any(_versioned(attr) for attr in changed))
        if bump:
            with session.no_autoflush:
                setattr(obj, version_key, getattr(obj, version_key) + 1)
