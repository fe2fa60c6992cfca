"""The event log: append in the change's transaction, read after an id, wait, never skip, across processes."""
from __future__ import annotations

import os
import queue
import random
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from citizen_desk.core import events, notifier, uow
from citizen_desk.core.events import Event
from citizen_desk.extensions import db
from citizen_desk.staff.models import TokenPurpose
from tests.factories import create_office, create_token, create_user

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _stop_notifier_threads():
    yield
    notifier.stop_all()


@pytest.fixture
def office_id(app_ctx):
    return uow.run(lambda: create_office().id)


def append_and_commit(app, office_id, kind="ticket.called", **kw) -> int:
    """Append one event in a unit of its own (in a fresh app context) and return its id."""
    with app.app_context():
        event_id = uow.run(lambda: events.append(kind, office_id=office_id, **kw).id)
        db.session.remove()
    return event_id


def in_thread(app, fn):
    """Run ``fn()`` in a thread with its own app context; returns (thread, result box)."""
    box = {}

    def target():
        with app.app_context():
            try:
                box["result"] = fn()
                box["at"] = time.monotonic()
            except BaseException as exc:  # pragma: no cover - reported by the test
                box["error"] = exc
            finally:
                db.session.remove()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


def test_an_appended_event_is_visible_after_commit_with_all_its_fields(app_ctx, office_id):
    user = create_user(role=None)
    token, _ = create_token(TokenPurpose.integration, user=user)
    uow.commit()
    user_id, token_id = user.id, token.id
    with app_ctx.test_request_context("/", method="POST"):
        from flask import g
        g.citizen_desk_actor = SimpleNamespace(user=user, token=token)
        event = events.append("ticket.called", office_id=office_id, subject="ticket:123",
                              payload={"number": "A001", "counter": "3"})
        assert event.id is not None  # flushed: the caller can name it at once
        assert events.since(office_id, 0) == []  # not before the commit
        uow.commit()
    [read] = events.since(office_id, 0)
    assert (read.id, read.kind, read.subject, read.office_id) == (
        event.id, "ticket.called", "ticket:123", office_id)
    assert read.payload == {"number": "A001", "counter": "3"}
    assert (read.actor_user_id, read.actor_token_id) == (user_id, token_id)
    assert read.dt.tzinfo is not None
    assert read.as_dict()["payload"] == {"number": "A001", "counter": "3"}


def test_events_are_read_per_office_in_id_order_after_an_id(app_ctx, office_id):
    other = uow.run(lambda: create_office().id)
    ids = [append_and_commit(app_ctx, office) for office in (office_id, other, office_id,
                                                              None, office_id)]
    assert [e.id for e in events.since(office_id, 0)] == [ids[0], ids[2], ids[4]]
    assert [e.id for e in events.since(office_id, ids[0])] == [ids[2], ids[4]]
    assert [e.id for e in events.since(office_id, 0, limit=2)] == [ids[0], ids[2]]
    assert [e.id for e in events.since(other, 0)] == [ids[1]]
    assert [e.id for e in events.since(None, 0)] == [ids[3]]
    assert ids == sorted(ids)


def test_an_event_of_a_rolled_back_transaction_is_never_delivered(app_ctx, office_id):
    waiter, box = in_thread(app_ctx, lambda: events.wait(office_id, 0, timeout=5))
    time.sleep(0.3)  # the waiter is asleep

    def append_then_fail():
        events.append("ticket.called", office_id=office_id, subject="ticket:lost")
        raise RuntimeError("the change failed")
    with pytest.raises(RuntimeError):
        uow.run(append_then_fail)
    time.sleep(0.6)  # longer than a poll: nothing must wake the waiter with it
    assert "result" not in box
    kept = append_and_commit(app_ctx, office_id, subject="ticket:kept")
    waiter.join(10)
    assert "error" not in box
    assert [(e.id, e.subject) for e in box["result"]] == [(kept, "ticket:kept")]
    assert [e.subject for e in events.since(office_id, 0)] == ["ticket:kept"]


def test_wait_returns_at_once_when_events_are_there_and_empty_after_the_timeout(
        app_ctx, office_id):
    first = append_and_commit(app_ctx, office_id)
    started = time.monotonic()
    assert [e.id for e in events.wait(office_id, 0, timeout=5)] == [first]
    assert time.monotonic() - started < 0.5
    started = time.monotonic()
    assert events.wait(office_id, first, timeout=0.4) == []
    assert 0.4 <= time.monotonic() - started < 1.5


@pytest.mark.parametrize("writer", ["same app", "another app in the process"])
def test_wait_returns_promptly_when_another_thread_commits(app_ctx, office_id, make_app,
                                                           writer):
    # The same app wakes its waiters right after its commit, without waiting for a poll;
    # "another app" has its own notifier: the wake-up comes from NOTIFY or the poll.
    if writer == "same app":
        app_ctx.config["EVENTS_POLL_INTERVAL"] = 30
    writer_app = app_ctx if writer == "same app" else make_app()
    committed = {}

    def commit_later():
        time.sleep(0.3)
        committed["at"] = time.monotonic()
        committed["id"] = append_and_commit(writer_app, office_id)
    thread = threading.Thread(target=commit_later, daemon=True)
    thread.start()
    found = events.wait(office_id, 0, timeout=5)
    received = time.monotonic()
    thread.join(10)
    assert [e.id for e in found] == [committed["id"]]
    assert received - committed["at"] < 1.0


def test_many_waiters_share_one_listener(app_ctx, office_id):
    waiters = [in_thread(app_ctx, lambda: events.wait(office_id, 0, timeout=10))
               for _ in range(20)]
    time.sleep(0.3)
    listeners = [t for t in threading.enumerate() if t.name == "citizen-desk-events"]
    assert len(listeners) == 1
    event_id = append_and_commit(app_ctx, office_id)
    for thread, box in waiters:
        thread.join(10)
        assert [e.id for e in box["result"]] == [event_id]


def test_readers_resuming_after_an_id_never_miss_an_event_of_racing_writers(app_ctx, make_app):
    """8 writers whose ids are drawn in one order and committed in another; readers see all."""
    offices = [uow.run(lambda: create_office().id) for _ in range(2)]
    writers_done = threading.Event()
    errors = []
    rng = random.Random(7)
    plans = [[(rng.choice(offices), rng.uniform(0, 0.015)) for _ in range(10)]
             for _ in range(8)]

    # Built here, not in the threads: CPython 3.11 before 3.11.9 may fail to compile werkzeug's
    # URL builders (ast.parse) in several threads at once ("AST constructor recursion depth").
    apps = [make_app() for _ in plans]

    def write(plan, app):
        try:
            with app.app_context():
                for office, pause in plan:
                    def work():
                        events.append("ticket.taken", office_id=office)
                        time.sleep(pause)  # the id is drawn; others may commit meanwhile
                    uow.run(work)
                db.session.remove()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def read(office, collected, use_wait):
        with app_ctx.app_context():
            last = 0
            while True:
                done = writers_done.is_set()
                found = (events.wait(office, last, timeout=0.05) if use_wait
                         else events.since(office, last))
                collected.extend(e.id for e in found)
                last = found[-1].id if found else last
                if done and not found:
                    return
                if not use_wait:
                    time.sleep(0.001)

    collected = {office: [] for office in offices}
    readers = [threading.Thread(target=read, args=(office, collected[office], use_wait))
               for office, use_wait in zip(offices, (False, True))]
    writers = [threading.Thread(target=write, args=(plan, app)) for plan, app in zip(plans, apps)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join(60)
    writers_done.set()
    for thread in readers:
        thread.join(30)
    assert not errors
    for office in offices:
        stored = db.session.scalars(select(Event.id).where(Event.office_id == office)
                                    .order_by(Event.id)).all()
        assert len(stored) == sum(1 for plan in plans for o, _ in plan if o == office)
        assert collected[office] == stored, f"a reader skipped {set(stored) - set(collected[office])}"


def test_the_listener_reconnects_when_its_connection_drops(app_ctx, office_id, make_app,
                                                           dialect):
    if dialect != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no listening connection to lose")
    watcher = events.notifier()
    assert events.start_listening(10)
    lost = watcher.backend_pid
    db.session.execute(select(func.pg_terminate_backend(lost)))
    db.session.rollback()
    waiter, box = in_thread(app_ctx, lambda: events.wait(office_id, 0, timeout=15))
    time.sleep(0.5)
    # Committed by another app: only the (new) LISTEN connection can tell this one.
    event_id = append_and_commit(make_app(), office_id)
    waiter.join(20)
    assert [e.id for e in box["result"]] == [event_id]
    assert watcher.backend_pid not in (None, lost)


SUBSCRIBER = textwrap.dedent("""
    import sys, time
    from citizen_desk import create_app
    from citizen_desk.core import events

    url, office_id, after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                      "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
                      "EVENTS_POLL_INTERVAL": 0.05})
    with app.app_context():
        print("ready", events.start_listening(20), flush=True)
        deadline = time.monotonic() + 60  # bounded, whatever the test does
        while time.monotonic() < deadline:
            # A long wait: each call starts with a query, so short ones would be a poll.
            for event in events.wait(office_id, after, timeout=deadline - time.monotonic()):
                print(event.id, repr(time.time()), flush=True)
                after = event.id
""")


def test_a_subscriber_in_another_process_receives_a_commit_within_250_ms(
        app_ctx, office_id, database_url, dialect, tmp_path):
    script = tmp_path / "subscriber.py"
    script.write_text(SUBSCRIBER)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    errors = (tmp_path / "subscriber.err").open("w")
    process = subprocess.Popen(
        [sys.executable, str(script), database_url, str(office_id), "0"],
        stdout=subprocess.PIPE, stderr=errors, text=True, env=env, cwd=PROJECT_ROOT)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout],
                     daemon=True).start()
    try:
        ready = None
        for _ in range(600):  # at most 60 s to import and start, less if it crashes
            try:
                ready = lines.get(timeout=0.1)
                break
            except queue.Empty:
                if process.poll() is not None:
                    break
        if ready is None:
            pytest.fail("the subscriber did not start: "
                        + (tmp_path / "subscriber.err").read_text())
        assert ready.split() == ["ready", "True"], ready
        latencies = []
        for _ in range(5):
            time.sleep(0.3)  # the subscriber is asleep in wait(), not about to query anyway
            started = time.time()  # before the commit: the commit's own time counts
            event_id = append_and_commit(app_ctx, office_id)
            received_id, received_at = lines.get(timeout=10).split()
            assert int(received_id) == event_id
            latencies.append(float(received_at) - started)
            if latencies[-1] < 0.1:
                break
        print(f"cross-process latency on {dialect}: "
              + ", ".join(f"{x * 1000:.0f} ms" for x in latencies))
        assert min(latencies) < 0.25, latencies
    finally:
        process.kill()
        process.wait(10)
        process.stdout.close()
        errors.close()
