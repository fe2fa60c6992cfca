"""An estimate costs three statements, however long the office's history or line."""
from __future__ import annotations

from citizen_desk.catalog.models import Counter, Service
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import counters, estimate, operations as ops
from citizen_desk.queue.models import TicketStatus
from citizen_desk.staff.models import StaffUser


def test_a_standing_is_three_statements_whatever_the_line(app_ctx, desk, recorded_statements):
    office = db.session.get(Office, desk.office_id)
    service = db.session.get(Service, desk.a_id)
    clerk = db.session.get(StaffUser, desk.clerk_id)
    counters.take(db.session.get(Counter, desk.counter1_id), clerk)
    tickets = [ops.issue(office, service, priority=priority)[0]
               for priority in (None, "senior", None, "disability", None) * 4]
    ops.finish(ops.call_next(db.session.get(Counter, desk.counter1_id), clerk))
    db.session.flush()
    waiting = [ticket for ticket in tickets if ticket.status == TicketStatus.waiting]
    assert len(waiting) == len(tickets) - 1
    for ticket in (waiting[0], waiting[-1], waiting[3]):
        with recorded_statements() as seen:
            standing = estimate.standing(ticket)
        assert len(seen) == 3, seen
        assert standing.ahead == estimate.people_ahead(ticket)
