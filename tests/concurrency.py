"""Serve the real application with gunicorn and send it requests at the same instant.

The test client runs one request at a time in the test's own process; races
between workers of a real deployment (overbooking, a ticket called twice, a
lost update) only show with a real server. This module gives the tests one:

    from tests.concurrency import race, served_app, summary

    def test_no_overbooking(app, database_url):
        ...                                   # create the data and commit it
        with served_app(database_url, workers=2, threads=4) as server:
            cookie = server.sign_in(user.email, PASSWORD)
            results = race(20, lambda i: server.post(
                "/api/v1/appointments", json={...}, headers={"Cookie": cookie}))
        assert summary(results) == {201: 4, 409: 16}, summary(results)

``served_app(database_url, workers=2, threads=4, **config)`` starts gunicorn
(``gthread`` workers, as in production) on a free loopback port against the
test database of the run (SQLite file or PostgreSQL: the ``database_url``
fixture), waits until ``GET /api/v1/health`` answers 200, and yields a
``Server``; leaving the block stops gunicorn and its workers, also when the
test failed. Settings go to the app as ``CITIZEN_DESK_<NAME>`` environment
variables, JSON-encoded (``RATELIMIT_ENABLED=True``, ``UNIT_OF_WORK_ATTEMPTS=3``);
by default CSRF and rate limits are off and ``CITIZEN_DESK_ENV=testing``.
The server only sees committed data: commit what the test creates first
(``uow.run(lambda: ...)``) and read the outcome from a new session after.

``race(n, request_fn, mode="threads"|"processes", timeout=60)`` releases
``n`` workers together through a barrier; worker ``i`` calls
``request_fn(i)``. It returns the ``n`` results in order of ``i``: what
``request_fn`` returned (usually a ``Response``) or the exception it raised
(a refused connection is a result, not a crash of the test). A worker that
has not finished when ``timeout`` runs out gets a ``TimeoutError``.
``mode="processes"`` runs each worker in its own process (no shared GIL,
separate sockets): ``request_fn`` must then be picklable, e.g. a
``Request`` from ``server.request(...)`` (the same request ``n`` times) or
``OneEach([server.request(...), ...])`` (request ``i`` for worker ``i``).

A ``Server`` has ``url``, ``get(path)``, ``post(path, data)`` (both take
``json=``, ``headers=``), ``request(method, path, ...)`` (a ``Request`` to
send later), ``sign_in(email, password)`` (the ``Cookie`` header of a
signed-in staff session, through ``POST /staff/login``) and ``log()`` (what
gunicorn and the app wrote: put it in assertion messages). A ``Response`` is
``(status, body, headers)`` with ``json()``, ``location``, ``header(name)``
and ``cookies()``; ``summary(results)`` counts statuses and exception names.

Requests use the standard library (``http.client``), never follow
redirects (a 302 is an answer to check) and open one connection each.
Everything is bounded: at most ``MAX_WORKERS`` racers, loopback only, and
every wait has a deadline.
"""
from __future__ import annotations

import collections
import json as jsonlib
import multiprocessing
import os
import pickle
import queue as queuelib
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from typing import Callable, Iterator, NamedTuple
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
#: The most workers ``race`` starts, and the longest it waits, whatever it is asked.
MAX_WORKERS = 64
MAX_SECONDS = 300
#: A secret key for the served app (≥ 32 characters; the tests' own apps use another).
SECRET_KEY = "concurrency-tests-secret-key-long-enough-0123456789"
#: Environment variables of the test run that must not reach the served app.
_INHERITED = ("DATABASE_URL", "SECRET_KEY", "REDIS_URL", "SMTP_")


class Response(NamedTuple):
    """An HTTP answer: ``status``, ``body`` (text) and ``headers`` (name, value) pairs."""

    status: int
    body: str
    headers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (case-insensitive)."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return default

    @property
    def location(self) -> str | None:
        """Where a redirect points, as the app wrote it."""
        return self.header("Location")

    def json(self):
        return jsonlib.loads(self.body)

    def cookies(self) -> str:
        """The cookies this answer sets, as a ``Cookie`` request header value."""
        pairs = [value.split(";", 1)[0] for key, value in self.headers
                 if key.lower() == "set-cookie"]
        return "; ".join(pair for pair in pairs if pair.split("=", 1)[1:] != [""])


def http(method: str, url: str, *, data=None, json=None, headers: dict | None = None,
         timeout: float = 30.0) -> Response:
    """Send one request to a loopback ``url``; redirects are not followed.

    ``data`` is a form (a dict, or a list of pairs; list values repeat the
    field, e.g. checkboxes), ``json`` a JSON body. Connection errors raise.
    """
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"only loopback http:// URLs are allowed here, not {url!r}")
    headers = dict(headers or {})
    body = None
    if json is not None:
        body = jsonlib.dumps(json).encode()
        headers.setdefault("Content-Type", "application/json")
    elif data is not None:
        body = urlencode(data, doseq=True).encode()
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    headers.setdefault("Connection", "close")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    connection = HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        content = answer.read()
        return Response(answer.status, content.decode("utf-8", errors="replace"),
                        tuple(answer.getheaders()))
    finally:
        connection.close()


@dataclass(frozen=True)
class Request:
    """A request prepared to be sent later, in this process or another (picklable).

    Called with a worker's index (ignored), so that ``race(n, request)`` sends
    it ``n`` times.
    """

    method: str
    url: str
    data: object = None
    json: object = None
    headers: dict | None = None
    timeout: float = 30.0

    def send(self) -> Response:
        return http(self.method, self.url, data=self.data, json=self.json,
                    headers=self.headers, timeout=self.timeout)

    def __call__(self, index: int | None = None) -> Response:
        return self.send()


@dataclass(frozen=True)
class OneEach:
    """``race`` helper: worker ``i`` sends ``requests[i]`` (picklable)."""

    requests: tuple[Request, ...]

    def __init__(self, requests):
        object.__setattr__(self, "requests", tuple(requests))

    def __call__(self, index: int) -> Response:
        return self.requests[index].send()


@dataclass
class Server:
    """A running gunicorn serving the app: its ``url`` and helpers to call it."""

    url: str
    process: subprocess.Popen
    log_path: Path
    timeout: float = 30.0

    def request(self, method: str, path: str, **kw) -> Request:
        """A request to ``path`` on this server, not sent yet (see ``Request``)."""
        kw.setdefault("timeout", self.timeout)
        return Request(method, self.url + path, **kw)

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw).send()

    def post(self, path: str, data=None, **kw) -> Response:
        return self.request("POST", path, data=data, **kw).send()

    def sign_in(self, email: str, password: str) -> str:
        """Sign in through ``POST /staff/login``; return the ``Cookie`` header to reuse.

        Needs CSRF off in the served app (the default of ``served_app``).
        """
        answer = self.post("/staff/login", {"email": email, "password": password})
        if answer.status != 302 or not answer.cookies():
            raise AssertionError(f"sign-in as {email} failed: {answer.status} "
                                 f"{answer.body[:300]!r}")
        return answer.cookies()

    def log(self) -> str:
        """What gunicorn and the app wrote to stderr so far (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def _environment(database_url: str, env: str, config: dict) -> dict:
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith("CITIZEN_DESK_") and not key.startswith(_INHERITED)}
    environ.update({
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "CITIZEN_DESK_ENV": env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    })
    settings = {"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, **config}
    for name, value in settings.items():
        # config.py parses CITIZEN_DESK_* values as JSON when it can.
        environ[f"CITIZEN_DESK_{name}"] = value if isinstance(value, str) else jsonlib.dumps(value)
    return environ


#: What gunicorn logs when a worker cannot load the app (it would start another, forever).
_BOOT_FAILURES = ("Worker failed to boot", "exited with code", "Traceback")


def _wait_until_healthy(server: Server, deadline: float):
    last = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {server.process.returncode}:\n"
                               f"{server.log()[-4000:]}")
        log = server.log()
        if any(failure in log for failure in _BOOT_FAILURES):
            raise RuntimeError(f"gunicorn's workers could not start the app:\n{log[-4000:]}")
        try:
            last = http("GET", server.url + "/api/v1/health", timeout=2)
            if last.status == 200:
                return
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"the app did not answer 200 on /api/v1/health in time (last: {last!r}):\n"
                       f"{server.log()[-4000:]}")


def _stop(process: subprocess.Popen, grace: float = 10.0):
    """Stop gunicorn and its workers: TERM (graceful), then KILL of its process group."""
    if process.poll() is not None:
        return  # exited on its own; its workers notice their parent is gone and exit
    process.terminate()
    try:
        process.wait(timeout=grace)
        return  # the arbiter stopped its workers before exiting
    except subprocess.TimeoutExpired:
        pass
    # Stuck: kill gunicorn's own process group (start_new_session), workers included,
    # while its leader is alive and its id cannot have been reused.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait(timeout=grace)


@contextmanager
def served_app(database_url: str, *, workers: int = 2, threads: int = 4,
               env: str = "testing", startup_timeout: float = 30.0,
               request_timeout: float = 30.0, **config) -> Iterator[Server]:
    """Serve the app with gunicorn (gthread) on a free loopback port; yield a ``Server``.

    ``config`` are settings of the app (``UNIT_OF_WORK_ATTEMPTS=3``, …);
    ``env`` is ``CITIZEN_DESK_ENV`` (``testing`` or ``development``).
    gunicorn and its workers are stopped when the block is left, however.
    """
    if not 1 <= workers <= 8 or not 1 <= threads <= 32:
        raise ValueError("keep the served app small: 1–8 workers, 1–32 threads")
    # Bind the port here and hand the socket to gunicorn: no window in which
    # another process could take the port between choosing it and binding it.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    log_file = tempfile.NamedTemporaryFile(prefix="citizen-desk-gunicorn-", suffix=".log",
                                           delete=False)
    log_path = Path(log_file.name)
    process = None
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"fd://{listener.fileno()}",
             "--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads),
             "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning",
             "--error-logfile", "-", "citizen_desk:create_app()"],
            cwd=ROOT, env=_environment(database_url, env, config), stdin=subprocess.DEVNULL,
            stdout=log_file, stderr=subprocess.STDOUT, pass_fds=(listener.fileno(),),
            start_new_session=True)
        listener.close()  # gunicorn holds it now
        server = Server(f"http://127.0.0.1:{port}", process, log_path, request_timeout)
        _wait_until_healthy(server, time.monotonic() + startup_timeout)
        yield server
    finally:
        listener.close()
        if process is not None:
            _stop(process)
        log_file.close()
        log_path.unlink(missing_ok=True)


# -- racing ------------------------------------------------------------------------------------

def race(n: int, request_fn: Callable[[int], object], *, mode: str = "threads",
         timeout: float = 60.0, start_method: str = "spawn") -> list:
    """Run ``request_fn(i)`` for ``i`` in ``range(n)``, all released at once; return the results.

    Result ``i`` is what ``request_fn(i)`` returned or the exception it raised.
    ``mode="threads"`` (default) runs the workers as threads of this process;
    ``mode="processes"`` as processes (``start_method``, spawn by default), which
    needs a picklable ``request_fn`` (``Request``, ``OneEach``, a module-level
    function). Workers still running after ``timeout`` seconds get a ``TimeoutError``.
    """
    if not 1 <= n <= MAX_WORKERS:
        raise ValueError(f"race between 1 and {MAX_WORKERS} workers, not {n}")
    timeout = min(float(timeout), MAX_SECONDS)
    if mode == "threads":
        return _race_threads(n, request_fn, timeout)
    if mode == "processes":
        return _race_processes(n, request_fn, timeout, start_method)
    raise ValueError(f"mode must be 'threads' or 'processes', not {mode!r}")


_MISSING = object()


def _race_threads(n, request_fn, timeout):
    deadline = time.monotonic() + timeout
    barrier = threading.Barrier(n, timeout=timeout)
    results = [_MISSING] * n

    def worker(index):
        try:
            barrier.wait()
            results[index] = request_fn(index)
        except BaseException as exc:  # every outcome is a result
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i,), daemon=True,
                                name=f"race-{i}") for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [TimeoutError(f"worker {i} did not finish in {timeout:g} s") if result is _MISSING
            else result for i, result in enumerate(results)]


def _process_worker(index, request_fn, barrier, outbox):
    try:
        barrier.wait()
        outcome = request_fn(index)
    except BaseException as exc:
        outcome = exc
    try:
        pickle.dumps(outcome)
    except Exception:
        outcome = RuntimeError(f"unpicklable result of worker {index}: {outcome!r}")
    outbox.put((index, outcome))


def _race_processes(n, request_fn, timeout, start_method):
    context = multiprocessing.get_context(start_method)
    deadline = time.monotonic() + timeout
    barrier = context.Barrier(n, timeout=timeout)
    outbox = context.Queue()
    processes = [context.Process(target=_process_worker, args=(i, request_fn, barrier, outbox),
                                 daemon=True, name=f"race-{i}") for i in range(n)]
    results = [_MISSING] * n
    try:
        for process in processes:
            process.start()
        for _ in range(n):
            try:
                index, outcome = outbox.get(timeout=max(0.01, deadline - time.monotonic()))
            except queuelib.Empty:
                break
            results[index] = outcome
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)
        outbox.close()
        outbox.join_thread()
    return [TimeoutError(f"worker {i} did not finish in {timeout:g} s") if result is _MISSING
            else result for i, result in enumerate(results)]


def summary(results) -> collections.Counter:
    """Count the outcomes: status codes of responses, class names of exceptions.

    ``assert summary(results) == {201: 4, 409: 16}, summary(results)`` reads well
    in a failure report.
    """
    counts = collections.Counter()
    for result in results:
        if isinstance(result, BaseException):
            counts[type(result).__name__] += 1
        elif isinstance(result, Response):
            counts[result.status] += 1
        else:
            counts[repr(result)] += 1
    return counts
