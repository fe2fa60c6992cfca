"""The clerk's console: taking a counter (and taking one over), calling, serving, finishing,
transferring, pausing and leaving, each as a POST form; refusals shown, nothing changed."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from citizen_desk.catalog.models import Counter, Service
from citizen_desk.core import uow
from citizen_desk.core.audit import AuditEntry
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import operations as ops
from citizen_desk.queue.models import CounterSession, Ticket, TicketKind, TicketStatus
from citizen_desk.staff.models import Role, StaffUser
from tests.factories import PASSWORD, create_office, create_user, sign_in_client


# -- helpers -----------------------------------------------------------------------------------

def work(app, fn):
    """Run ``fn`` in its own unit of work (committed) and return its result."""
    with app.app_context():
        try:
            return uow.run(fn)
        finally:
            db.session.remove()


def issue(app, desk, service="a", **kw) -> str:
    """Issue a ticket at the desk's office; its public id."""
    def fn():
        office = db.session.get(Office, desk.office_id)
        wanted = db.session.get(Service, getattr(desk, f"{service}_id"))
        return ops.issue(office, wanted, **kw)[0].public_id
    return work(app, fn)


def ticket(app, public_id) -> dict:
    with app.app_context():
        found = db.session.scalar(select(Ticket).where(Ticket.public_id == public_id))
        result = {"status": found.status, "counter_id": found.counter_id,
                  "service_id": found.service_id, "outcome": found.outcome,
                  "recalls": found.recalls, "issued_dt": found.issued_dt, "number": found.number}
        db.session.remove()
        return result


def holder(app, counter_id):
    with app.app_context():
        session = db.session.scalar(select(CounterSession).where(
            CounterSession.counter_id == counter_id))
        result = (session.user_id, session.paused) if session else None
        db.session.remove()
        return result


def signed_in(app, user_id):
    client = app.test_client()
    with app.app_context():
        sign_in_client(client, db.session.get(StaffUser, user_id))
    return client


def new_clerk(app, desk, name="Μαρία Παπαδοπούλου") -> int:
    def fn():
        return create_user(role=Role.clerk, office=db.session.get(Office, desk.office_id),
                           display_name=name).id
    return work(app, fn)


def url(desk, action="", counter=1):
    counter_id = desk.counter1_id if counter == 1 else desk.counter2_id
    return f"/staff/queue/counters/{counter_id}" + (f"/{action}" if action else "")


def flashes(response) -> str:
    return " ".join(re.findall(r'govgr-notification-banner__content"><p class="govgr-body">(.*?)</p>',
                               response.get_data(as_text=True)))


@pytest.fixture
def clerk(app, desk):
    return signed_in(app, desk.clerk_id)


@pytest.fixture
def at_one(app, desk, clerk):
    """The desk's clerk at counter 1."""
    assert clerk.post(url(desk, "take")).status_code == 302
    return clerk


# -- the counters and taking one -----------------------------------------------------------------

def test_index_lists_counters_free_and_held_and_takes_a_free_one(app, desk, clerk):
    page = clerk.get("/staff/queue/?lang=en")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert f'data-counter="{desk.counter1_id}" data-state="free"' in body
    assert "Counter 1" in body and "Counter 2" in body

    taken = clerk.post(url(desk, "take"))
    assert taken.status_code == 302 and taken.location.endswith(url(desk))
    assert holder(app, desk.counter1_id) == (desk.clerk_id, False)
    body = clerk.get("/staff/queue/?lang=en").get_data(as_text=True)
    assert f'data-counter="{desk.counter1_id}" data-state="mine"' in body

    # A clerk holds one counter: taking counter 2 leaves counter 1.
    assert clerk.post(url(desk, "take", counter=2)).status_code == 302
    assert holder(app, desk.counter1_id) is None
    assert holder(app, desk.counter2_id) == (desk.clerk_id, False)


def test_taking_a_held_counter_asks_first_and_names_the_holder(app, desk, at_one):
    maria = new_clerk(app, desk)
    other = signed_in(app, maria)
    question = other.get(url(desk, "take") + "?lang=en")
    assert question.status_code == 200
    text = question.get_data(as_text=True)
    assert "Counter 1 is held by" in text and "since" in text and "Take it over?" in text
    assert f'name="take_over_from" value="{desk.clerk_id}"' in text

    # The console of a counter someone else holds is the question, not the console.
    console = other.get(url(desk))
    assert console.status_code == 302 and console.location.endswith(url(desk, "take"))

    # Posting without the holder's id does not take it over.
    refused = other.post(url(desk, "take"))
    assert refused.status_code == 409
    assert holder(app, desk.counter1_id) == (desk.clerk_id, False)

    taken = other.post(url(desk, "take"), data={"take_over_from": str(desk.clerk_id)})
    assert taken.status_code == 302
    assert holder(app, desk.counter1_id) == (maria, False)
    # The first clerk's console now asks too.
    assert at_one.get(url(desk)).status_code == 302


def test_a_stale_take_over_asks_again_with_the_new_holder(app, desk, at_one):
    maria, nikos = new_clerk(app, desk), new_clerk(app, desk, "Νίκος Γεωργίου")
    slow, fast = signed_in(app, maria), signed_in(app, nikos)
    # Both were shown "held by the desk's clerk"; Nikos confirms first.
    assert fast.post(url(desk, "take"),
                     data={"take_over_from": str(desk.clerk_id)}).status_code == 302
    again = slow.post(url(desk, "take") + "?lang=en",
                      data={"take_over_from": str(desk.clerk_id)})
    assert again.status_code == 409
    text = again.get_data(as_text=True)
    assert f'name="take_over_from" value="{nikos}"' in text
    assert "Someone else took this counter meanwhile" in text
    assert holder(app, desk.counter1_id) == (nikos, False)


def test_hostile_take_over_values_change_nothing(app, desk, at_one):
    other = signed_in(app, new_clerk(app, desk))
    for value in ("abc", "-1", "9" * 40, "", "٣"):
        response = other.post(url(desk, "take"), data={"take_over_from": value})
        assert response.status_code == 409, value
    assert holder(app, desk.counter1_id) == (desk.clerk_id, False)


def test_another_offices_clerk_and_unknown_counters_are_refused(app, desk):
    def fn():
        office = create_office(holiday_country=None)
        return create_user(role=Role.clerk, office=office).id
    stranger = signed_in(app, work(app, fn))
    for path in (url(desk), url(desk, "take")):
        assert stranger.get(path).status_code == 403
    assert stranger.post(url(desk, "take")).status_code == 403
    assert stranger.post(url(desk, "call-next")).status_code == 403
    assert holder(app, desk.counter1_id) is None
    assert stranger.get("/staff/queue/counters/999999").status_code == 403


def test_a_counter_out_of_use_says_so(app, desk, clerk):
    def retire():
        db.session.get(Counter, desk.counter2_id).retire()
    work(app, retire)
    for response in (clerk.get(url(desk, counter=2) + "?lang=en"),
                     clerk.post(url(desk, "take", counter=2) + "?lang=en")):
        assert response.status_code == 409
        assert 'data-counter-state="inactive"' in response.get_data(as_text=True)
    assert holder(app, desk.counter2_id) is None
    assert f'data-counter="{desk.counter2_id}"' not in clerk.get("/staff/queue/").get_data(
        as_text=True)


# -- the console -------------------------------------------------------------------------------

def test_call_next_serve_and_finish_with_an_outcome(app, desk, at_one):
    first = issue(app, desk)
    issue(app, desk, needs={"interpreter": "ar", "wheelchair": True})
    page = at_one.get(url(desk) + "?lang=en")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'data-waiting-count="2"' in body and 'data-current-ticket=""' in body
    assert 'aria-keyshortcuts="N"' in body and 'data-need="wheelchair"' in body

    called = at_one.post(url(desk, "call-next"))
    assert called.status_code == 302 and called.location.endswith(url(desk))
    assert ticket(app, first)["status"] == TicketStatus.called
    page = at_one.get(url(desk) + "?lang=en")
    body = page.get_data(as_text=True)
    assert 'data-current-ticket="A001"' in body and "Ticket A001 called." in flashes(page)
    assert 'data-waiting-count="1"' in body
    for key in "RSMFTPL":
        assert f'aria-keyshortcuts="{key}"' in body, key

    assert at_one.post(url(desk, "serve"), data={"ticket": first}).status_code == 302
    assert ticket(app, first)["status"] == TicketStatus.serving
    assert at_one.post(url(desk, "finish"),
                       data={"ticket": first, "outcome": "documents_missing"}).status_code == 302
    done = ticket(app, first)
    assert done["status"] == TicketStatus.done and done["outcome"] == "documents_missing"
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("queue.%"))))
        db.session.remove()
    assert {"queue.counter_opened", "queue.call", "queue.serve", "queue.finish"} <= actions


def test_finish_refuses_an_outcome_not_on_the_list(app, desk, at_one):
    first = issue(app, desk)
    at_one.post(url(desk, "call-next"))
    page = at_one.post(url(desk, "finish") + "?lang=en",
                       data={"ticket": first, "outcome": "said something personal"},
                       follow_redirects=True)
    assert "Choose an outcome from the list." in flashes(page)
    assert ticket(app, first)["status"] == TicketStatus.called


def test_recall_counts_and_turns_into_no_show_past_the_limit(app, desk, at_one):
    app.config["QUEUE_MAX_RECALLS"] = 2
    first = issue(app, desk)
    at_one.post(url(desk, "call-next"))
    for n in (1, 2):
        at_one.post(url(desk, "recall"), data={"ticket": first})
        assert ticket(app, first)["recalls"] == n
    assert 'data-recalls="2"' in at_one.get(url(desk)).get_data(as_text=True)
    page = at_one.post(url(desk, "recall") + "?lang=en", data={"ticket": first},
                       follow_redirects=True)
    assert ticket(app, first)["status"] == TicketStatus.no_show
    assert "did not come" in flashes(page)


def test_no_show_and_actions_on_a_ticket_no_longer_at_the_counter(app, desk, at_one):
    first = issue(app, desk)
    at_one.post(url(desk, "call-next"))
    assert at_one.post(url(desk, "no-show"), data={"ticket": first}).status_code == 302
    assert ticket(app, first)["status"] == TicketStatus.no_show
    # The page was stale: the ticket is closed; nothing happens to it.
    for action in ("serve", "recall", "finish", "no-show", "transfer"):
        page = at_one.post(url(desk, action) + "?lang=en",
                           data={"ticket": first, "target": "service:queue-b"},
                           follow_redirects=True)
        assert "This ticket is no longer at your counter." in flashes(page), action
    assert ticket(app, first)["status"] == TicketStatus.no_show
    # A waiting ticket named in a ticket action is not at the counter either.
    waiting = issue(app, desk)
    at_one.post(url(desk, "finish"), data={"ticket": waiting})
    assert ticket(app, waiting)["status"] == TicketStatus.waiting


def test_transfer_keeps_the_issue_time_and_refuses_bad_targets(app, desk, at_one):
    first = issue(app, desk)
    before = ticket(app, first)
    at_one.post(url(desk, "call-next"))
    # Counter 2 serves B only: an A ticket cannot wait there; nonsense targets are refused.
    for target in (f"counter:{desk.counter2_id}", "service:no-such-service", "counter:999999",
                   "counter:abc", "", "elsewhere"):
        page = at_one.post(url(desk, "transfer") + "?lang=en",
                           data={"ticket": first, "target": target}, follow_redirects=True)
        assert flashes(page), target
        assert ticket(app, first)["status"] == TicketStatus.called, target
    page = at_one.post(url(desk, "transfer") + "?lang=en",
                       data={"ticket": first, "target": "service:queue-b"},
                       follow_redirects=True)
    moved = ticket(app, first)
    assert "Ticket A001 transferred" in flashes(page)
    assert moved["status"] == TicketStatus.waiting and moved["service_id"] == desk.b_id
    assert moved["issued_dt"] == before["issued_dt"] and moved["counter_id"] is None
    # Now a B ticket: counter 2 serves B, so it may wait for counter 2 alone.
    at_one.post(url(desk, "call"), data={"ticket": first})
    at_one.post(url(desk, "transfer"), data={"ticket": first,
                                             "target": f"counter:{desk.counter2_id}"})
    moved = ticket(app, first)
    assert moved["status"] == TicketStatus.waiting and moved["counter_id"] == desk.counter2_id


def test_call_a_specific_ticket_and_refusals(app, desk, at_one):
    issue(app, desk)
    second = issue(app, desk)
    assert at_one.post(url(desk, "call"), data={"ticket": second}).status_code == 302
    assert ticket(app, second)["status"] == TicketStatus.called
    # Called already; unknown; another office's ticket: refused, nothing changes.
    page = at_one.post(url(desk, "call") + "?lang=en", data={"ticket": second},
                       follow_redirects=True)
    assert "no longer waiting" in flashes(page)
    for bad in ("nope", "x" * 500, ""):
        page = at_one.post(url(desk, "call") + "?lang=en", data={"ticket": bad},
                           follow_redirects=True)
        assert "There is no such ticket at this office." in flashes(page)

    def elsewhere():
        office = create_office(holiday_country=None)
        service = db.session.get(Service, desk.a_id)
        service.offices.append(office)
        db.session.flush()
        return ops.issue(office, service, kind=TicketKind.staff)[0].public_id
    foreign = work(app, elsewhere)
    at_one.post(url(desk, "call"), data={"ticket": foreign})
    assert ticket(app, foreign)["status"] == TicketStatus.waiting


def test_a_counter_not_serving_the_service_cannot_call_its_ticket(app, desk, clerk):
    a_ticket = issue(app, desk, "a")
    clerk.post(url(desk, "take", counter=2))  # counter 2 serves B only
    page = clerk.post(url(desk, "call", counter=2) + "?lang=en", data={"ticket": a_ticket},
                      follow_redirects=True)
    assert "does not serve this ticket" in flashes(page)
    assert ticket(app, a_ticket)["status"] == TicketStatus.waiting
    # Nor does call-next take it: nobody waits for counter 2.
    page = clerk.post(url(desk, "call-next", counter=2) + "?lang=en", follow_redirects=True)
    assert "Nobody is waiting for this counter." in flashes(page)


def test_pause_stops_calls_until_resumed_and_leave_frees_the_counter(app, desk, at_one):
    first = issue(app, desk)
    at_one.post(url(desk, "pause"))
    assert holder(app, desk.counter1_id) == (desk.clerk_id, True)
    page = at_one.get(url(desk) + "?lang=en").get_data(as_text=True)
    assert 'data-paused="true"' in page and re.search(r'data-shortcut="n"[^>]*disabled', page)
    refused = at_one.post(url(desk, "call-next") + "?lang=en", follow_redirects=True)
    assert "paused" in flashes(refused)
    assert ticket(app, first)["status"] == TicketStatus.waiting
    at_one.post(url(desk, "resume"))
    assert holder(app, desk.counter1_id) == (desk.clerk_id, False)
    at_one.post(url(desk, "call-next"))
    assert ticket(app, first)["status"] == TicketStatus.called

    left = at_one.post(url(desk, "leave"))
    assert left.status_code == 302 and left.location.endswith("/staff/queue/")
    assert holder(app, desk.counter1_id) is None
    # Without the counter, its actions send the clerk to the question.
    again = at_one.post(url(desk, "call-next"))
    assert again.status_code == 302 and again.location.endswith(url(desk, "take"))


def test_waiting_list_in_call_order_with_counts_and_longest_wait(app, desk, at_one):
    issue(app, desk, "a")
    issue(app, desk, "b")
    issue(app, desk, "a", priority="senior")
    fragment = at_one.get(url(desk, "waiting") + "?lang=en")
    assert fragment.status_code == 200
    body = fragment.get_data(as_text=True)
    order = re.findall(r'<tr class="govgr-table__row" data-ticket="(\w+)"', body)
    assert order == ["A002", "A001", "B001"]  # the priority class first, then arrival
    assert 'data-service="queue-a" data-count="2"' in body
    assert 'data-service="queue-b" data-count="1"' in body
    assert "<html" not in body  # a fragment, for the refresh

    # After 25 minutes of waiting the longest wait says so. The tickets are made older
    # rather than the clock later: 25 minutes on from 23:40 would be tomorrow, whose
    # list is empty.
    def age(minutes):
        for waiting in db.session.scalars(select(Ticket).where(
                Ticket.office_id == desk.office_id)):
            waiting.issued_dt -= timedelta(minutes=minutes)
    work(app, lambda: age(25))
    body = at_one.get(url(desk, "waiting") + "?lang=en").get_data(as_text=True)
    assert "longest 25 minutes" in body
    # Someone else's counter: the fragment is refused.
    other = signed_in(app, new_clerk(app, desk))
    assert other.get(url(desk, "waiting")).status_code == 409


def test_staff_menu_has_the_queue_and_the_audit_log_names_queue_actions(app, desk, at_one):
    issue(app, desk)
    at_one.post(url(desk, "call-next"))
    home = at_one.get("/staff/?lang=en").get_data(as_text=True)
    assert 'href="/staff/queue/"' in home

    def manager():
        return create_user(role=Role.manager, office=db.session.get(Office, desk.office_id)).id
    log = signed_in(app, work(app, manager)).get("/staff/audit?lang=en")
    assert log.status_code == 200
    text = log.get_data(as_text=True)
    assert "Ticket called" in text and "Counter taken" in text
    assert ">queue.call<" not in text  # a label, not the code


def test_two_clerks_taking_one_free_counter_at_once_one_wins(app, desk, database_url):
    """Through the served app (gunicorn, two workers): one clerk gets the console, the other
    the question naming the winner."""
    from tests.concurrency import race, served_app, summary

    def fn():
        office = db.session.get(Office, desk.office_id)
        return [create_user(f"racer{i}@example.gr", role=Role.clerk, office=office).email
                for i in range(4)]
    emails = work(app, fn)
    with served_app(database_url, workers=2, threads=4) as server:
        cookies = [server.sign_in(email, PASSWORD) for email in emails]
        results = race(len(emails), lambda i: server.post(
            url(desk, "take"), data={}, headers={"Cookie": cookies[i]}))
        log = server.log()
    outcome = summary(results)
    assert outcome == {302: 1, 409: len(emails) - 1}, (outcome, log[-3000:])
    winner = holder(app, desk.counter1_id)
    assert winner is not None
    with app.app_context():
        assert db.session.scalar(select(func.count(CounterSession.id))) == 1
        db.session.remove()
