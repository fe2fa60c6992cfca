"""One read of an office's new events per process, shared by every stream that waits for them.

``events.wait`` is right for one waiter, but each waiter runs its own query
when woken: with 100 screens open in a worker, one call woke 100 threads that
each borrowed a pooled connection for the same rows, and a clerk's call-next
queued behind them for the pool (measured on PostgreSQL, 2 workers, 200
streams: call-next p50 went from ~80 ms to ~760 ms). ``Feed.wait`` has the
same contract — the committed events of the office after ``after_id``, in id
order, as soon as there are any — and the same wake-ups (the notifier's
hints and generation, ``core/notifier.py``), but per office one thread
queries while the others wait on the office's lock and then take their
events from the rows it read.

Why the shared rows are complete: the reader takes the notifier's mark
(the newest id heard of, the generation) *before* its query, so every event
heard of by then is visible to the query (a hint follows the commit), and an
office's events become visible in id order (``docs/events.md``), so the rows
after the start id are all there is up to the newest one read. A waiter
whose own mark is no newer than the reader's, in the same generation, needs
nothing the rows lack; a newer hint or a new generation makes the next
waiter query again. The rows kept per office are bounded (``keep``).
"""
from __future__ import annotations

import threading
import time

from citizen_desk.core import events


class _Office:
    def __init__(self):
        self.lock = threading.Lock()
        #: The rows are every event of the office with ``start < id <= last``.
        self.start: int | None = None
        self.last = 0
        self.rows: list = []
        #: The notifier's mark when the rows were read.
        self.heard = -1
        self.generation = -1


class Feed:
    """Shared reads of new events, per office, for this process's streams."""

    def __init__(self, keep: int = 1000):
        self.keep = keep
        self._guard = threading.Lock()
        self._offices: dict[int | None, _Office] = {}
        #: Queries run (for tests and measurements).
        self.queries = 0

    def _office(self, office_id) -> _Office:
        with self._guard:
            return self._offices.setdefault(office_id, _Office())

    def read(self, office_id: int | None, after_id: int, heard: int, generation: int,
             limit: int = events.DEFAULT_LIMIT) -> list:
        """The events after ``after_id`` as a query made after mark ``(heard, generation)``
        would return them; from the shared rows when they are fresh enough."""
        entry = self._office(office_id)
        with entry.lock:
            covers = entry.start is not None and entry.start <= after_id
            if not (covers and entry.generation == generation and entry.heard >= heard):
                origin = min(after_id, entry.last) if covers else after_id
                found = events.since(office_id, origin, limit=limit)
                self.queries += 1
                if covers:
                    entry.rows.extend(e for e in found if e.id > entry.last)
                else:  # a new window (a reader further back than the rows kept)
                    entry.start, entry.rows, entry.last = origin, list(found), origin
                if entry.rows:
                    entry.last = max(entry.last, entry.rows[-1].id)
                # Rows cut at ``limit`` are not all there is: the next reader queries again.
                entry.heard = heard if len(found) < limit else -1
                entry.generation = generation
                if len(entry.rows) > self.keep:
                    dropped = entry.rows[:-self.keep]
                    entry.rows = entry.rows[-self.keep:]
                    entry.start = dropped[-1].id
            return [e for e in entry.rows if e.id > after_id][:limit]

    def wait(self, office_id: int | None, after_id: int | None, timeout: float) -> list:
        """Like ``events.wait``: the events after ``after_id`` as soon as there are any."""
        after_id = after_id or 0
        deadline = time.monotonic() + max(0.0, timeout)
        watcher = events.notifier()
        watcher.start()
        with watcher.waiting():
            while True:
                heard, generation = watcher.mark(office_id)
                found = self.read(office_id, after_id, heard, generation)
                if found:
                    return found
                if not watcher.sleep(office_id, max(after_id, heard), generation, deadline):
                    return []
