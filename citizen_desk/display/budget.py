"""A per-process budget of citizens' tracking streams, so that they never starve clerks and kiosks.

Every open ``GET /t/<id>/events`` (``live.py``) holds a worker thread for its
whole life. A busy office's waiting room, each phone on its tracking page,
would otherwise take every thread of a worker (gunicorn's 2 × 100 by
default), and a clerk's call-next or a kiosk's ticket would queue behind
streams that last minutes. So a process lets at most ``TRACKING_STREAMS_MAX``
of them stream at once (``gunicorn.conf.py`` sets it to half of a worker's
threads unless the environment does); past that, the stream answers ``503``
at once with ``Retry-After: 60``, and the page falls back to its 5-second
poll and tries to stream again after 60–90 s (``static/js/tracking.js``).
Displays and clerks' consoles are few and are not counted.

A slot is taken before the stream's response is built and given back when the
WSGI server closes that response: at the stream's normal end, or once a
write to a client that went away fails (within a heartbeat, or the send
timeout of a client that stopped reading). Giving back is idempotent.
"""
from __future__ import annotations

import logging
import threading
import time

from flask import Response, current_app

log = logging.getLogger(__name__)

_EXTENSION = "citizen_desk.display.tracking_streams"
#: Seconds a refused page is asked to wait before it tries to stream again (tracking.js: the
#: same, plus up to half again so that refused pages do not come back together).
RETRY_AFTER_SECONDS = 60
#: At most one warning about a full budget in this many seconds.
WARN_EVERY = 60.0


class Slot:
    """One stream's place in a budget; ``release()`` gives it back (once, however often called)."""

    def __init__(self, budget: StreamBudget):
        self._budget = budget
        self._released = False

    def release(self) -> None:
        with self._budget._lock:
            if self._released:
                return
            self._released = True
            self._budget._open -= 1


class StreamBudget:
    """At most ``limit`` open streams in this process: ``acquire()`` gives a ``Slot`` or ``None``.

    ``limit`` may change while streams are open (those keep their slots); ``0``
    refuses every stream.
    """

    def __init__(self, limit: int, name: str = "streams"):
        self.limit = limit
        self.name = name
        self._open = 0
        self._lock = threading.Lock()
        self._warned = float("-inf")

    @property
    def open(self) -> int:
        """Slots taken now."""
        with self._lock:
            return self._open

    def acquire(self) -> Slot | None:
        with self._lock:
            if self._open >= self.limit:
                now = time.monotonic()
                warn = now - self._warned >= WARN_EVERY
                if warn:
                    self._warned = now
            else:
                self._open += 1
                return Slot(self)
        if warn:
            log.warning("%s: all %d taken; refusing more (they poll instead)", self.name,
                        self.limit)
        return None


def tracking_streams() -> StreamBudget:
    """This process's budget of citizens' tracking streams (made by ``display.init_app``)."""
    return current_app.extensions[_EXTENSION]


def refused() -> Response:
    """The answer to a stream past the budget: ``503``, try again after a while."""
    response = Response(status=503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_app(app):
    app.config.setdefault("TRACKING_STREAMS_MAX", 50)
    app.extensions[_EXTENSION] = StreamBudget(int(app.config["TRACKING_STREAMS_MAX"]),
                                              "tracking streams")
