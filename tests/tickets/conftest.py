"""An office open now (walk-in hours all week), services with ticket prefixes, counters, a clerk."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, time

import pytest
from sqlalchemy import event

from citizen_desk.catalog import operations as catalog_ops
from citizen_desk.core import uow
from citizen_desk.extensions import db
from citizen_desk.staff.models import Role
from tests.factories import add_rule, create_office, create_service, create_user, daytime_zone


@dataclass
class Desk:
    office_id: int
    #: Prefix ``A``, ``B`` (both walk-in) and ``C`` (appointments only).
    a_id: int
    b_id: int
    c_id: int
    #: Counter 1 serves A and B, counter 2 serves B only.
    counter1_id: int
    counter2_id: int
    clerk_id: int


def set_up_desk() -> Desk:
    office = create_office(holiday_country=None, min_notice_hours=0, timezone=daytime_zone())
    # Walk-in hours (no seats) every day, all day, where it is now about noon: the office
    # is open whenever a test runs, and its day does not end in the middle of one.
    add_rule(office, weekdays=[1, 2, 3, 4, 5, 6, 7], start_time=time(0),
             end_time=time(23, 45), valid_from=date(2026, 1, 1))
    a = create_service(offices=[office], ticket_prefix="A", code="queue-a")
    b = create_service(offices=[office], ticket_prefix="B", code="queue-b")
    c = create_service(offices=[office], ticket_prefix="C", code="queue-c", walk_in=False)
    one = catalog_ops.add_counter(office, "1", {"el": "Θυρίδα 1", "en": "Counter 1"}, [a, b])
    two = catalog_ops.add_counter(office, "2", {"el": "Θυρίδα 2", "en": "Counter 2"}, [b])
    clerk = create_user(role=Role.clerk, office=office)
    return Desk(office.id, a.id, b.id, c.id, one.id, two.id, clerk.id)


@pytest.fixture
def desk(app) -> Desk:
    """The ids of a committed desk (for races and for tests that use ``app_ctx``)."""
    with app.app_context():
        ids = uow.run(set_up_desk)
        db.session.remove()
    return ids


@pytest.fixture
def recorded_statements():
    """``with recorded_statements() as seen:`` — the SQL statements run inside the block
    (in an application context)."""
    @contextmanager
    def record():
        seen = []

        def listener(conn, cursor, statement, *args):
            seen.append(statement)
        engine = db.engine
        event.listen(engine, "before_cursor_execute", listener)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    return record
