"""A display's Server-Sent-Events stream, from the office's event log.

What one connection sends (``text/event-stream``)::

    retry: 3000                      reconnect after 3 s when the connection drops

    event: state                     the whole picture (``state.office_state``), no id:
    data: {...}                      first paint, and a fresh start after every reconnect

    id: 812                          one ticket event of the office, in id order: the id
    data: {"type": "called", ...}    is the event row's, so ``Last-Event-ID`` resumes

    event: waiting                   waiting counts and estimates, after events that
    data: [...]                      change them (shared per process: ``StateCache``)

    : ping                           every ``DISPLAY_HEARTBEAT_SECONDS`` of silence

Where it starts: after ``Last-Event-ID`` (the header a browser's
``EventSource`` sends when it reconnects, or ``?last_event_id=``) when that
is an id of the office's log, so that the events after it come exactly once;
otherwise (absent, malformed, beyond the newest event, or more than
``REPLAY_LIMIT`` behind) after the state's ``last_event_id``: the state shows
the present and nothing old is replayed, hence never announced twice.

Bounded, so that a stream never holds a worker for ever:

- a connection lives ``DISPLAY_STREAM_SECONDS`` (default 300, ±10 % so that
  screens that reconnected together after a restart spread out), then ends;
  the browser reconnects by itself with ``Last-Event-ID`` and misses nothing.
  A restart or a deploy is the same event for a screen as this normal end.
- nothing is buffered in Python: the WSGI server pulls each chunk from the
  generator only once it has written the previous one to the socket. A client
  that stops reading fills its TCP window and then the kernel's send buffer
  (both bounded by the kernel); the next write blocks, the generator is not
  advanced, no event is read for that client. Under gunicorn the view gives
  the socket a send timeout (``DISPLAY_SEND_TIMEOUT``, 30 s), so a write
  that cannot progress fails, the generator is closed and the thread is free
  again: a dead screen costs at most a thread for that long, never memory.
- waiting costs no query: the stream sleeps on the process's notifier (one
  LISTEN connection per process on PostgreSQL) and holds no pooled
  connection while it waits; when woken, one stream per office and process
  reads the new rows and the others take them from it (``feed.py``).
"""
from __future__ import annotations

import json
import random
import re
import time
from typing import Iterator

from citizen_desk.core import events
from citizen_desk.display import state as display_state

#: The most events replayed after a ``Last-Event-ID``; further behind starts from the state.
REPLAY_LIMIT = 500
_DIGITS = re.compile(r"^[0-9]{1,18}$")


def parse_event_id(raw) -> int | None:
    """A ``Last-Event-ID`` as an int, or ``None`` when absent or malformed."""
    if not isinstance(raw, str):
        return None
    raw = raw.strip()
    return int(raw) if _DIGITS.match(raw) else None


def message(data, *, event: str | None = None, event_id: int | None = None) -> str:
    """One SSE message. JSON never holds a raw newline, so ``data`` is one line."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event is not None:
        lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def starting_point(office_id: int, requested: int | None, newest: int) -> int | None:
    """Where to resume: ``requested`` if it is a sound id of the office's log, else ``None``."""
    if requested is None or requested > newest:
        return None
    if len(events.since(office_id, requested, limit=REPLAY_LIMIT + 1)) > REPLAY_LIMIT:
        return None
    return requested


def lifetime(seconds: float) -> float:
    """A connection's life: ``seconds`` ± 10 %."""
    return seconds * random.uniform(0.9, 1.1)


def batches(app, office_id: int, cursor: int, *, deadline: float, heartbeat: float,
            wait=events.wait) -> Iterator[list]:
    """The office's new events after ``cursor``, batch by batch, until ``deadline``
    (``time.monotonic``); ``[]`` after ``heartbeat`` seconds of silence. Each wait runs in
    an application context of its own, closed before the batch is yielded."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        with app.app_context():
            found = wait(office_id, cursor, min(heartbeat, remaining))
        if found:
            cursor = found[-1].id
        yield found


def event_stream(app, office_id: int, first_state: dict, resume_after: int | None, *,
                 seconds: float, heartbeat: float, waiting_of, wait=events.wait
                 ) -> Iterator[str]:
    """The messages of one connection (see the module's docstring).

    ``waiting_of(event_id)`` gives the services' waiting rows as of that event
    (the view passes the process's shared cache); ``wait`` is ``events.wait`` or
    the process's shared ``Feed.wait`` (``feed.py``). Both run, like each wait, in
    an application context of its own that ends before the next ``yield``: a
    generator suspended (or dropped) between two messages holds no context, no
    session and no connection.
    """
    deadline = time.monotonic() + seconds
    yield "retry: 3000\n\n"
    yield message(first_state, event="state")
    cursor = first_state["last_event_id"] if resume_after is None else resume_after
    for found in batches(app, office_id, cursor, deadline=deadline, heartbeat=heartbeat,
                         wait=wait):
        if not found:
            yield ": ping\n\n"
            continue
        counts_changed = False
        for event in found:
            cursor = event.id
            if event.kind.startswith("ticket."):
                yield message(display_state.call_data(event), event_id=event.id)
            counts_changed = counts_changed or display_state.changes_counts(event.kind)
        if counts_changed:
            with app.app_context():
                rows = waiting_of(cursor)
            yield message(rows, event="waiting")
