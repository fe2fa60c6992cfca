"""The tracking page's and the clerk console's nudge streams (``display/live.py``).

Both engines. Streams live 1.5 s here (``conftest.py``): each test reads one to its end
while a thread acts during it, so a failing test never hangs.
"""
from __future__ import annotations

import json
import threading
import time

import pytest

from citizen_desk.core import events, uow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import counters
from citizen_desk.queue import operations as ops
from citizen_desk.queue.models import Ticket, TicketKind
from citizen_desk.staff.models import Role, StaffUser
from tests.display.conftest import read_stream
from tests.display.test_display import _do
from tests.factories import create_user, sign_in_client


@pytest.fixture
def act(app, screens):
    app.config["_desk"] = screens.desk
    return lambda work: _do(app, work)


def issue(act, n: int = 1) -> list[tuple[str, str]]:
    """``n`` waiting tickets of service A: (public id, number)."""
    def work(office, a, b, one, two, clerk):
        made = [ops.issue(office, a, kind=TicketKind.staff)[0] for _ in range(n)]
        return [(t.public_id, t.number) for t in made]
    return act(work)


def call_next(act) -> str:
    def work(office, a, b, one, two, clerk):
        counters.ensure_held(one, clerk)
        return ops.call_next(one, clerk).number
    return act(work)


def other_office_event(app, screens, kind: str = "ticket.called"):
    """An event of another office (as its own queue would write it)."""
    with app.app_context():
        def work():
            other = db.session.scalar(db.select(Office).where(Office.code == screens.other_code))
            events.append(kind, office_id=other.id, subject="ticket:999999",
                          payload={"number": "Z999"})
        uow.run(work)
        db.session.remove()


def during(work, delay: float = 0.3):
    """Run ``work`` in a thread ``delay`` seconds from now; join it afterwards."""
    def later():
        time.sleep(delay)
        work()
    thread = threading.Thread(target=later)
    thread.start()
    return thread


def read_while(client, url, work, headers=None):
    thread = during(work)
    try:
        return read_stream(client, url, headers)
    finally:
        thread.join(10)


def nudges(messages) -> list[dict]:
    return [m for m in messages if m["event"] == "changed"]


def test_a_ticket_stream_is_nudged_by_a_call_at_its_office_and_says_nothing_else(
        app, client, screens, act):
    (mine, my_number), (_, ahead) = issue(act, 2)[::-1]
    response, messages = read_while(client, f"/t/{mine}/events", lambda: call_next(act))
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    got = nudges(messages)
    assert len(got) == 1
    assert got[0]["data"] == {"event_id": got[0]["id"]}
    # The called ticket was the one ahead: its number (nor anything of it) is never sent.
    raw = json.dumps(messages)
    assert ahead not in raw and my_number not in raw and "ticket:" not in raw
    assert any(m["comment"] == " ping" or m["comment"] == "ping" for m in messages)


def test_a_ticket_stream_hears_nothing_of_another_office(app, client, screens, act):
    [(mine, _)] = issue(act)
    _, messages = read_while(client, f"/t/{mine}/events",
                             lambda: other_office_event(app, screens))
    assert nudges(messages) == []
    assert "Z999" not in json.dumps(messages)


def at_counter_one(act, action, **kw):
    """A callable: ``counters.<action>(counter 1, the clerk, **kw)`` in a unit of its own."""
    return lambda: act(lambda office, a, b, one, two, clerk:
                       getattr(counters, action)(one, clerk, **kw))


def test_a_ticket_stream_ignores_a_counter_pausing_or_left(app, client, screens, act):
    [(mine, _)] = issue(act)
    at_counter_one(act, "take")()
    _, messages = read_while(client, f"/t/{mine}/events",
                             at_counter_one(act, "set_paused", paused=True))
    assert nudges(messages) == []
    _, messages = read_while(client, f"/t/{mine}/events", at_counter_one(act, "release"))
    assert nudges(messages) == []


def test_a_ticket_stream_is_nudged_when_a_counter_opens_or_resumes(app, client, screens, act):
    # Either can shorten the wait the page shows, and bring "your turn nears".
    [(mine, _)] = issue(act)
    _, messages = read_while(client, f"/t/{mine}/events", at_counter_one(act, "take"))
    assert len(nudges(messages)) == 1
    at_counter_one(act, "set_paused", paused=True)()
    _, messages = read_while(client, f"/t/{mine}/events",
                             at_counter_one(act, "set_paused", paused=False))
    assert len(nudges(messages)) == 1


@pytest.mark.parametrize("public_id", ["x" * 32, "nope", "a" * 70, "..%2f..", "A001"])
def test_an_unknown_ticket_is_404(client, screens, public_id):
    assert client.get(f"/t/{public_id}/events").status_code == 404


def test_a_finished_ticket_gets_204_so_the_browser_stops(app, client, screens, act):
    [(mine, _)] = issue(act)

    def work(office, a, b, one, two, clerk):
        ticket = db.session.scalar(db.select(Ticket).where(Ticket.public_id == mine))
        counters.ensure_held(one, clerk)
        ops.call(ticket, one, clerk)
        ops.finish(ticket, clerk=clerk)
    act(work)
    assert client.get(f"/t/{mine}/events").status_code == 204


def test_a_missed_event_nudges_at_once_on_resume(app, client, screens, act):
    [(mine, _)] = issue(act)
    with app.app_context():
        newest = db.session.scalar(db.select(db.func.max(events.Event.id)))
        db.session.remove()
    call_next(act)
    _, messages = read_stream(client, f"/t/{mine}/events", {"Last-Event-ID": str(newest)})
    got = nudges(messages)
    assert len(got) == 1 and got[0]["id"] > newest
    # Without it (or with a malformed one) the stream starts now: nothing old is nudged.
    _, messages = read_stream(client, f"/t/{mine}/events", {"Last-Event-ID": "x1"})
    assert nudges(messages) == []


def _clerk(app, screens, *, other: bool = False):
    client = app.test_client()
    with app.app_context():
        if other:
            office = db.session.scalar(db.select(Office).where(Office.code == screens.other_code))
            user = create_user(role=Role.clerk, office=office)
            db.session.commit()
        else:
            user = db.session.get(StaffUser, screens.desk.clerk_id)
        sign_in_client(client, user)
        db.session.remove()
    return client


def test_the_console_stream_is_nudged_by_tickets_and_counters_of_its_office(app, screens, act):
    client = _clerk(app, screens)
    url = f"/staff/queue/counters/{screens.desk.counter2_id}/events"
    issue(act)
    response, messages = read_while(client, url, lambda: call_next(act))
    assert response.status_code == 200
    assert len(nudges(messages)) == 1

    def pause():
        def work(office, a, b, one, two, clerk):
            counters.ensure_held(one, clerk)
            counters.set_paused(one, clerk, True)
        act(work)
    _, messages = read_while(client, url, pause)
    assert len(nudges(messages)) == 1
    _, messages = read_while(client, url, lambda: other_office_event(app, screens))
    assert nudges(messages) == []


def test_another_offices_clerk_and_strangers_are_refused_the_console_stream(app, screens):
    url = f"/staff/queue/counters/{screens.desk.counter1_id}/events"
    assert _clerk(app, screens, other=True).get(url).status_code == 403
    assert app.test_client().get(url).status_code in (302, 401)
    # An unknown counter is refused like another office's.
    assert _clerk(app, screens).get("/staff/queue/counters/999999/events").status_code == 403
