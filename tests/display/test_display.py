"""The display's state JSON, its event stream and its page, through the test client.

Both engines. Streams are short-lived here (``conftest.py``): each test reads
one to its end, so the exact list of what a connection sent is checked.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import select

from citizen_desk.catalog.models import Counter, Service
from citizen_desk.core import events, uow
from citizen_desk.core.events import Event
from citizen_desk.display import stream
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import operations as ops
from citizen_desk.queue.models import TicketKind
from citizen_desk.staff.models import StaffUser
from tests.display.conftest import bearer, read_stream, ticket_events


def _do(app, work):
    """Run ``work(office, a, b, counter1, counter2, clerk)`` as one committed unit."""
    with app.app_context():
        def unit():
            desk = app.config["_desk"]
            return work(db.session.get(Office, desk.office_id),
                        db.session.get(Service, desk.a_id), db.session.get(Service, desk.b_id),
                        db.session.get(Counter, desk.counter1_id),
                        db.session.get(Counter, desk.counter2_id),
                        db.session.get(StaffUser, desk.clerk_id))
        result = uow.run(unit)
        db.session.remove()
        return result


@pytest.fixture
def act(app, screens):
    app.config["_desk"] = screens.desk
    return lambda work: _do(app, work)


def issue_and_call(act, n: int, service: str = "a") -> list[str]:
    """Issue ``n`` tickets and call each to counter 1; their numbers."""
    def work(office, a, b, one, two, clerk):
        numbers = []
        for _ in range(n):
            ticket, _ = ops.issue(office, a if service == "a" else b, kind=TicketKind.staff)
            ops.call(ticket, one, clerk)
            numbers.append(ticket.number)
        return numbers
    return act(work)


def office_events(app, office_id: int, after: int = 0) -> list[tuple[int, str]]:
    with app.app_context():
        rows = db.session.execute(select(Event.id, Event.kind).where(
            Event.office_id == office_id, Event.id > after).order_by(Event.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


# -- the state JSON ---------------------------------------------------------------------------

def test_state_lists_the_latest_calls_waiting_counts_and_the_last_event_id(app, client, screens,
                                                                          act):
    issue_and_call(act, 7)
    act(lambda office, a, b, one, two, clerk: [
        ops.issue(office, a, kind=TicketKind.staff), ops.issue(office, b, kind=TicketKind.staff),
        ops.issue(office, b, kind=TicketKind.staff)])

    def recall_a003(office, a, b, one, two, clerk):
        from citizen_desk.queue.models import Ticket
        ticket = db.session.scalar(select(Ticket).where(Ticket.number == "A003"))
        ops.recall(ticket, clerk)
    act(recall_a003)

    response = client.get(f"/api/v1/offices/{screens.office_code}/display",
                          headers=bearer(screens.display))
    assert response.status_code == 200, response.json
    state = response.json
    assert response.headers["Cache-Control"] == "no-store"
    assert state["office"]["code"] == screens.office_code
    assert set(state["office"]["name"]) == {"el", "en"}
    with app.app_context():  # the office's time, with its offset
        zone = db.session.scalar(select(Office).where(Office.code == screens.office_code)).zone
    now = datetime.fromisoformat(state["now"])
    assert now.utcoffset() == now.astimezone(zone).utcoffset()
    # Newest first, one line per ticket: the recalled A003, then A007 … A004 (six lines).
    assert [c["number"] for c in state["calls"]] == ["A003", "A007", "A006", "A005", "A004",
                                                     "A002"]
    assert state["calls"][0]["type"] == "recalled" and state["calls"][0]["recalls"] == 1
    assert state["calls"][1] == {**state["calls"][1], "type": "called", "counter": "1",
                                 "service": "queue-a", "recalls": 0}
    assert state["counters"]["1"]["label"] == {"el": "Θυρίδα 1", "en": "Counter 1"}
    waiting = {row["code"]: row["waiting"] for row in state["services"]}
    assert waiting == {"queue-a": 1, "queue-b": 2}  # C is by appointment only
    assert all(isinstance(row["wait_minutes"], int) for row in state["services"])
    assert state["last_event_id"] == office_events(app, screens.desk.office_id)[-1][0]
    # Personal data never: only these keys on a call.
    assert set(state["calls"][0]) == {"event_id", "type", "number", "counter", "service",
                                      "at", "recalls"}


def test_state_narrowed_to_services_and_counters(client, screens, act):
    issue_and_call(act, 2)
    issue_and_call(act, 1, service="b")
    url = f"/api/v1/offices/{screens.office_code}/display"
    state = client.get(url + "?services=queue-b", headers=bearer(screens.display)).json
    assert [c["number"] for c in state["calls"]] == ["B001"]
    assert [row["code"] for row in state["services"]] == ["queue-b"]
    state = client.get(url + "?counters=2,<x>", headers=bearer(screens.display)).json
    assert state["calls"] == []


def test_state_refuses_other_offices_and_strangers(client, screens):
    url = f"/api/v1/offices/{screens.office_code}/display"
    assert client.get(url, headers=bearer(screens.other_display)).status_code == 403
    assert client.get(url, headers=bearer(screens.kiosk)).status_code == 403
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer("cd_not-a-token")).status_code == 401
    # Unknown, malformed: 404 for whoever may see any office (an administrator's token).
    for code in ("NOPE", "x" * 40, "%3Cscript%3E"):
        response = client.get(f"/api/v1/offices/{code}/display",
                              headers=bearer(screens.admin_token))
        assert response.status_code == 404, code
    assert client.get("/api/v1/offices/NOPE/display",
                      headers=bearer(screens.display)).status_code == 403


def test_a_public_display_is_open_to_anyone_but_another_offices_screen(app, client, screens):
    url = f"/api/v1/offices/{screens.office_code}/display"
    with app.app_context():
        office = db.session.get(Office, screens.desk.office_id)
        office.public_display = True
        db.session.commit()
    assert client.get(url).status_code == 200
    assert client.get(f"/offices/{screens.office_code}/display").status_code == 200
    assert client.get(f"/offices/{screens.office_code}/display/events").status_code == 200
    # A screen set up for another office says so rather than showing this queue.
    assert client.get(url, headers=bearer(screens.other_display)).status_code == 403


# -- the stream -------------------------------------------------------------------------------

def test_stream_starts_with_the_state_and_beats(client, screens, act):
    issue_and_call(act, 2)
    response, messages = read_stream(client, f"/offices/{screens.office_code}/display/events",
                                     bearer(screens.display))
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    assert messages[0]["event"] == "retry"
    assert messages[1]["event"] == "state"
    assert [c["number"] for c in messages[1]["data"]["calls"]] == ["A002", "A001"]
    # No Last-Event-ID: nothing old is replayed, then only heartbeats until the end.
    assert ticket_events(messages) == []
    assert sum(1 for m in messages if m["comment"] == "ping") >= 3


def test_last_event_id_resumes_with_exactly_the_events_after_it(app, client, screens, act):
    issue_and_call(act, 3)
    before = office_events(app, screens.desk.office_id)
    resume_after = before[2][0]  # after the first ticket's issue and call and the second's issue
    expected = [(i, k) for i, k in before if i > resume_after and k.startswith("ticket.")]
    url = f"/offices/{screens.office_code}/display/events"
    for how in ("header", "query"):
        if how == "header":
            # The header wins over a stale query parameter (EventSource keeps its URL).
            response, messages = read_stream(client, url + "?last_event_id=1", {
                **bearer(screens.display), "Last-Event-ID": str(resume_after)})
        else:
            response, messages = read_stream(client, url + f"?last_event_id={resume_after}",
                                             bearer(screens.display))
        got = ticket_events(messages)
        assert [(m["id"], "ticket." + m["data"]["type"]) for m in got] == expected, how
        assert got[0]["data"] == {"type": "called", "number": "A002", "counter": "1",
                                  "service": "queue-a", "at": got[0]["data"]["at"]}
        # Counts changed with those events: the screen gets the waiting rows once more.
        assert any(m["event"] == "waiting" for m in messages)


def test_events_committed_while_connected_arrive_once_in_order(app, client, screens, act):
    issue_and_call(act, 1)
    start = office_events(app, screens.desk.office_id)[-1][0]

    def later():
        time.sleep(0.3)
        issue_and_call(act, 2)
    thread = threading.Thread(target=later)
    thread.start()
    try:
        _, messages = read_stream(client, f"/offices/{screens.office_code}/display/events",
                                  bearer(screens.display))
    finally:
        thread.join(10)
    got = [(m["id"], m["data"]["type"], m["data"]["number"]) for m in ticket_events(messages)]
    table = [(i, k) for i, k in office_events(app, screens.desk.office_id, start)]
    assert [(i, "ticket." + t) for i, t, _ in got] == table
    assert [(t, n) for _, t, n in got] == [("issued", "A002"), ("called", "A002"),
                                           ("issued", "A003"), ("called", "A003")]


@pytest.mark.parametrize("bad", ["abc", "-1", "1e3", " ", "9" * 30, "0x10", "١٢"])
def test_a_malformed_last_event_id_starts_from_the_current_state(client, screens, act, bad):
    issue_and_call(act, 2)
    response, messages = read_stream(client, f"/offices/{screens.office_code}/display/events",
                                     {**bearer(screens.display), "Last-Event-ID": bad})
    assert response.status_code == 200
    assert ticket_events(messages) == []
    assert [c["number"] for c in messages[1]["data"]["calls"]] == ["A002", "A001"]


def test_an_id_beyond_the_newest_or_too_far_behind_starts_from_the_state(app, client, screens,
                                                                         act, monkeypatch):
    issue_and_call(act, 3)
    newest = office_events(app, screens.desk.office_id)[-1][0]
    url = f"/offices/{screens.office_code}/display/events"
    _, messages = read_stream(client, url, {**bearer(screens.display),
                                            "Last-Event-ID": str(newest + 1000)})
    assert ticket_events(messages) == []
    monkeypatch.setattr(stream, "REPLAY_LIMIT", 2)
    _, messages = read_stream(client, url, {**bearer(screens.display), "Last-Event-ID": "0"})
    assert ticket_events(messages) == []
    _, messages = read_stream(client, url, {**bearer(screens.display),
                                            "Last-Event-ID": str(newest - 2)})
    assert [m["id"] for m in ticket_events(messages)] == [newest - 1, newest]


def test_stream_auth_by_query_token_cookie_or_bearer(app, client, screens):
    url = f"/offices/{screens.office_code}/display/events"
    assert client.get(url + f"?token={screens.display}", buffered=False).status_code == 200
    for secret in (screens.other_display, screens.kiosk, "cd_forged"):
        assert client.get(url + f"?token={secret}").status_code == 403
    assert client.get(url, headers=bearer(screens.other_display)).status_code == 403
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/staff/login" in anonymous.location
    # Unknown office: 404 for an administrator, refused for a display of another office.
    assert client.get("/offices/NOPE/display/events",
                      headers=bearer(screens.display)).status_code == 403


def test_page_pairs_the_screen_by_token_then_streams_by_cookie(app, screens, act):
    issue_and_call(act, 1)
    client = app.test_client()
    paired = client.get(f"/offices/{screens.office_code}/display?token={screens.display}")
    assert paired.status_code == 303
    assert "token" not in paired.location
    page = client.get(f"/offices/{screens.office_code}/display?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-number="A001"' in html and "Counter 1" in html
    assert "<script>" not in html  # CSP: no inline script
    assert client.get(f"/offices/{screens.office_code}/display/events",
                      buffered=False).status_code == 200
    # Another office's page with this cookie: refused.
    assert client.get(f"/offices/{screens.other_code}/display").status_code == 403


def test_page_settings_come_from_the_address_and_typos_are_left_out(app, screens):
    import json
    import re
    client = app.test_client()
    client.get(f"/offices/{screens.office_code}/display?token={screens.display}")
    html = client.get(f"/offices/{screens.office_code}/display?languages=en,xx,el&speech=0"
                      "&volume=250&services=queue-a,<b>&counters=1").get_data(as_text=True)
    raw = re.search(r'data-config="([^"]*)"', html).group(1)
    import html as html_module
    config = json.loads(html_module.unescape(raw))
    assert config["languages"] == ["en", "el"]
    assert config["speech"] is False and config["chime"] is True and config["volume"] == 100
    assert config["services"] == ["queue-a"] and config["counters"] == ["1"]
    assert config["headings"]["speech"]["en"] == "Number {number}, counter {counter}"
    assert config["stream"] == f"/offices/{screens.office_code}/display/events"


def test_a_waiting_stream_holds_no_pooled_connection(app, client, screens, act):
    issue_and_call(act, 1)
    with app.app_context():
        pool = db.engine.pool
    response = client.get(f"/offices/{screens.office_code}/display/events",
                          headers=bearer(screens.display), buffered=False)
    chunks = iter(response.response)
    next(chunks)  # retry
    next(chunks)  # state
    checked_out = pool.checkedout()
    next(chunks)  # a heartbeat after a wait
    assert checked_out == 0 and pool.checkedout() == 0
    response.close()


def test_stream_yields_message_by_message(app, client, screens, act):
    """Each message is its own chunk, pulled by the server: nothing is gathered in a list,
    so a client that reads nothing makes the server read (and hold) nothing more."""
    issue_and_call(act, 3)
    response = client.get(f"/offices/{screens.office_code}/display/events",
                          headers={**bearer(screens.display), "Last-Event-ID": "0"},
                          buffered=False)
    chunks = iter(response.response)
    first = [next(chunks) for _ in range(3)]
    assert first[0].startswith(b"retry:") and first[1].startswith(b"event: state")
    assert first[2].startswith(b"id: ") and first[2].count(b"\n\n") == 1
    response.close()  # the generator is closed: the stream ends at once
    started = time.monotonic()
    assert time.monotonic() - started < 1


def test_events_module_reads_what_the_stream_sends(app, screens, act):
    issue_and_call(act, 1)
    with app.app_context():
        found = events.since(screens.desk.office_id, 0)
        assert [e.kind for e in found] == ["ticket.issued", "ticket.called"]


# -- one read per process for all the streams of an office ------------------------------------

def test_twenty_waiting_streams_share_one_read_of_each_new_event(app, screens, act):
    issue_and_call(act, 1)
    feed = app.extensions["citizen_desk.display.feed"]
    start = office_events(app, screens.desk.office_id)[-1][0]
    results = [None] * 20
    ready = threading.Barrier(21, timeout=10)

    def waiter(i):
        with app.app_context():
            ready.wait()
            results[i] = [e.id for e in feed.wait(screens.desk.office_id, start, 5)]
    threads = [threading.Thread(target=waiter, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    ready.wait()
    time.sleep(0.3)
    before = feed.queries
    issue_and_call(act, 1)  # one unit: two events
    for thread in threads:
        thread.join(10)
    expected = [i for i, _ in office_events(app, screens.desk.office_id, start)]
    assert len(expected) == 2
    assert all(result == expected for result in results), results
    # Each waiter querying for itself would be 20 reads (and 20 pooled connections at once).
    assert feed.queries - before <= 3


def test_shared_rows_cut_at_the_limit_are_read_on(app, screens, act):
    from citizen_desk.display.feed import Feed
    issue_and_call(act, 3)
    ids = [i for i, _ in office_events(app, screens.desk.office_id)]
    feed = Feed()
    with app.app_context():
        first = feed.read(screens.desk.office_id, 0, heard=ids[-1], generation=1, limit=2)
        second = feed.read(screens.desk.office_id, first[-1].id, heard=ids[-1], generation=1,
                           limit=2)
        rest = feed.read(screens.desk.office_id, second[-1].id, heard=ids[-1], generation=1)
    assert [e.id for e in first + second + rest] == ids


def test_cli_makes_a_display_public_and_private_again(app, screens, client):
    from citizen_desk.core.audit import AuditEntry
    runner = app.test_cli_runner()
    url = f"/api/v1/offices/{screens.office_code}/display"
    assert client.get(url).status_code == 401
    result = runner.invoke(args=["display", "public", screens.office_code])
    assert result.exit_code == 0 and "public" in result.output
    assert client.get(url).status_code == 200
    assert "unchanged" in runner.invoke(args=["display", "public", screens.office_code]).output
    assert runner.invoke(args=["display", "public", screens.office_code, "--off"]).exit_code == 0
    assert client.get(url).status_code == 401
    assert runner.invoke(args=["display", "public", "NOPE"]).exit_code != 0
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("display.%")).order_by(AuditEntry.id)).all()
    assert actions == ["display.public", "display.private"]
