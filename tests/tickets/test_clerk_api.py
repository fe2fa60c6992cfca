"""The clerk API: call-next (taking a free counter), calling a chosen ticket, pause, resume,
release, and the ticket's recall, no-show, serve, transfer, finish and cancel; every bad
input refused with nothing changed; two clerks never get the same ticket."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from citizen_desk.catalog import operations as catalog_ops
from citizen_desk.catalog.models import Service
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue.models import CounterSession, Ticket, TicketKind, TicketStatus
from citizen_desk.staff.models import Role, StaffUser, TokenPurpose
from tests.factories import create_office, create_token, create_user
from tests.tickets.test_console import holder, issue, ticket, work


def token_of(app, user_id) -> dict:
    def fn():
        return create_token(TokenPurpose.integration, user=db.session.get(StaffUser, user_id))[1]
    return {"Authorization": f"Bearer {work(app, fn)}"}


@pytest.fixture
def api(app, desk):
    """The desk clerk's client: ``api.post(path, json=…)`` with their token."""
    headers = token_of(app, desk.clerk_id)

    class Api:
        client = app.test_client()

        def post(self, path, **kw):
            return self.client.post("/api/v1" + path, headers={**headers, **kw.pop(
                "headers", {})}, **kw)
    return Api()


def counter_path(desk, action, counter=1):
    return f"/counters/{desk.counter1_id if counter == 1 else desk.counter2_id}/{action}"


def other_clerk(app, desk) -> int:
    def fn():
        return create_user(role=Role.clerk, office=db.session.get(Office, desk.office_id)).id
    return work(app, fn)


# -- a counter ---------------------------------------------------------------------------------

def test_call_next_takes_the_free_counter_and_answers_the_ticket_or_204(app, desk, api):
    first = issue(app, desk)
    answer = api.post(counter_path(desk, "call-next"))
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.json
    assert body["id"] == first and body["number"] == "A001" and body["status"] == "called"
    assert body["counter"]["id"] == desk.counter1_id
    assert holder(app, desk.counter1_id) == (desk.clerk_id, False)
    empty = api.post(counter_path(desk, "call-next"))
    assert empty.status_code == 204 and empty.data == b""


def test_call_next_409_while_another_clerk_holds_it_or_it_is_paused(app, desk, api):
    first = issue(app, desk)
    someone = token_of(app, other_clerk(app, desk))
    assert app.test_client().post("/api/v1" + counter_path(desk, "call-next"),
                                  headers=someone).status_code == 200
    second = issue(app, desk)
    refused = api.post(counter_path(desk, "call-next"))
    assert refused.status_code == 409 and refused.json["error"]["status"] == 409
    assert ticket(app, second)["status"] == TicketStatus.waiting
    # The clerk's own counter, paused: 409 too, until resumed.
    assert api.post(counter_path(desk, "pause", 2)).status_code == 409  # not theirs yet
    issue(app, desk, "b")
    api.post(counter_path(desk, "call-next", 2))
    paused = api.post(counter_path(desk, "pause", 2))
    assert paused.status_code == 200 and paused.json["paused"] is True
    assert api.post(counter_path(desk, "call-next", 2)).status_code == 409
    resumed = api.post(counter_path(desk, "resume", 2))
    assert resumed.json == {"counter": {"id": desk.counter2_id, "code": "2",
                                        "label": "Θυρίδα 2"}, "paused": False}
    assert ticket(app, first)["status"] == TicketStatus.called


def test_release_leaves_the_counter_and_is_idempotent(app, desk, api):
    api.post(counter_path(desk, "call-next"))
    assert holder(app, desk.counter1_id) == (desk.clerk_id, False)
    assert api.post(counter_path(desk, "release")).status_code == 204
    assert holder(app, desk.counter1_id) is None
    assert api.post(counter_path(desk, "release")).status_code == 204


def test_call_a_chosen_ticket_and_its_bad_input(app, desk, api):
    issue(app, desk)
    second = issue(app, desk)
    b_ticket = issue(app, desk, "b")
    answer = api.post(counter_path(desk, "call"), json={"ticket": second})
    assert answer.status_code == 200 and answer.json["number"] == "A002"
    assert api.post(counter_path(desk, "call"), json={"ticket": second}).status_code == 409

    def elsewhere():
        office = create_office(holiday_country=None)
        service = db.session.get(Service, desk.a_id)
        service.offices.append(office)
        db.session.flush()
        from citizen_desk.queue import operations as ops
        return ops.issue(office, service, kind=TicketKind.staff)[0].public_id
    foreign = work(app, elsewhere)
    for body in ({"ticket": "no-such-ticket"}, {"ticket": foreign}, {"ticket": ""},
                 {"ticket": "x" * 65}, {}, {"ticket": 5}, {"ticket": second, "extra": 1}, []):
        refused = api.post(counter_path(desk, "call"), json=body)
        assert refused.status_code == 422, body
        assert refused.json["errors"], body
    assert ticket(app, foreign)["status"] == TicketStatus.waiting
    malformed = api.post(counter_path(desk, "call"), data="{ticket: ",
                         headers={"Content-Type": "application/json"})
    assert malformed.status_code == 422 and "" in malformed.json["errors"]
    # Counter 2 does not serve A: 422, the ticket still waits.
    third = issue(app, desk)
    api.post(counter_path(desk, "release"))
    refused = api.post(counter_path(desk, "call", 2), json={"ticket": third})
    assert refused.status_code == 422 and "counter" in refused.json["errors"]
    assert ticket(app, third)["status"] == TicketStatus.waiting
    assert api.post(counter_path(desk, "call", 2), json={"ticket": b_ticket}).status_code == 200


# -- a ticket ----------------------------------------------------------------------------------

def test_recall_serve_finish_and_a_finished_ticket_is_409(app, desk, api):
    first = issue(app, desk)
    api.post(counter_path(desk, "call-next"))
    recalled = api.post(f"/tickets/{first}/recall")
    assert recalled.status_code == 200 and recalled.json["recalls"] == 1
    assert api.post(f"/tickets/{first}/serve").json["status"] == "serving"
    refused = api.post(f"/tickets/{first}/finish", json={"outcome": "free text about them"})
    assert refused.status_code == 422 and "outcome" in refused.json["errors"]
    assert ticket(app, first)["status"] == TicketStatus.serving
    done = api.post(f"/tickets/{first}/finish", json={"outcome": "served"})
    assert done.status_code == 200 and done.json["status"] == "done"
    assert ticket(app, first)["outcome"] == "served"
    for action in ("finish", "recall", "serve", "no-show", "cancel", "transfer"):
        again = api.post(f"/tickets/{first}/{action}",
                         json={"service": "queue-b"} if action == "transfer" else None)
        assert again.status_code == 409, action
    assert ticket(app, first)["status"] == TicketStatus.done


def test_no_show_cancel_and_finish_without_a_body(app, desk, api):
    first, second, third = issue(app, desk), issue(app, desk), issue(app, desk)
    api.post(counter_path(desk, "call-next"))
    assert api.post(f"/tickets/{first}/no-show").json["status"] == "no_show"
    assert api.post(f"/tickets/{second}/cancel").json["status"] == "cancelled"
    assert api.post(f"/tickets/{third}/no-show").status_code == 409  # never called
    api.post(counter_path(desk, "call-next"))
    assert api.post(f"/tickets/{third}/finish").json["status"] == "done"
    assert ticket(app, third)["outcome"] is None


def test_transfer_and_its_bad_input(app, desk, api):
    first = issue(app, desk)
    before = ticket(app, first)
    api.post(counter_path(desk, "call-next"))

    def foreign_counter():
        office = create_office(holiday_country=None)
        return catalog_ops.add_counter(office, "9", {"el": "Ξένη"}).id
    foreign = work(app, foreign_counter)
    bad = [
        ({"service": "queue-a"}, "service"),  # to itself
        ({}, "service"),  # nowhere
        ({"service": "no-such-service"}, "service"),
        ({"service": "not a code!"}, "service"),
        ({"counter": desk.counter2_id}, "counter"),  # counter 2 does not serve A
        ({"counter": foreign}, "counter"),  # another office's counter
        ({"counter": 999999}, "counter"),
        ({"counter": "2"}, "counter"),
        ({"counter": 1.5}, "counter"),
        ({"service": "queue-b", "counter": desk.counter1_id, "x": 1}, "x"),
    ]
    for body, field in bad:
        refused = api.post(f"/tickets/{first}/transfer", json=body)
        assert refused.status_code == 422, body
        assert field in refused.json["errors"], (body, refused.json)
        assert ticket(app, first)["status"] == TicketStatus.called, body
    malformed = api.post(f"/tickets/{first}/transfer", data="[1,",
                         headers={"Content-Type": "application/json"})
    assert malformed.status_code == 422

    moved = api.post(f"/tickets/{first}/transfer", json={"service": "queue-b",
                                                         "counter": desk.counter2_id})
    assert moved.status_code == 200
    assert moved.json["status"] == "waiting" and moved.json["service"] == "queue-b"
    after = ticket(app, first)
    assert after["counter_id"] == desk.counter2_id and after["issued_dt"] == before["issued_dt"]
    # Waiting at counter 2 already: to counter 2 again is to itself.
    assert api.post(f"/tickets/{first}/transfer",
                    json={"counter": desk.counter2_id}).status_code == 422


# -- who may ----------------------------------------------------------------------------------

def test_another_offices_clerk_is_refused_and_unknown_ids(app, desk):
    first = issue(app, desk)

    def strangers():
        office = create_office(holiday_country=None)
        return (create_user(role=Role.clerk, office=office).id,
                create_user(role=Role.admin).id)
    stranger_id, admin_id = work(app, strangers)
    stranger, admin = token_of(app, stranger_id), token_of(app, admin_id)
    client = app.test_client()
    for path in (counter_path(desk, "call-next"), counter_path(desk, "pause"),
                 counter_path(desk, "release"), f"/tickets/{first}/cancel",
                 f"/tickets/{first}/recall"):
        assert client.post("/api/v1" + path, headers=stranger).status_code == 403, path
        assert client.post("/api/v1" + path).status_code in (401, 403), path
    assert ticket(app, first)["status"] == TicketStatus.waiting
    assert holder(app, desk.counter1_id) is None
    # Unknown ids: refused like another office's; an administrator is told 404.
    for path in ("/counters/999999/call-next", "/tickets/no-such-ticket/finish"):
        assert client.post("/api/v1" + path, headers=stranger).status_code == 403
        assert client.post("/api/v1" + path, headers=admin).status_code == 404
    # A kiosk token is no clerk.
    def kiosk():
        return create_token(TokenPurpose.kiosk, db.session.get(Office, desk.office_id))[1]
    device = {"Authorization": f"Bearer {work(app, kiosk)}"}
    assert client.post("/api/v1" + counter_path(desk, "call-next"),
                       headers=device).status_code == 403


# -- races -----------------------------------------------------------------------------------

def test_clerks_calling_at_once_never_get_the_same_ticket(app, desk, database_url):
    """Served by gunicorn: eight clerks at eight counters call next at once, twice, with
    twelve tickets waiting: twelve calls answer twelve distinct tickets, the rest 204."""
    from tests.concurrency import Response, race, served_app, summary
    clerks = 8

    def fn():
        office = db.session.get(Office, desk.office_id)
        a = db.session.get(Service, desk.a_id)
        ids = []
        for i in range(clerks):
            counter = catalog_ops.add_counter(office, f"r{i}", {"el": f"Θ{i}"}, [a])
            user = create_user(role=Role.clerk, office=office)
            secret = create_token(TokenPurpose.integration, user=user)[1]
            ids.append((counter.id, secret))
        return ids
    seats = work(app, fn)
    issued = {issue(app, desk) for _ in range(12)}
    results = []
    with served_app(database_url, workers=2, threads=4) as server:
        for _ in range(2):
            results += race(clerks, lambda i: server.post(
                f"/api/v1/counters/{seats[i][0]}/call-next", json=None,
                headers={"Authorization": f"Bearer {seats[i][1]}"}))
        log = server.log()
    assert summary(results) == {200: 12, 204: 4}, (summary(results), log[-3000:])
    called = [r.json()["id"] for r in results if isinstance(r, Response) and r.status == 200]
    assert sorted(called) == sorted(issued)
    with app.app_context():
        statuses = db.session.scalars(select(Ticket.status)).all()
        assert statuses == [TicketStatus.called] * 12
        assert len(db.session.scalars(select(CounterSession)).all()) == clerks
        db.session.remove()
