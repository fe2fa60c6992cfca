"""Races on one real database, without a server: numbering, idempotency and calling hold.

Each racer runs its operation in its own application context and unit of
work (``uow.run``, with its retries), all released at once by
``tests.concurrency.race``; the outcome is then counted in SQL.
"""
from __future__ import annotations

from collections import Counter as Tally

import pytest
from sqlalchemy import func, select

from citizen_desk.catalog import operations as catalog_ops
from citizen_desk.catalog.models import Counter, Service
from citizen_desk.core import uow
from citizen_desk.core.events import Event
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import operations as ops
from citizen_desk.queue.models import Ticket, TicketSequence, TicketStatus
from citizen_desk.staff.models import Role, StaffUser
from tests.concurrency import race
from tests.factories import create_user

POOL = {"pool_size": 16, "max_overflow": 16, "pool_timeout": 120}


@pytest.fixture
def racing_app(app, make_app):
    """An app on the test database whose pool lets many racers in at once."""
    return make_app(SQLALCHEMY_ENGINE_OPTIONS=POOL)


def in_unit(app, work):
    with app.app_context():
        try:
            return uow.run(work)
        finally:
            db.session.remove()


def issue_work(office_id, service_id, key=None):
    def work():
        ticket, created = ops.issue(db.session.get(Office, office_id),
                                    db.session.get(Service, service_id), idempotency_key=key)
        return ticket.id, ticket.number, created
    return work


def rows(app, statement):
    with app.app_context():
        try:
            return db.session.execute(statement).all()
        finally:
            db.session.remove()


def errors(results):
    return [r for r in results if isinstance(r, BaseException)]


def test_concurrent_kiosks_never_share_or_skip_a_number(app, racing_app, desk):
    issuers, each = 6, 50

    def issuer(i):
        service = desk.a_id if i % 2 == 0 else desk.b_id  # two prefixes interleaved
        return [in_unit(racing_app, issue_work(desk.office_id, service)) for _ in range(each)]

    results = race(issuers, issuer, timeout=240)

    assert errors(results) == [], [repr(e) for e in errors(results)][:3]
    found = rows(app, select(Ticket.prefix, Ticket.seq, Ticket.number)
                 .where(Ticket.office_id == desk.office_id))
    assert len(found) == issuers * each
    per_prefix = Tally(prefix for prefix, _, _ in found)
    assert per_prefix == {"A": issuers // 2 * each, "B": issuers // 2 * each}
    for prefix, count in per_prefix.items():
        # Distinct and gap-free, counted from the rows themselves.
        assert sorted(seq for p, seq, _ in found if p == prefix) == list(range(1, count + 1))
    assert len({number for _, _, number in found}) == len(found)
    assert sorted(r[0] for r in rows(app, select(TicketSequence.last))) == [150, 150]
    # Each racer saw its own numbers in order (the counter only goes up).
    for result in results:
        for prefix in "AB":
            mine = [int(n[1:]) for _, n, _ in result if n[0] == prefix]
            assert mine == sorted(mine)


def test_sixteen_identical_taps_make_one_ticket(app, racing_app, desk):
    results = race(16, lambda i: in_unit(racing_app, issue_work(
        desk.office_id, desk.a_id, key="one-tap-5f1c")), timeout=120)

    assert errors(results) == [], [repr(e) for e in errors(results)][:3]
    assert len({ticket_id for ticket_id, _, _ in results}) == 1
    assert sorted(created for _, _, created in results) == [False] * 15 + [True]
    assert rows(app, select(func.count(Ticket.id)))[0][0] == 1
    assert rows(app, select(func.count(Event.id)).where(Event.kind == "ticket.issued"))[0][0] == 1
    # The losers' increments rolled back: the next ticket is A002.
    assert in_unit(racing_app, issue_work(desk.office_id, desk.a_id))[1] == "A002"


def test_ten_clerks_call_two_hundred_tickets_each_exactly_once(app, racing_app, desk):
    clerks, tickets = 10, 200

    def set_up():
        office = db.session.get(Office, desk.office_id)
        service = db.session.get(Service, desk.a_id)
        ids = []
        for _ in range(tickets):
            ids.append(ops.issue(office, service)[0].id)
        counters = [catalog_ops.add_counter(office, f"R{i}", {"el": f"Θ{i}"}, [service]).id
                    for i in range(clerks)]
        users = [create_user(role=Role.clerk, office=office).id for _ in range(clerks)]
        return ids, counters, users
    ids, counters, users = in_unit(app, set_up)

    def clerk(i):
        called = []
        while True:
            def work():
                ticket = ops.call_next(db.session.get(Counter, counters[i]),
                                       db.session.get(StaffUser, users[i]))
                return None if ticket is None else ticket.id
            ticket_id = in_unit(racing_app, work)
            if ticket_id is None:
                return called
            called.append(ticket_id)

    results = race(clerks, clerk, timeout=240)

    assert errors(results) == [], [repr(e) for e in errors(results)][:3]
    claimed = [ticket_id for result in results for ticket_id in result]
    assert len(claimed) == tickets and sorted(claimed) == sorted(ids)
    # Counted in SQL: every ticket called, once, by one counter; one "called" event each.
    assert rows(app, select(func.count(Ticket.id)).where(
        Ticket.status == TicketStatus.called, Ticket.counter_id.in_(counters)))[0][0] == tickets
    per_ticket = rows(app, select(Event.subject, func.count(Event.id))
                      .where(Event.kind == "ticket.called").group_by(Event.subject))
    assert len(per_ticket) == tickets and {n for _, n in per_ticket} == {1}
    # Every clerk whose call found a ticket got its own: the ten shared the work.
    assert sum(1 for result in results if result) >= 2
