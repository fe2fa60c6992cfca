"""The unit of work: one commit per request, command or job, and what runs after it.

A request, a CLI command or a background job is one unit. Operations change
the session and ``flush()``; the unit commits once at its end, rolls back on
any error, and runs again from the start (a bounded number of times, with
jittered back-off) when the database says the transaction lost a race:
PostgreSQL serialisation failures and deadlocks (SQLSTATE 40001, 40P01) and
SQLite's "database is locked".

``after_commit(effect)`` registers work (send the queued mail, wake the
displays) that runs once the unit's transaction committed, and never for a
transaction that rolled back. A retried unit runs only the effects of its
last, successful attempt.

``savepoint()`` lets a view try an operation that may be refused: a
``ValidationError`` undoes what the operation flushed (and the effects it
registered) while the rest of the unit goes on, e.g. a failed sign-in that
must still count the failure.

Requests are wrapped by ``citizen_desk.App.dispatch_request``; commands use
``@transactional`` or ``run(work)``.
"""
from __future__ import annotations

import functools
import logging
import random
import time
from contextlib import contextmanager
from typing import Callable, TypeVar

from flask import current_app, has_app_context, has_request_context, session as http_session
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from citizen_desk.extensions import db

log = logging.getLogger(__name__)

T = TypeVar("T")

#: PostgreSQL's "try the transaction again": serialization_failure, deadlock_detected.
RETRY_SQLSTATES = frozenset({"40001", "40P01"})
_PENDING = "citizen_desk.after_commit"
_READY = "citizen_desk.after_commit.ready"


def is_retryable(exc: BaseException) -> bool:
    """Whether ``exc`` means "the same transaction may succeed if run again".

    A row version that changed under our UPDATE (``StaleDataError``) is a lost
    race too: run again, the unit re-reads the row (and a form then shows
    the conflict with the current values).
    """
    if isinstance(exc, StaleDataError):
        return True
    if not isinstance(exc, DBAPIError) or exc.orig is None:
        return False
    original = exc.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate in RETRY_SQLSTATES:
        return True
    return "database is locked" in str(original)


def after_commit(effect: Callable[[], object]) -> None:
    """Run ``effect()`` once the current transaction has committed.

    Effects run after the commit, in the order registered, each in its own
    ``try`` (a failing effect is logged and does not undo the commit nor stop
    the others). They may use the session: it has started a new transaction.
    """
    db.session().info.setdefault(_PENDING, []).append(effect)


def pending_effects() -> int:
    """How many effects wait for the current transaction's commit (for tests)."""
    return len(db.session().info.get(_PENDING, ()))


@event.listens_for(Session, "after_commit")
def _commit_succeeded(session):
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_READY, []).extend(pending)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session, previous_transaction):
    if previous_transaction.parent is None:  # the outermost transaction: nothing happened
        session.info.pop(_PENDING, None)


def run_effects(session: Session | None = None) -> None:
    """Run the effects of transactions that committed, once each."""
    session = session or db.session()
    while True:
        ready = session.info.pop(_READY, None)
        if not ready:
            return
        for effect in ready:
            try:
                effect()
            except Exception:
                log.exception("after-commit effect %r failed", effect)
            # An effect that wrote (an outbox row marked as sent) commits on its own;
            # anything it left open must not leak into the next unit.
        if session.in_transaction():
            session.commit()


def commit() -> None:
    """Commit the unit's transaction and run its after-commit effects."""
    db.session.commit()
    run_effects()


@contextmanager
def savepoint():
    """Undo the block's changes and effects if it raises; re-raise.

    For a view that catches an operation's ``ValidationError`` and shows the
    form again while the unit itself goes on to commit.
    """
    session = db.session()
    pending = session.info.setdefault(_PENDING, [])
    mark = len(pending)
    nested = session.begin_nested()
    try:
        yield
    except BaseException:
        # A flush that failed inside the block leaves the savepoint inactive but still
        # open: it must be rolled back too, or the session refuses every later query.
        if nested.is_active or session.get_nested_transaction() is nested:
            nested.rollback()
        del session.info.setdefault(_PENDING, [])[mark:]
        raise
    else:
        nested.commit()


def _attempts() -> int:
    if has_app_context():
        return max(1, int(current_app.config.get("UNIT_OF_WORK_ATTEMPTS", 5)))
    return 5


def _pause(attempt: int):
    # Jittered exponential back-off: 10, 20, 40 … ms, at most 0.5 s.
    time.sleep(random.uniform(0.5, 1.0) * min(0.5, 0.01 * 2 ** (attempt - 1)))


def run(work: Callable[[], T], *, dry_run: bool = False) -> T:
    """Run ``work()`` as one unit: commit at its end, roll back on error, retry races.

    ``work`` must be safe to run again from the start: it reads what it needs
    inside, and what it changed in a failed attempt has been rolled back.
    ``dry_run`` rolls the unit back at its end instead (``catalog import --dry-run``).
    """
    attempts = _attempts()
    flashes = _saved_flashes()
    for attempt in range(1, attempts + 1):
        try:
            result = work()
            if dry_run:
                db.session.flush()  # what a commit would have refused, it refuses too
                db.session.rollback()
            else:
                commit()
            return result
        except BaseException as exc:
            db.session.rollback()
            # No "rollback" event fires for a unit that failed before its first query.
            db.session().info.pop(_PENDING, None)
            if attempt < attempts and is_retryable(exc):
                log.info("unit of work lost a race (%s); attempt %d of %d",
                         type(getattr(exc, "orig", exc)).__name__, attempt + 1, attempts)
                _restore_flashes(flashes)
                _pause(attempt)
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def transactional(command: Callable) -> Callable:
    """Make a CLI command (or job) one unit of work."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        return run(lambda: command(*args, **kwargs))
    return wrapper


def _saved_flashes():
    if has_request_context():
        return list(http_session.get("_flashes", ()))
    return None


def _restore_flashes(flashes):
    # Messages flashed by a failed attempt would otherwise show twice.
    if flashes is not None and has_request_context():
        if flashes:
            http_session["_flashes"] = list(flashes)
        else:
            http_session.pop("_flashes", None)
