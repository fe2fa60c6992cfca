"""Who may act on a counter or a ticket named by its id in the address.

The staff policies (``staff/permissions.py``) look at an office code in the
view's arguments; the queue's API names counters by id and tickets by their
public id, so these policies find the office first. An unknown id is refused like
another office's (403; an administrator then gets the view's 404), so ids
cannot be probed by the difference between 403 and 404.
"""
from __future__ import annotations

from sqlalchemy import select

from citizen_desk.catalog.models import Counter
from citizen_desk.core.access import Policy
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue.models import Ticket


def _counter_office(counter_id) -> str | None:
    if not isinstance(counter_id, int):
        return None
    return db.session.scalar(select(Office.code).join(Counter, Counter.office_id == Office.id)
                             .where(Counter.id == counter_id))


def _ticket_office(public_id) -> str | None:
    if not isinstance(public_id, str) or len(public_id) > 64:
        return None
    return db.session.scalar(select(Office.code).join(Ticket, Ticket.office_id == Office.id)
                             .where(Ticket.public_id == public_id))


def staff_of_counter(arg: str = "counter") -> Policy:
    """Admin, manager or clerk of the office of the counter whose id is ``arg``."""
    def check(actor, kw):
        office = _counter_office(kw.get(arg))
        return actor is not None and actor.works_at(office)
    return Policy(f"staff of <{arg}>'s office", check)


def staff_of_ticket(arg: str = "ticket") -> Policy:
    """Admin, manager or clerk of the office of the ticket whose public id is ``arg``."""
    def check(actor, kw):
        office = _ticket_office(kw.get(arg))
        return actor is not None and actor.works_at(office)
    return Policy(f"staff of <{arg}>'s office", check)
