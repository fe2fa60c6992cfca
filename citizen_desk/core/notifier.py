"""The notifier: one thread per process that learns of committed events and wakes the waiters.

Waiters (``events.wait``) never talk to it about rows, only about hints: the
notifier keeps, per office, the highest event id it has heard of, and a
*generation* that changes whenever notifications may have been missed (the
listener (re)connected). A waiter reads both, queries the table itself, and
if it found nothing sleeps on one ``threading.Condition`` until its office's
hint passes what it has seen or the generation changes; then it queries
again. Because the wake-up test is a comparison of state, not a signal, a
notification that arrives between a waiter's query and its sleep is never
lost; and because every wake-up ends in a query of the table, a wrong or
stale hint costs a query, never an event.

Where the hints come from:

- every process wakes its own waiters right after one of its units commits
  an event (``note``, registered by ``events.append`` with
  ``uow.after_commit``);
- PostgreSQL: one thread holds its own autocommit psycopg connection (not
  one from the pool: a pooled connection would be handed to a request, and
  LISTEN lives as long as the connection) and ``LISTEN``s on
  ``citizen_desk_events``; ``NOTIFY`` payloads are ``<office_id>:<event_id>``.
  It reconnects with back-off when the connection drops and bumps the
  generation once it listens again. No polling.
- SQLite: one thread reads ``office_id, max(id)`` of the new rows every
  ``EVENTS_POLL_INTERVAL`` seconds (default 0.25), only while someone waits.

The thread starts on the first ``wait`` of a process (so after gunicorn has
forked its workers) and is a daemon: it ends with the process.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from contextlib import contextmanager

from sqlalchemy import func, select

from citizen_desk.core.db import write_intent
from citizen_desk.extensions import db

log = logging.getLogger(__name__)

#: The PostgreSQL NOTIFY channel of the event log.
CHANNEL = "citizen_desk_events"
#: Seconds between two reads of the table on SQLite, while someone waits.
DEFAULT_POLL_INTERVAL = 0.25
#: How long the PostgreSQL listener blocks in ``notifies()`` before looking at its stop flag.
_LISTEN_SLICE = 1.0
_RECONNECT_MIN, _RECONNECT_MAX = 0.1, 5.0

_all_notifiers: weakref.WeakSet[Notifier] = weakref.WeakSet()


def payload(office_id: int | None, event_id: int) -> str:
    """The NOTIFY payload for an event: ``<office_id>:<event_id>`` (empty office for none)."""
    return f"{'' if office_id is None else office_id}:{event_id}"


def parse_payload(raw: str) -> tuple[int | None, int] | None:
    """``(office_id, event_id)`` of a NOTIFY payload, or None if it isn't one of ours."""
    office, sep, event_id = raw.partition(":")
    try:
        return (int(office) if office else None), int(event_id)
    except ValueError:
        return None


class Notifier:
    """Hints of new events for one application in one process, and the thread that gathers them."""

    def __init__(self, app, table):
        self._app = app
        #: The event model, given by ``core/events.py`` (which imports this module).
        self._table = table
        self._reset()
        _all_notifiers.add(self)

    def _reset(self):
        self._cond = threading.Condition()
        self._latest: dict[int | None, int] = {}
        self._generation = 0
        self._waiters = 0
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stop = threading.Event()
        self._listening = threading.Event()
        #: The PostgreSQL backend of the listening connection (for tests and operators).
        self.backend_pid: int | None = None

    # -- what waiters use ----------------------------------------------------------------------

    def note(self, office_id: int | None, event_id: int) -> None:
        """An event ``event_id`` of ``office_id`` has committed: wake whoever waits for it."""
        with self._cond:
            if event_id > self._latest.get(office_id, 0):
                self._latest[office_id] = event_id
                self._cond.notify_all()

    def mark(self, office_id: int | None) -> tuple[int, int]:
        """The highest event id heard of for ``office_id``, and the current generation."""
        with self._cond:
            return self._latest.get(office_id, 0), self._generation

    def sleep(self, office_id: int | None, beyond: int, generation: int,
              deadline: float) -> bool:
        """Block until an event after ``beyond`` is heard of, the generation changes
        or ``deadline`` (``time.monotonic()``) passes; False if the deadline passed."""
        with self._cond:
            while (self._latest.get(office_id, 0) <= beyond
                   and self._generation == generation):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    @contextmanager
    def waiting(self):
        """Count a waiter for the block (the SQLite poller reads only while someone waits)."""
        with self._cond:
            self._waiters += 1
        try:
            yield
        finally:
            with self._cond:
                self._waiters -= 1

    def _resync(self):
        # Notifications may have been missed: every waiter queries the table again.
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    # -- the thread ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the listening thread unless it runs (cheap when it does)."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._start_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._listening.clear()
            self._thread = threading.Thread(target=self._run, name="citizen-desk-events",
                                            daemon=True)
            self._thread.start()

    def wait_listening(self, timeout: float) -> bool:
        """Whether the thread listens (PostgreSQL) or polls (SQLite), waiting up to ``timeout``."""
        return self._listening.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (tests; a process that ends needs nothing)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._listening.clear()

    def _run(self):
        with self._app.app_context():
            engine = db.engine
            interval = float(self._app.config.get("EVENTS_POLL_INTERVAL",
                                                  DEFAULT_POLL_INTERVAL))
        try:
            if engine.dialect.name == "postgresql":
                self._listen(engine)
            else:
                self._poll(engine, interval)
        except Exception:  # pragma: no cover - a bug; waiters still end at their timeouts
            log.exception("event notifier stopped")
        finally:
            self._listening.clear()

    def _listen(self, engine):
        import psycopg

        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        delay = _RECONNECT_MIN
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True, connect_timeout=5,
                                     application_name="citizen_desk events",
                                     keepalives=1, keepalives_idle=30,
                                     keepalives_interval=10, keepalives_count=3) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.backend_pid = conn.info.backend_pid
                    self._listening.set()
                    self._resync()  # whatever was committed while nobody listened
                    delay = _RECONNECT_MIN
                    while not self._stop.is_set():
                        for notification in conn.notifies(timeout=_LISTEN_SLICE):
                            parsed = parse_payload(notification.payload)
                            if parsed is not None:
                                self.note(*parsed)
            except psycopg.Error as exc:
                self._listening.clear()
                self.backend_pid = None
                if self._stop.is_set():
                    return
                log.warning("event listener lost its connection (%s); reconnecting in %.1f s",
                            exc, delay)
                self._stop.wait(delay)
                delay = min(_RECONNECT_MAX, delay * 2)

    def _poll(self, engine, interval):
        Event = self._table
        newest = select(func.max(Event.id))
        # Readers must not take SQLite's write lock (BEGIN IMMEDIATE is for writers).
        with write_intent(False):
            cursor = None
            while not self._stop.is_set():
                try:
                    if cursor is None:
                        with engine.connect() as conn:
                            cursor = conn.execute(newest).scalar() or 0
                        self._listening.set()
                        self._resync()
                    elif self._waiters:
                        with engine.connect() as conn:
                            rows = conn.execute(
                                select(Event.office_id, func.max(Event.id))
                                .where(Event.id > cursor).group_by(Event.office_id)).all()
                        for office_id, event_id in rows:
                            self.note(office_id, event_id)
                            cursor = max(cursor, event_id)
                except Exception as exc:
                    log.warning("event poller could not read the event table (%s)", exc)
                self._stop.wait(interval)


def stop_all(timeout: float = 5.0) -> None:
    """Stop every notifier thread of this process (tests)."""
    for notifier in list(_all_notifiers):
        notifier.stop(timeout)


def _after_fork_in_child():
    # A thread does not survive fork(), and a lock held by one at that moment would stay
    # held for ever in the child: start from nothing (the child's first wait starts a thread).
    for notifier in list(_all_notifiers):
        notifier._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

