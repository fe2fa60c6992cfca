"""gunicorn settings for citizen_desk: ``gunicorn`` in the repository's root reads this file.

Threaded workers (``gthread``), because waiting-room displays keep a
Server-Sent-Events stream open (``/offices/<office>/display/events``) and an
open stream holds one worker thread for its whole life (at most
``DISPLAY_STREAM_SECONDS``, 300 s, then the screen reconnects with
``Last-Event-ID`` and misses nothing). A waiting stream costs a sleeping
thread and nothing else: no database connection (it waits on the process's
one LISTEN connection, ``core/notifier.py``) and no CPU. So size threads for
the screens plus the requests that must never queue behind them:

    workers × threads ≥ open displays (and tracking pages, consoles that stream)
                        + concurrent requests of clerks, kiosks and citizens

The defaults, 2 workers × 100 threads, hold 150 screens with room to spare
for requests on a 2-core host. Each worker has its own SQLAlchemy pool (10
connections + 10 overflow, ``core/db.py``): streams borrow one only for the
moment they read new events, so the pool need not grow with the thread
count (a thread waits for a free connection at worst). Workers share
nothing: a call made through one worker or another host reaches every
screen through PostgreSQL's NOTIFY (on SQLite, a 0.25 s poll per process).

Citizens' tracking pages (``/t/<id>/events``) are the many: a waiting room of
phones could take every thread. So each worker lets at most
``TRACKING_STREAMS_MAX`` of them stream (``display/budget.py``); further ones
get ``503`` with ``Retry-After`` at once and their pages poll every 5 s
instead, trying to stream again a minute later. ``post_fork`` below sets it
to half of a worker's threads (50 of 100; it follows ``--threads``) unless
``CITIZEN_DESK_TRACKING_STREAMS_MAX`` is set; without gunicorn (or with
``--preload``) it is 50. Displays and clerks' consoles are few and not
capped: the other half is theirs and the requests'.

Every setting can be overridden on the command line (the tests' harness
does) or through the environment variables read below.
"""
import os

wsgi_app = "citizen_desk:create_app()"
bind = os.environ.get("CITIZEN_DESK_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
#: Threads per worker: one per open display stream, plus the requests' share.
threads = int(os.environ.get("GUNICORN_THREADS", "100"))
#: A gthread worker's connections at once. Equal to its threads, so that a worker whose
#: threads are all taken (by open streams) stops accepting and the others take the new
#: connections: with more, gunicorn's default of 1000, a worker full of streams still
#: accepted requests and queued them behind streams that last minutes (measured with 200
#: streams on 2 × 120 threads: a clerk's request waited past 30 s). The price is no
#: keep-alive (gunicorn says so once at start), which a reverse proxy in front does not
#: need. Give the same number to both when you change one on the command line.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", str(threads)))
#: Seconds without a heartbeat from the worker's main loop before it is restarted. A stream
#: does not block that loop (it runs in a thread), so this need not exceed a stream's life.
timeout = 60
#: On a restart or deploy, requests get this long to finish; open display streams are cut
#: after it, and the screens reconnect to the new workers with Last-Event-ID.
graceful_timeout = 10


def post_fork(server, worker):
    """In each new worker, before it loads the app: its budget of citizens' tracking streams
    is half of its threads, unless the environment sets one (module docstring)."""
    os.environ.setdefault("CITIZEN_DESK_TRACKING_STREAMS_MAX", str(worker.cfg.threads // 2))
