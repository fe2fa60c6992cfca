"""Races through the queue's API on a real gunicorn server (4 threaded workers).

- Kiosks: four kiosk devices of one office each issue 50 tickets through
  ``POST /api/v1/offices/<office>/tickets``, all four at once: 200 answers
  ``201``, 200 distinct numbers ``A001``–``A200`` (gap-free), no 5xx; and
  eight identical taps carrying one ``Idempotency-Key`` make one ticket
  (one ``201``, seven ``200`` with the same ticket).
- Clerks: ten clerks at ten counters, each with an integration token, call
  ``POST /api/v1/counters/<id>/call-next`` in a loop, all at once, against
  200 waiting tickets: every ticket is called exactly once (answers and
  database agree), none is lost, and each clerk then gets ``204``.

Run on the test database of the run (SQLite file or PostgreSQL,
``CITIZEN_DESK_TEST_DATABASE_URL``). The outcome is read from the answers
and, after the server stopped, from the database (tickets and their
``ticket.called`` events).
"""
from __future__ import annotations

import uuid
from collections import Counter as Tally

from sqlalchemy import func, select

from citizen_desk.catalog import operations as catalog_ops
from citizen_desk.catalog.models import Service
from citizen_desk.core import uow
from citizen_desk.core.events import Event
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import operations as ops
from citizen_desk.queue.models import Ticket, TicketSequence, TicketStatus
from citizen_desk.staff.models import Role, TokenPurpose
from tests.concurrency import Response, race, served_app, summary
from tests.factories import create_token, create_user

#: Served like production: several threaded workers.
SERVER = {"workers": 4, "threads": 8}
KIOSKS, PER_KIOSK = 4, 50
CLERKS, WAITING = 10, 200
#: A clerk's loop stops after this many answers whatever happens (bounded load).
MAX_CALLS = WAITING + 5


def work(app, fn):
    with app.app_context():
        try:
            return uow.run(fn)
        finally:
            db.session.remove()


def query(app, statement):
    with app.app_context():
        try:
            return db.session.execute(statement).all()
        finally:
            db.session.remove()


def failures(results) -> list:
    """Exceptions and server errors among ``results`` (flattened lists of answers)."""
    return [r for r in results if not isinstance(r, Response) or r.status >= 500]


def kiosk_tokens(app, desk) -> list[str]:
    def fn():
        office = db.session.get(Office, desk.office_id)
        return [create_token(TokenPurpose.kiosk, office, name=f"Κιόσκι {n}")[1]
                for n in range(KIOSKS + 1)]
    return work(app, fn)


def ticket_path(app, desk) -> str:
    with app.app_context():
        code = db.session.get(Office, desk.office_id).code
        db.session.remove()
    return f"/api/v1/offices/{code}/tickets"


def test_kiosks_issuing_at_once_number_200_tickets_without_gaps(app, desk, database_url):
    secrets = kiosk_tokens(app, desk)
    path = ticket_path(app, desk)

    def kiosk(index):
        answers = []
        for _ in range(PER_KIOSK):
            try:
                answers.append(server.post(path, json={"service": "queue-a"}, headers={
                    "Authorization": f"Bearer {secrets[index]}",
                    "Idempotency-Key": uuid.uuid4().hex}))
            except OSError as exc:
                answers.append(exc)
        return answers

    with served_app(database_url, **SERVER) as server:
        runs = race(KIOSKS, kiosk, timeout=240)
        # Eight identical taps: one key, one body, at once, from the fifth kiosk.
        tap = server.request("POST", path, json={"service": "queue-b"}, headers={
            "Authorization": f"Bearer {secrets[KIOSKS]}", "Idempotency-Key": "tap-1"})
        taps = race(8, tap)
        log = server.log()

    answers = [a for run in runs for a in (run if isinstance(run, list) else [run])]
    assert not failures(answers), (failures(answers)[:3], log[-3000:])
    assert summary(answers) == {201: KIOSKS * PER_KIOSK}, summary(answers)
    numbers = [a.json()["number"] for a in answers]
    assert sorted(numbers) == [f"A{n:03d}" for n in range(1, KIOSKS * PER_KIOSK + 1)]
    assert len({a.json()["id"] for a in answers}) == KIOSKS * PER_KIOSK

    assert summary(taps) == {201: 1, 200: 7}, (summary(taps), log[-3000:])
    assert {t.json()["id"] for t in taps} == {taps[0].json()["id"]}
    assert {t.json()["number"] for t in taps} == {"B001"}

    # The database holds the same: 201 tickets, A up to 200 and B at 1.
    assert query(app, select(func.count(Ticket.id)))[0][0] == KIOSKS * PER_KIOSK + 1
    assert sorted(query(app, select(TicketSequence.prefix, TicketSequence.last))) == [
        ("A", KIOSKS * PER_KIOSK), ("B", 1)]
    duplicated = query(app, select(Ticket.number).group_by(Ticket.office_id, Ticket.day,
                                                           Ticket.number)
                       .having(func.count(Ticket.id) > 1))
    assert duplicated == []


def test_ten_clerks_call_200_tickets_each_exactly_once(app, desk, database_url):
    def fn():
        office = db.session.get(Office, desk.office_id)
        a, b = db.session.get(Service, desk.a_id), db.session.get(Service, desk.b_id)
        seats = []
        for n in range(CLERKS):
            counter = catalog_ops.add_counter(office, f"race{n}", {"el": f"Θυρίδα {n + 10}"},
                                              [a, b])
            clerk = create_user(role=Role.clerk, office=office)
            seats.append((counter.id, create_token(TokenPurpose.integration, user=clerk)[1]))
        issued = [ops.issue(office, (a, b)[n % 2])[0] for n in range(WAITING)]
        db.session.flush()
        return seats, [t.id for t in issued], {t.id: t.public_id for t in issued}
    seats, ids, public = work(app, fn)

    def clerk(index):
        counter, secret = seats[index]
        answers = []
        for _ in range(MAX_CALLS):
            try:
                answer = server.post(f"/api/v1/counters/{counter}/call-next", json=None,
                                     headers={"Authorization": f"Bearer {secret}"})
            except OSError as exc:
                answers.append(exc)
                continue
            answers.append(answer)
            if answer.status != 200:
                break
        return answers

    with served_app(database_url, **SERVER) as server:
        runs = race(CLERKS, clerk, timeout=240)
        log = server.log()

    answers = [a for run in runs for a in (run if isinstance(run, list) else [run])]
    assert not failures(answers), (failures(answers)[:3], log[-3000:])
    assert summary(answers) == {200: WAITING, 204: CLERKS}, (summary(answers), log[-3000:])
    assert all(run[-1].status == 204 for run in runs)  # each clerk ends on "nobody waits"
    called = Tally(a.json()["id"] for a in answers if a.status == 200)
    assert sorted(called) == sorted(public.values())  # every ticket once, none lost
    assert max(called.values()) == 1
    # Each answer names the counter of the clerk who called it.
    for (counter, _), run in zip(seats, runs):
        assert {a.json()["counter"]["id"] for a in run if a.status == 200} <= {counter}

    rows = query(app, select(Ticket.id, Ticket.status, Ticket.counter_id))
    assert sorted(r.id for r in rows) == sorted(ids)
    assert {r.status for r in rows} == {TicketStatus.called}
    assert {r.counter_id for r in rows} <= {counter for counter, _ in seats}
    events = query(app, select(Event.subject, func.count(Event.id))
                   .where(Event.kind == "ticket.called").group_by(Event.subject))
    assert sorted(subject for subject, _ in events) == sorted(f"ticket:{i}" for i in ids)
    assert {n for _, n in events} == {1}
