""""Leave and come back": the citizen is told by SMS or e-mail when their turn nears and when called.

A citizen who left a mobile number or an e-mail address at the kiosk or the
check-in (``ticket.notify_phone`` / ``notify_email``) gets two short
notices, in the ticket's language, through the outbox (``core/outbox.py``:
written in a transaction, sent after its commit, retried by ``flask outbox
send``):

- **your turn is near** — once, when the people ahead drop to the office's
  ``notify_people_ahead`` or the estimated wait to its ``notify_minutes``
  (``QueueSettings``);
- **it is your turn, go to counter N** — when a clerk calls the ticket
  (``call`` or ``call_next``, again after a transfer; a recall is no new
  call and sends nothing).

The operations call ``called(ticket, counter)`` inside the call's own
transaction (its outbox rows commit or roll back with the call), and
``after_queue_moved(office_id)`` whenever the line moves (a call, a no-show,
a finish, a transfer, a cancel). The estimate also drops when a counter
starts serving (``counters.take``, a take-over, a resume): then
``counters.py`` calls ``after_counter_opened(counter)``, which looks only at
the tickets waiting for that counter's services (or transferred to it). Each
hook costs one indexed query when nobody concerned left a contact. Otherwise
the near notices are worked out in
a unit of their own after the call committed (``notify_near``): the
estimate needs the committed line, and the clerk's transaction must not
hold ticket rows while it computes people's standing (a PostgreSQL clerk
calling next with ``SKIP LOCKED`` would pass over them). Each notice is
claimed by a guarded ``UPDATE ticket SET near_notified = true WHERE …
near_notified = false``, in the same transaction as its outbox rows, so two
clerks calling (or opening counters) at the same instant tell a citizen
once. If that unit fails,
nothing is lost: the next move of the line looks again.

SMS length: the English texts stay within one 160-character GSM-7 part;
Greek needs UCS-2 (70 characters a part), and the Greek texts are written
to fit one part with a short number and counter label, two at most
(``core/sms.segments``). The contact is personal data: ``daily.close_day``
erases it from the ticket; an outbox row keeps its own copy until sent and
is deleted by ``flask outbox purge`` with the mails.
"""
from __future__ import annotations

import functools
import logging
from datetime import datetime

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from citizen_desk.catalog.models import Counter, Service
from citizen_desk.core import uow
from citizen_desk.core.db import write_intent
from citizen_desk.core.i18n import available_languages
from citizen_desk.core.outbox import queue_mail, queue_sms
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue.models import Ticket, TicketStatus, servable_by
from citizen_desk.queue.settings import QueueSettings

log = logging.getLogger(__name__)


def _untold(office_id: int, day, counter_id: int | None = None):
    """Today's waiting tickets of the office with a contact and no near notice yet.

    ``counter_id``: only those a newly opened counter can serve (``servable_by``).
    """
    where = [Ticket.office_id == office_id, Ticket.day == day,
             Ticket.status == TicketStatus.waiting, Ticket.near_notified.is_(False),
             or_(Ticket.notify_phone.is_not(None), Ticket.notify_email.is_not(None))]
    if counter_id is not None:
        where.append(servable_by(counter_id))
    return where


# -- hooks the operations call ---------------------------------------------------------------

def after_queue_moved(office_id: int) -> None:
    """The office's line moved: tell those whose turn now nears, after the commit."""
    _look_after_commit(office_id)


def after_counter_opened(counter: Counter) -> None:
    """``counter`` started serving (taken, taken over, resumed): its services' estimates may
    have dropped, so tell those of its tickets whose turn now nears, after the commit."""
    _look_after_commit(counter.office_id, counter.id)


def _look_after_commit(office_id: int, counter_id: int | None = None):
    office = db.session.get(Office, office_id)
    if office is None:
        return
    if db.session.scalar(select(Ticket.id).where(
            *_untold(office_id, office.today(), counter_id)).limit(1)):
        uow.after_commit(functools.partial(_near_in_own_unit, office_id, counter_id))


def called(ticket: Ticket, counter: Counter | None = None) -> None:
    """The ticket was called to ``counter``: its notice, in the call's transaction."""
    if ticket.notify_phone or ticket.notify_email:
        counter = counter or (db.session.get(Counter, ticket.counter_id)
                              if ticket.counter_id else None)
        _send(ticket, "called", counter=counter)


# -- the near notices ------------------------------------------------------------------------

def _near_in_own_unit(office_id: int, counter_id: int | None = None):
    with write_intent(True):
        uow.run(functools.partial(notify_near, office_id, counter_id=counter_id))


def notify_near(office_id: int, now: datetime | None = None, *,
                counter_id: int | None = None) -> list[int]:
    """Queue the near notice of each waiting ticket past the office's thresholds, once.

    ``counter_id``: only the tickets that counter can serve (it just opened).
    The ids of the tickets told. Run inside a unit of work.
    """
    from citizen_desk.queue import estimate  # estimate imports operations, which imports us

    office = db.session.get(Office, office_id)
    settings = QueueSettings.of(office)
    waiting = db.session.scalars(
        select(Ticket).where(*_untold(office_id, office.today(), counter_id))
        .order_by(Ticket.id)).all()
    told = []
    for ticket in waiting:
        standing = estimate.standing(ticket, now)
        if (standing.ahead > settings.notify_people_ahead
                and standing.wait_minutes > settings.notify_minutes):
            continue
        claimed = db.session.execute(
            update(Ticket).where(Ticket.id == ticket.id, Ticket.status == TicketStatus.waiting,
                                 Ticket.near_notified.is_(False))
            .values(near_notified=True, version=Ticket.version + 1)
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue  # another clerk's unit told them, or the ticket moved on meanwhile
        db.session.refresh(ticket)
        _send(ticket, "near", ahead=standing.ahead, wait_minutes=standing.wait_minutes)
        told.append(ticket.id)
    return told


# -- the messages ----------------------------------------------------------------------------

def notice_language(ticket: Ticket) -> str:
    """The ticket's language if the product speaks it, else the default one."""
    if ticket.language in available_languages():
        return ticket.language
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def sms_text(kind: str, number: str, counter_label: str | None = None) -> str:
    """The short text of a notice in the current locale (one SMS part where possible)."""
    if kind == "near":
        # i18n: an SMS; keep it under 70 characters in Greek (one SMS part).
        return _("%(number)s: your turn is near. Please come back to the waiting area.",
                 number=number)
    # i18n: an SMS; keep it under 70 characters in Greek (one SMS part).
    return _("%(number)s: it is your turn. Please go to %(counter)s.", number=number,
             counter=counter_label or "")


def _send(ticket: Ticket, kind: str, *, counter: Counter | None = None, ahead: int = 0,
          wait_minutes: int = 0):
    from citizen_desk.queue.schemas import tracking_url

    language = notice_language(ticket)
    office = db.session.get(Office, ticket.office_id)
    service = db.session.get(Service, ticket.service_id)
    with force_locale(language):
        label = counter.display_label(language) if counter is not None else None
        if ticket.notify_phone:
            queue_sms(ticket.notify_phone, sms_text(kind, ticket.number, label))
        if ticket.notify_email:
            context = dict(number=ticket.number, counter=label, ahead=ahead,
                           wait_minutes=wait_minutes, url=tracking_url(ticket),
                           service=service.display_name(language),
                           office=office.display_name(language))
            if kind == "near":
                subject = _("Your turn is near: ticket %(number)s", number=ticket.number)
            else:
                subject = _("It is your turn: ticket %(number)s, %(counter)s",
                            number=ticket.number, counter=label or "")
            queue_mail(ticket.notify_email, subject,
                       render_template(f"queue/tracking/mail/{kind}.txt", **context))
    log.info("queue notice %s for ticket %s queued", kind, ticket.id)
