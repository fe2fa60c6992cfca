"""The budget of citizens' tracking streams (``display/budget.py``): a waiting room of phones
never takes the threads that clerks, kiosks and screens need.

The budget alone; the stream's view under the test client (slots taken and given back);
and gunicorn with more tracking streams than the budget while a clerk and a kiosk work.
Both engines. Every read has a timeout and every stream a short life.
"""
from __future__ import annotations

import logging
import threading
import time

import pytest

from citizen_desk.display import budget as budget_module
from citizen_desk.display import live
from citizen_desk.display.budget import StreamBudget
from citizen_desk.extensions import db
from citizen_desk.queue import operations as ops
from citizen_desk.queue.models import Ticket
from citizen_desk.staff.models import StaffUser, TokenPurpose
from tests.concurrency import served_app
from tests.display.conftest import bearer
from tests.display import test_live
from tests.display.test_live import _clerk, issue
from tests.display.test_served import StreamReader
from tests.factories import create_token

#: The desk's operations in a unit of work (``test_live``'s fixture).
act = test_live.act

# -- the budget --------------------------------------------------------------------------------


def test_a_budget_gives_at_most_its_limit_and_takes_slots_back_once():
    budget = StreamBudget(2)
    first, second = budget.acquire(), budget.acquire()
    assert first is not None and second is not None
    assert budget.acquire() is None
    assert budget.open == 2
    first.release()
    first.release()  # given back twice: counted once
    assert budget.open == 1
    third = budget.acquire()
    assert third is not None and budget.acquire() is None
    second.release()
    third.release()
    assert budget.open == 0


def test_a_budget_of_zero_refuses_every_stream_and_a_lowered_limit_keeps_open_ones():
    assert StreamBudget(0).acquire() is None
    budget = StreamBudget(3)
    slots = [budget.acquire() for _ in range(3)]
    budget.limit = 1
    assert budget.acquire() is None
    for slot in slots[:2]:
        slot.release()
    assert budget.open == 1 and budget.acquire() is None
    slots[2].release()
    assert budget.acquire() is not None


class SlowCount(StreamBudget):
    """A budget whose count takes a moment to read: any thread may run in between, so a
    check-then-take that is not one atomic step lets more streams in than the limit."""

    @property
    def _open(self):
        time.sleep(0.001)
        return self.__dict__["_count"]

    @_open.setter
    def _open(self, value):
        self.__dict__["_count"] = value


def test_racing_threads_get_exactly_the_limit():
    budget, racers, limit = SlowCount(7), 48, 7
    barrier = threading.Barrier(racers)
    got: list = [None] * racers

    def race(i):
        barrier.wait(5)
        got[i] = budget.acquire()

    threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    slots = [slot for slot in got if slot is not None]
    assert len(slots) == limit and budget.open == limit
    # Given back at once from many threads (each twice): all of them, no more.
    barrier = threading.Barrier(len(slots) * 2)

    def give_back(slot):
        barrier.wait(5)
        slot.release()

    threads = [threading.Thread(target=give_back, args=(slot,)) for slot in slots * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert budget.open == 0


def test_a_full_budget_warns_once_a_minute_not_on_every_refusal(caplog):
    budget = StreamBudget(0, "tracking streams")
    with caplog.at_level(logging.WARNING, logger=budget_module.__name__):
        for _ in range(5):
            budget.acquire()
    assert [r.getMessage() for r in caplog.records] == [
        "tracking streams: all 0 taken; refusing more (they poll instead)"]


# -- the stream's view -------------------------------------------------------------------------

def budget_of(app) -> StreamBudget:
    with app.app_context():
        return budget_module.tracking_streams()


def open_stream(client, url):
    """A stream opened and not read: it holds its slot until it is closed."""
    return client.get(url, buffered=False)


def test_past_the_budget_a_tracking_stream_is_503_at_once_and_others_are_not_counted(
        app, client, screens, act):
    budget = budget_of(app)
    budget.limit = 1
    [(mine, _), (other, _)] = issue(act, 2)
    held = open_stream(client, f"/t/{mine}/events")
    try:
        assert held.status_code == 200 and budget.open == 1
        started = time.monotonic()
        refused = client.get(f"/t/{other}/events")
        assert refused.status_code == 503
        assert time.monotonic() - started < 1
        assert refused.headers["Retry-After"] == "60"
        assert refused.headers["Cache-Control"] == "no-store"
        assert refused.data == b""
        assert budget.open == 1
        # Screens and clerks' consoles are few: they stream whatever the citizens hold.
        display = open_stream(client, f"/offices/{screens.office_code}/display/events?"
                                      f"token={screens.display}")
        console = open_stream(_clerk(app, screens),
                              f"/staff/queue/counters/{screens.desk.counter1_id}/events")
        assert (display.status_code, console.status_code) == (200, 200)
        display.close()
        console.close()
        assert budget.open == 1
    finally:
        held.close()
    # Closed by the client before its end: the slot is back, the next page streams.
    assert budget.open == 0
    again = open_stream(client, f"/t/{other}/events")
    assert again.status_code == 200
    again.close()
    assert budget.open == 0


def test_a_stream_read_to_its_end_gives_its_slot_back(app, client, screens, act):
    budget = budget_of(app)
    budget.limit = 1
    [(mine, _)] = issue(act)
    response = open_stream(client, f"/t/{mine}/events")
    assert budget.open == 1
    assert b"".join(response.response).startswith(b"retry: 3000")  # 1.5 s, then its end
    response.close()
    assert budget.open == 0


def test_a_finished_ticket_is_204_even_when_the_budget_is_spent(app, client, screens, act):
    [(mine, _)] = issue(act)
    act(lambda *desk: ops.cancel(
        db.session.scalar(db.select(Ticket).where(Ticket.public_id == mine))))
    budget_of(app).limit = 0
    assert client.get(f"/t/{mine}/events").status_code == 204


def test_a_stream_that_fails_to_start_gives_its_slot_back(app, client, screens, act,
                                                          monkeypatch):
    budget = budget_of(app)
    [(mine, _)] = issue(act)

    def broken(*args, **kwargs):
        raise RuntimeError("the event log is unreachable")
    monkeypatch.setattr(live, "_respond", broken)
    with pytest.raises(RuntimeError):
        client.get(f"/t/{mine}/events")
    assert budget.open == 0


# -- served by gunicorn ------------------------------------------------------------------------

SERVED = {"DISPLAY_STREAM_SECONDS": 30, "DISPLAY_HEARTBEAT_SECONDS": 0.2,
          "EVENTS_POLL_INTERVAL": 0.05}


def _fast(started: float, limit: float = 2.0) -> float:
    took = time.monotonic() - started
    assert took < limit, f"took {took:.2f} s"
    return took


def test_served_tracking_streams_past_the_budget_are_refused_and_clerks_and_kiosks_are_served(
        app, database_url, screens, act):
    """One worker of 6 threads: its budget is 3 (gunicorn.conf.py: half the threads). Six
    phones ask to stream: three do, three are refused at once; a screen still streams, and a
    clerk's call-next and a kiosk's ticket are answered at once; phones that leave free
    their slots for others."""
    with app.app_context():
        secret = create_token(TokenPurpose.integration,
                              user=db.session.get(StaffUser, screens.desk.clerk_id))[1]
        db.session.commit()
        db.session.remove()
    phones = [public_id for public_id, _ in issue(act, 6)]
    open_readers: list[StreamReader] = []
    with served_app(database_url, workers=1, threads=6, request_timeout=10, **SERVED) as server:
        try:
            statuses = []
            for public_id in phones:
                started = time.monotonic()
                reader = StreamReader(server.url, f"/t/{public_id}/events", {}, timeout=5)
                statuses.append(reader.status)
                if reader.status == 200:
                    assert reader.next_message()["event"] == "retry"
                    open_readers.append(reader)
                else:
                    assert reader.response.getheader("Retry-After") == "60"
                    _fast(started)
                    reader.close()
            assert statuses == [200, 200, 200, 503, 503, 503], server.log()

            display = StreamReader(server.url, f"/offices/{screens.office_code}/display/events",
                                   bearer(screens.display), timeout=5)
            open_readers.append(display)
            assert display.status == 200

            started = time.monotonic()
            called = server.post(f"/api/v1/counters/{screens.desk.counter1_id}/call-next",
                                 headers=bearer(secret))
            assert called.status == 200, (called, server.log())
            _fast(started)
            started = time.monotonic()
            ticket = server.post(f"/api/v1/offices/{screens.office_code}/tickets",
                                 json={"service": "queue-a"},
                                 headers={**bearer(screens.kiosk), "Idempotency-Key": "tap-1"})
            assert ticket.status == 201, (ticket, server.log())
            _fast(started)
            # The phones that stream heard of it.
            message = open_readers[0].next_message()
            while message is not None and message["event"] != "changed":
                message = open_readers[0].next_message()
            assert message is not None

            # Two phones leave: their slots come back within a few heartbeats.
            for reader in open_readers[:2]:
                reader.close()
            deadline, streaming = time.monotonic() + 10, []
            for public_id in phones[3:5]:
                while time.monotonic() < deadline:
                    reader = StreamReader(server.url, f"/t/{public_id}/events", {}, timeout=5)
                    if reader.status == 200:
                        streaming.append(reader)
                        open_readers.append(reader)
                        break
                    reader.close()
                    time.sleep(0.1)
            assert len(streaming) == 2, server.log()
            # And the budget is full again.
            refused = StreamReader(server.url, f"/t/{phones[5]}/events", {}, timeout=5)
            assert refused.status == 503
            refused.close()
        finally:
            for reader in open_readers:
                reader.close()
        assert "Traceback" not in server.log()
