"""The clerk's console in a real browser: sign in, take a counter, call the next ticket with
the keyboard (N), finish it (F); shortcuts do nothing while typing in a field; a ticket
issued meanwhile shows in the waiting list at once (the console's event stream); no serious
accessibility violations."""
import pytest

from citizen_desk.core import uow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.catalog.models import Service
from citizen_desk.queue import operations as ops
from citizen_desk.queue.models import Ticket, TicketStatus
from citizen_desk.staff.models import Role
from tests.browser.test_staff import sign_in
from tests.factories import create_user
from tests.tickets.conftest import set_up_desk

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(app):
    def work():
        ids = set_up_desk()
        office = db.session.get(Office, ids.office_id)
        create_user("console@example.gr", Role.clerk, office=office,
                    display_name="Ελένη Ιωάννου")
        service = db.session.get(Service, ids.a_id)
        ops.issue(office, service, needs={"interpreter": "ar"})
        ops.issue(office, service, priority="senior")
        return ids
    with app.app_context():
        ids = uow.run(work)
        db.session.remove()
    return ids


def statuses(app):
    with app.app_context():
        found = dict(db.session.execute(db.select(Ticket.number, Ticket.status)).all())
        db.session.remove()
    return found


def test_take_a_counter_call_next_by_key_and_finish(page, live_server, app, desk, axe_scan):
    sign_in(page, live_server.url, email="console@example.gr")
    page.wait_for_url("**/staff/")
    page.goto(f"{live_server.url}/staff/queue/?lang=en")
    page.locator(f"tr[data-counter='{desk.counter1_id}'] button").click()
    page.wait_for_url(f"**/staff/queue/counters/{desk.counter1_id}")
    assert page.locator("[data-waiting-count]").get_attribute("data-waiting-count") == "2"
    assert axe_scan() == []
    page.reload()  # a fresh page: axe's script stays in the page it scanned
    page.locator("h1").click()  # the page has the keyboard's focus, as a clerk's click gives it
    page.wait_for_selector("html[data-shortcuts=on]", state="attached")

    with page.expect_navigation():
        page.keyboard.press("n")
    page.wait_for_selector("[data-current-ticket='A002']")  # the priority class first
    assert statuses(app) == {"A001": TicketStatus.waiting, "A002": TicketStatus.called}

    # A key typed into a field is the field's, not a shortcut: M (did not come) does nothing.
    page.locator("#outcome").focus()
    page.keyboard.press("m")
    page.wait_for_timeout(300)
    assert statuses(app)["A002"] == TicketStatus.called
    assert page.locator("[aria-keyshortcuts='F']").count() == 1
    assert axe_scan() == []
    page.reload()
    page.locator("h1").click()
    page.wait_for_selector("html[data-shortcuts=on]", state="attached")

    page.select_option("#outcome", "served")
    page.locator("body").click(position={"x": 5, "y": 5})
    with page.expect_navigation():
        page.keyboard.press("f")
    page.wait_for_selector("[data-current-ticket='']")
    assert statuses(app)["A002"] == TicketStatus.done
    with app.app_context():
        assert db.session.scalar(db.select(Ticket.outcome).where(
            Ticket.number == "A002")) == "served"
        db.session.remove()


def test_console_fits_a_phone(page, live_server, app, desk):
    sign_in(page, live_server.url, email="console@example.gr")
    page.wait_for_url("**/staff/")
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{live_server.url}/staff/queue/")
    page.locator(f"tr[data-counter='{desk.counter1_id}'] button").click()
    page.wait_for_selector("html[data-shortcuts=on]", state="attached")
    with page.expect_navigation():
        page.keyboard.press("n")
    page.wait_for_selector("[data-current-ticket='A002']")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width


def test_a_new_ticket_shows_in_the_waiting_list_at_once(page, live_server, app, desk):
    sign_in(page, live_server.url, email="console@example.gr")
    page.wait_for_url("**/staff/")
    page.goto(f"{live_server.url}/staff/queue/?lang=en")
    with page.expect_request(f"**/staff/queue/counters/{desk.counter1_id}/events"):
        page.locator(f"tr[data-counter='{desk.counter1_id}'] button").click()
    page.wait_for_url(f"**/staff/queue/counters/{desk.counter1_id}")
    assert page.locator("[data-waiting-count]").get_attribute("data-waiting-count") == "2"
    page.wait_for_timeout(800)  # the refresh on the stream's opening has come and gone

    def work():
        office = db.session.get(Office, desk.office_id)
        ops.issue(office, db.session.get(Service, desk.a_id))
    with app.app_context():
        uow.run(work)
        db.session.remove()
    # Well before the 10-second poll (the fallback while the stream is down).
    page.wait_for_selector("[data-waiting-count='3']", timeout=4_000)
