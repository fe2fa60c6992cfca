"""A ticket's tracking page in Chromium on a phone: a clerk's call shows "please go to
Counter 1" at once (the page's event stream; the poll is only the fallback), with the alerts the citizen turned on; no accessibility
violations while waiting or called."""
from __future__ import annotations

import pytest

from citizen_desk.catalog.models import Counter, Service
from citizen_desk.core import uow
from citizen_desk.display import budget
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import operations as ops
from citizen_desk.queue.models import Ticket
from citizen_desk.staff.models import StaffUser
from tests.tickets.conftest import set_up_desk

pytestmark = pytest.mark.browser

#: Records what the page asks of the phone (vibration, notifications) instead of doing it.
RECORDER = """
window.__vibrations = [];
navigator.vibrate = function (pattern) { window.__vibrations.push(pattern); return true; };
window.__notifications = [];
window.Notification = function (title, options) { window.__notifications.push(title); };
window.Notification.permission = "granted";
window.Notification.requestPermission = function () { return Promise.resolve("granted"); };
"""


def phone(browser, script=None):
    """A new page in a new English phone-sized context, ``script`` run before the page's own;
    the test closes ``page.context``."""
    context = browser.new_context(locale="en-GB", viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)
    if script:
        context.add_init_script(script)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def in_unit(app, work):
    with app.app_context():
        try:
            return uow.run(work)
        finally:
            db.session.remove()


@pytest.fixture
def line(app):
    """A desk with two waiting tickets in English; the public id of the second."""
    def work():
        desk = set_up_desk()
        office, service = db.session.get(Office, desk.office_id), db.session.get(Service, desk.a_id)
        ids = [ops.issue(office, service, language="en")[0].public_id for _ in range(2)]
        return desk, ids
    return in_unit(app, work)


def call(app, desk, public_id=None):
    def work():
        counter = db.session.get(Counter, desk.counter1_id)
        clerk = db.session.get(StaffUser, desk.clerk_id)
        if public_id is None:
            return ops.call_next(counter, clerk).number
        ticket = db.session.scalar(db.select(Ticket).where(Ticket.public_id == public_id))
        return ops.call(ticket, counter, clerk).number
    return in_unit(app, work)


def test_a_clerks_call_shows_on_the_open_page_within_one_poll(app, browser, live_server, line):
    desk, ids = line
    page = phone(browser, RECORDER)
    try:
        with page.expect_request(f"**/t/{ids[1]}/events"):
            page.goto(f"{live_server.url}/t/{ids[1]}")
        assert page.locator("#cd-ticket-number").inner_text() == "A002"
        assert page.locator("#cd-tracking-live").get_attribute("data-state") == "near"
        page.get_by_role("button", name="Turn on sound and alerts").click()
        page.wait_for_function("window.__vibrations.length >= 1")  # near: alerted at once

        assert call(app, desk) == "A001"  # the one ahead: now nobody is ahead
        page.wait_for_selector("[data-ahead='0']", timeout=6_500)

        # Live: the page's stream nudges it at once; with the stream up its poll is 30 s
        # away, so the page must change well before the 5-second poll would have come.
        assert call(app, desk, ids[1]) == "A002"
        page.wait_for_selector("[data-counter]", timeout=3_000)
        assert page.locator("[data-counter]").inner_text() == "Counter 1"
        assert page.get_by_text("It is your turn!").is_visible()
        assert page.title().startswith("It is your turn: A002, Counter 1")
        assert page.evaluate("window.__notifications").count(page.title()) == 1
        assert len(page.evaluate("window.__vibrations")) >= 2
        # The number and the counter fit the phone's width.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        page.context.close()


#: Counts the nudges the page's stream delivers (``event: changed``), for the test to wait on.
NUDGES = """
window.__nudges = 0;
(function () {
  var Real = window.EventSource;
  window.EventSource = function (url, options) {
    var source = new Real(url, options);
    source.addEventListener("changed", function () { window.__nudges += 1; });
    return source;
  };
  window.EventSource.prototype = Real.prototype;
})();
"""


def test_a_nudge_that_comes_while_the_page_polls_is_not_lost(app, browser, live_server, line):
    """The call's nudge comes while the page's poll is on its way and that poll's answer,
    read before the call, arrives after it: the page asks again at once, instead of
    dropping the nudge for the 30-second safety poll."""
    desk, ids = line
    page = phone(browser, NUDGES)
    try:
        # Streaming: the page asks once when its stream opens, then only every 30 s.
        with page.expect_response(f"**/api/v1/tickets/{ids[1]}"):
            page.goto(f"{live_server.url}/t/{ids[1]}")
        held = []
        page.route(f"**/api/v1/tickets/{ids[1]}",
                   lambda route: held.append((route, route.fetch())), times=1)
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # polls now
        for _ in range(100):
            if held:
                break
            page.wait_for_timeout(50)
        route, before_the_call = held[0]  # the poll's answer, still waiting
        assert call(app, desk, ids[1]) == "A002"
        eventually(page, "window.__nudges", lambda nudges: nudges == 1)
        route.fulfill(response=before_the_call)  # well within the 2 s the nudge waits
        page.wait_for_selector("[data-counter]", timeout=10_000)
        assert page.locator("[data-counter]").inner_text() == "Counter 1"
    finally:
        page.context.close()


@pytest.mark.parametrize("state", ["waiting", "called"])
def test_no_accessibility_violations(app, page, live_server, line, axe_scan, state):
    desk, ids = line
    if state == "called":
        call(app, desk, ids[1])
    page.goto(f"{live_server.url}/t/{ids[1]}")
    assert axe_scan() == []


#: Android's Chrome: ``new Notification(...)`` throws; only a service worker's registration
#: shows one. The permission stays the browser's own (granted by the test's context).
ANDROID = """
window.__illegal = 0;
(function () {
  var Real = window.Notification;
  function Android() { window.__illegal += 1; throw new TypeError("Illegal constructor"); }
  Android.requestPermission = Real.requestPermission.bind(Real);
  Object.defineProperty(Android, "permission", { get: function () { return Real.permission; } });
  window.Notification = Android;
})();
"""

SHOWN = """async () => {
  const registration = await navigator.serviceWorker.getRegistration();
  if (!registration) { return []; }
  return (await registration.getNotifications()).map(n => [n.title, n.tag, n.data && n.data.url]);
}"""


def eventually(page, script, until, seconds=10):
    """The first answer of ``script`` (awaited, unlike ``wait_for_function``'s predicate)
    for which ``until`` holds, asking every 100 ms."""
    for _ in range(seconds * 10):
        answer = page.evaluate(script)
        if until(answer):
            return answer
        page.wait_for_timeout(100)
    raise AssertionError(f"still {answer!r} after {seconds} s")


def test_alerts_notify_through_the_service_worker(app, browser, live_server, line):
    """On a phone whose browser refuses the page's own notifications (Android's Chrome),
    turning alerts on registers /t/sw.js, and the call is notified through it."""
    desk, ids = line
    page = phone(browser, ANDROID)
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    try:
        page.goto(f"{live_server.url}/t/{ids[1]}")
        assert page.evaluate("navigator.serviceWorker.getRegistration()") is None  # not yet
        page.get_by_role("button", name="Turn on sound and alerts").click()
        assert page.locator("[data-alerts-status]").inner_text() == (
            "Sound and alerts are on. Keep this page open.")
        scope = eventually(page, "navigator.serviceWorker.getRegistration()"
                                 ".then(r => r && r.active && r.scope)", bool)
        assert scope == f"{live_server.url}/t/"
        # Near at once: the alert went through the worker, not the refused constructor.
        assert [tag for _, tag, _ in eventually(page, SHOWN, bool)] == ["cd-ticket-near"]

        call(app, desk)
        assert call(app, desk, ids[1]) == "A002"
        page.wait_for_selector("[data-counter]", timeout=3_000)
        title = page.title()
        assert title.startswith("It is your turn: A002, Counter 1")
        shown = eventually(page, SHOWN, lambda shown: len(shown) == 2)
        assert [title, "cd-ticket-called", f"/t/{ids[1]}"] in shown
        assert page.evaluate("window.__illegal") == 0
    finally:
        page.context.close()


def test_a_page_refused_its_stream_polls_and_streams_again_later(app, browser, live_server,
                                                                   line):
    """Past the server's budget of citizens' streams (``display/budget.py``) the page's stream
    is refused: the citizen still sees the call (the 5-second poll), and a minute or so later
    the page streams again."""
    desk, ids = line
    with app.app_context():
        streams = budget.tracking_streams()
    streams.limit = 0
    page = phone(browser)
    page.clock.install()  # runs in step with real time until fast_forward below
    try:
        with page.expect_response(f"**/t/{ids[1]}/events") as refused:
            page.goto(f"{live_server.url}/t/{ids[1]}")
        assert refused.value.status == 503
        assert call(app, desk) == "A001"
        page.wait_for_selector("[data-ahead='0']", timeout=6_500)

        streams.limit = 5
        with page.expect_response(f"**/t/{ids[1]}/events") as accepted:
            page.clock.fast_forward(91_000)  # past the page's 60-90 s before it asks again
        assert accepted.value.status == 200
        # Streaming again: the call shows long before the 30-second safety poll, the only
        # poll left while the stream is up. (The poll that fast_forward fired is often still
        # on its way when the call's nudge comes: its answer, read before the call, used to
        # drop the nudge, about one run in six; see the test of that above.)
        assert call(app, desk, ids[1]) == "A002"
        page.wait_for_selector("[data-counter]", timeout=10_000)
        assert page.locator("[data-counter]").inner_text() == "Counter 1"
    finally:
        page.context.close()
