"""The end of an office's day: tickets still open expire, contacts are erased.

``close_day`` is what ``flask --app citizen_desk queue close-day`` runs (cron,
after closing time; run it twice, or on two hosts at once, and each ticket
expires once — guarded UPDATEs). Without it nothing goes wrong meanwhile:
call-next only calls today's tickets, and numbering starts again each local
day on its own (a new ``ticket_sequence`` row). What it adds: yesterday's
waiting tickets get their final status and event, and the phone numbers and
addresses given for "leave and come back" — personal data — are deleted.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select, update

from citizen_desk.core import events
from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue.models import FINAL_STATUSES, Ticket, TicketStatus


@dataclass
class DayClosed:
    expired: int = 0
    contacts_erased: int = 0


def close_day(office: Office | None = None, *, include_today: bool = False) -> DayClosed:
    """Expire open tickets of past days (and today's with ``include_today``); erase contacts.

    An office's "today" is its local date. A ticket being served when the day
    is closed is left to its clerk; a waiting or called one expires.
    """
    offices = [office] if office is not None else list(db.session.scalars(select(Office)))
    report = DayClosed()
    now = utcnow()
    for each in offices:
        today = each.today()
        day_filter = Ticket.day <= today if include_today else Ticket.day < today
        open_ones = db.session.execute(
            select(Ticket.id, Ticket.number, Ticket.day).where(
                Ticket.office_id == each.id, day_filter,
                Ticket.status.in_((TicketStatus.waiting, TicketStatus.called)))).all()
        for ticket_id, number, day in open_ones:
            result = db.session.execute(
                update(Ticket).where(Ticket.id == ticket_id, Ticket.status.in_(
                    (TicketStatus.waiting, TicketStatus.called)))
                .values(status=TicketStatus.expired, finished_dt=now,
                        version=Ticket.version + 1)
                .execution_options(synchronize_session=False))
            if result.rowcount == 1:
                report.expired += 1
                events.append("ticket.expired", office_id=each.id, subject=f"ticket:{ticket_id}",
                              payload={"number": number, "day": day.isoformat(),
                                       "at": now.isoformat()})
        report.contacts_erased += _erase_contacts(each.id, today, include_today)
    db.session.expire_all()
    return report


def _erase_contacts(office_id: int, today: date, include_today: bool) -> int:
    """Delete the phone numbers and addresses of closed tickets and past days."""
    past = Ticket.day <= today if include_today else Ticket.day < today
    result = db.session.execute(
        update(Ticket).where(
            Ticket.office_id == office_id,
            or_(Ticket.notify_phone.is_not(None), Ticket.notify_email.is_not(None)),
            or_(past, Ticket.status.in_(FINAL_STATUSES)))
        .values(notify_phone=None, notify_email=None, version=Ticket.version + 1)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0
