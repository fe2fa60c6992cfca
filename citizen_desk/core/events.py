"""The event log: an append-only table of what happened, and the notifier that wakes listeners.

Every queue action (a ticket taken, called, finished …) is written here, in
the transaction of the change itself, before anyone is told about it. A
display or any other reader follows an office's events by id: it asks for
the events after the last id it has (``since``), or waits for them
(``wait``); a reader that reconnects resumes from its last id and misses
nothing. See ``docs/events.md``.

- ``append(kind, office_id=…)`` adds an event to the current unit of work and
  arranges the wake-up: PostgreSQL ``pg_notify`` in the same transaction
  (delivered at commit, never for a rollback) and the waiters of this process
  right after the commit (``uow.after_commit``).
- ``since(office_id, after_id)`` and ``wait(office_id, after_id, timeout)``
  read committed events, in id order, through a short transaction of their
  own (never the caller's: a waiting stream must not hold a connection).

The ordering guarantee: for one office, events become visible in id order,
so a reader at id N never skips an id below N that commits later. Sequence
ids are handed out in one order and committed in another, so on PostgreSQL
``append`` first takes a transaction-level advisory lock for the office;
SQLite serialises writers anyway (``BEGIN IMMEDIATE``, see ``core/db.py``).

Nothing outside this module and ``core/notifier.py`` knows which engine is below.
"""
from __future__ import annotations

import functools
import time
from contextlib import contextmanager
from datetime import datetime

from flask import current_app, g, has_request_context
from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from citizen_desk.core import uow
from citizen_desk.core.db import UTCDateTime, utcnow, write_intent
from citizen_desk.core.notifier import CHANNEL, Notifier, payload as notify_payload
from citizen_desk.extensions import db

#: The first key of the PostgreSQL advisory locks taken by ``append`` (the second is the
#: office id): a constant of our own, so that other advisory locks never collide with it.
LOCK_NAMESPACE = 0x43444556  # "CDEV"
#: The lock key for events that belong to no office (office ids start at 1).
_NO_OFFICE = 0
#: How many events ``since`` returns at most by default.
DEFAULT_LIMIT = 500
_EXTENSION = "citizen_desk.events"


class Event(db.Model):
    """One thing that happened, e.g. ``ticket.called`` on ``ticket:123`` at an office."""

    __tablename__ = "event"
    __table_args__ = (
        # Readers follow one office by id.
        Index("ix_event_office_id_id", "office_id", "id"),
        # On SQLite, AUTOINCREMENT: an id is never reused, even after the newest rows are purged.
        {"sqlite_autoincrement": True},
    )

    #: BIGINT on PostgreSQL; INTEGER on SQLite, where that makes it the rowid.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Foreign keys by table name: the core imports no capability.
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"))
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON().with_variant(JSONB(), "postgresql"),
                                          default=dict)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    actor_token_id: Mapped[int | None] = mapped_column(ForeignKey("access_token.id"))

    def as_dict(self) -> dict:
        """The event as JSON-ready data (what a stream sends)."""
        return {"id": self.id, "dt": self.dt.isoformat(), "office_id": self.office_id,
                "kind": self.kind, "subject": self.subject, "payload": self.payload or {}}

    def __repr__(self):
        return f"<Event {self.id} {self.kind} office={self.office_id} {self.subject}>"


def init_app(app):
    """Give the application its notifier (its thread starts on the first ``wait``)."""
    app.extensions[_EXTENSION] = Notifier(app, Event)


def notifier() -> Notifier:
    """The current application's notifier."""
    return current_app.extensions[_EXTENSION]


def append(kind: str, *, office_id: int | None, subject: str | None = None,
           payload: dict | None = None, actor_user=None, actor_token=None) -> Event:
    """Add an event to the current transaction and return it, flushed (it has its id).

    The actor defaults to whoever the current request is authenticated as.
    On PostgreSQL this holds the office's event lock until the transaction
    ends: append late in an operation, and in one transaction append to one
    office (two offices in opposite orders would deadlock; the unit of work
    retries that).
    """
    session = db.session
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # Before the id is drawn: the office's events then commit in id order.
        session.execute(text("SELECT pg_advisory_xact_lock(CAST(:ns AS integer), "
                             "CAST(:key AS integer))"),
                        {"ns": LOCK_NAMESPACE,
                         "key": _NO_OFFICE if office_id is None else office_id})
    actor = g.get("citizen_desk_actor") if has_request_context() else None
    if actor is not None:
        actor_user = actor_user or actor.user
        actor_token = actor_token or actor.token
    event = Event(kind=kind, office_id=office_id, subject=subject, payload=payload or {},
                  actor_user_id=actor_user.id if actor_user else None,
                  actor_token_id=actor_token.id if actor_token else None)
    session.add(event)
    session.flush()
    if postgres:
        # Delivered by PostgreSQL at commit, to every process; dropped on rollback.
        session.execute(text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": CHANNEL, "payload": notify_payload(office_id, event.id)})
    # This process's own waiters need not wait for the round trip (nor, on SQLite, the poll).
    uow.after_commit(functools.partial(notifier().note, office_id, event.id))
    return event


@contextmanager
def _reading():
    # A short session of its own that only reads committed rows and, on SQLite, takes no
    # write lock. Its events stay usable after it closes (their columns are loaded).
    with write_intent(False), Session(db.engine, expire_on_commit=False) as session:
        yield session


def since(office_id: int | None, after_id: int | None = 0, *,
          limit: int = DEFAULT_LIMIT) -> list[Event]:
    """The committed events of ``office_id`` after ``after_id``, in id order, at most ``limit``.

    ``office_id=None`` means the events that belong to no office.
    """
    office = Event.office_id.is_(None) if office_id is None else Event.office_id == office_id
    query = (select(Event).where(office, Event.id > (after_id or 0))
             .order_by(Event.id).limit(limit))
    with _reading() as session:
        return list(session.scalars(query))


def wait(office_id: int | None, after_id: int | None, timeout: float, *,
         limit: int = DEFAULT_LIMIT) -> list[Event]:
    """The events after ``after_id`` as soon as there are any; ``[]`` after ``timeout`` seconds.

    Returns at once when events are already there. Safe to call from many
    threads: they share the process's one listener.
    """
    after_id = after_id or 0
    deadline = time.monotonic() + max(0.0, timeout)
    watcher = notifier()
    watcher.start()
    with watcher.waiting():
        while True:
            heard, generation = watcher.mark(office_id)
            found = since(office_id, after_id, limit=limit)
            if found:
                return found
            # Nothing after ``after_id``, nor after what we had heard of: a hint that
            # named no visible event (a purged one) must not make us query in a loop.
            if not watcher.sleep(office_id, max(after_id, heard), generation, deadline):
                return []


def start_listening(timeout: float = 5.0) -> bool:
    """Start this process's notifier now and wait until it listens (or polls); whether it does."""
    watcher = notifier()
    watcher.start()
    return watcher.wait_listening(timeout)
