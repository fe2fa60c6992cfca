"""Browser fixtures: the app served on a free loopback port, driven by
Playwright through Debian's Chromium (``/usr/bin/chromium``; nothing
downloads a browser). Without Chromium these tests are skipped, except in
CI, where they fail."""
from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import ThreadedWSGIServer

from citizen_desk.core import events

CHROMIUM = os.environ.get("CITIZEN_DESK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _missing(reason):
    if os.environ.get("CI"):
        pytest.fail(reason + " (required in CI)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                     headless=True)
        yield browser
        browser.close()


#: How often an idle event stream of a served app writes (``DISPLAY_HEARTBEAT_SECONDS``):
#: a stream notices that its browser left only when it writes.
STREAM_HEARTBEAT_SECONDS = 1
#: How long stopping a server waits for its requests to end.
STOP_SECONDS = 10


class LiveServer(ThreadedWSGIServer):
    """Werkzeug's threaded server, knowing the connections its request threads serve.

    ``server.shutdown()`` only stops accepting: a request thread goes on, an
    event stream (display, console, tracking page) until the browser leaves and
    its next write fails, up to minutes later. It would then read through the
    engine the ``app`` fixture has already disposed, which opens a new pool of
    its own: when the app was collected, the connections left in that pool were
    reported (``ResourceWarning``) in a later, unrelated test. ``stop`` ends them first.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._served = threading.Condition()
        self.connections: set[socket.socket] = set()

    def process_request(self, request, client_address):
        # In the accepting thread, before the request's thread starts: once ``shutdown()``
        # has returned, every connection still being served is in the set.
        with self._served:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        # The last thing a request's thread does.
        super().shutdown_request(request)
        with self._served:
            self.connections.discard(request)
            self._served.notify_all()

    def stop(self, timeout: float) -> None:
        """Stop accepting, cut every connection and wait up to ``timeout`` seconds for
        their threads to end (those that did not are left in ``connections``)."""
        self.shutdown()
        deadline = time.monotonic() + timeout
        with self._served:
            for connection in self.connections:
                try:  # the thread's next read or write fails at once
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:  # already closed by the browser
                    pass
            while self.connections:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._served.wait(remaining)
        self.server_close()


@contextmanager
def serve(app):
    """Serve ``app`` on 127.0.0.1 and a free port in a background thread; on the way out,
    end every request and the app's event listener (a thread with a connection of its own).

    Event streams beat at least every ``STREAM_HEARTBEAT_SECONDS``: a stream waiting for
    events notices its cut connection at its next beat."""
    app.config["DISPLAY_HEARTBEAT_SECONDS"] = min(STREAM_HEARTBEAT_SECONDS,
                                                  app.config["DISPLAY_HEARTBEAT_SECONDS"])
    server = LiveServer("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield server
    finally:
        server.stop(STOP_SECONDS)
        thread.join(timeout=5)
        with app.app_context():
            events.notifier().stop()


@pytest.fixture
def live_server(app):
    """Serve ``app`` on 127.0.0.1 and a free port in a background thread (``serve``)."""
    with serve(app) as server:
        yield server
    if server.connections:
        pytest.fail(f"{len(server.connections)} request(s) of the live server still ran "
                    f"{STOP_SECONDS} s after it stopped: the app's engine is being disposed "
                    "under them")


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(locale="el-GR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


@pytest.fixture
def axe_scan(page):
    """Run axe-core on the current page; return serious and critical violations."""
    if not AXE.exists():
        _missing(f"{AXE} missing (npm install)")
    source = AXE.read_text(encoding="utf-8")

    def scan():
        # evaluate() runs through the DevTools protocol, which the page's CSP does not block.
        page.evaluate(source + "\n;0")
        result = page.evaluate("async () => await axe.run(document, "
                               "{resultTypes: ['violations']})")
        return [
            {"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")
        ]
    return scan


def pytest_collection_modifyitems(items):
    # Chromium drops connections it no longer needs (the favicon of a page it is
    # leaving); Werkzeug's development server then leaves the file it was sending
    # to the garbage collector, which Python reports as an "unraisable" warning in
    # whichever test runs next. That is the test server's manners, not the app's.
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.filterwarnings(
                "ignore:Exception ignored in. <_io.BufferedReader"
                ":pytest.PytestUnraisableExceptionWarning"))
