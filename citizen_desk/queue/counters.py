"""Who sits at which counter: taking, handing over, pausing and leaving a counter.

One clerk per counter: ``counter_session.counter_id`` is unique, so of two
clerks taking a free counter at once one INSERT wins and the other is told
who holds it (``CounterHeld``). Taking over a held counter is a second,
deliberate step (the console asks "held by …, take it?"); it is a guarded
UPDATE on the holder the clerk was shown, so two clerks taking over at once
cannot both win. A clerk holds one counter at a time: taking another one
leaves the first.

A counter that starts serving (taken, taken over from a paused holder,
resumed) shortens the estimated wait of its services' tickets, so it looks
for "your turn is near" notices as a moving line does
(``notices.after_counter_opened``); pausing and leaving only lengthen it.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from citizen_desk.catalog.models import Counter
from citizen_desk.core import audit, events, uow
from citizen_desk.core.db import utcnow
from citizen_desk.core.errors import Conflict
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from citizen_desk.queue import notices
from citizen_desk.queue.models import CounterSession
from citizen_desk.staff.models import StaffUser


class CounterHeld(Conflict):
    """Another clerk holds the counter; ``holder`` says who (for the "take it?" question)."""

    def __init__(self, message, holder: StaffUser | None = None):
        super().__init__(message)
        self.holder = holder


class CounterPaused(Conflict):
    """The counter is paused: resume it before calling."""


def _check(counter: Counter | None):
    if counter is None or not counter.active:
        raise ValidationError.at("counter", _l("This counter is not in use."))


def session_of(clerk) -> CounterSession | None:
    """The counter ``clerk`` holds now, if any."""
    return db.session.scalar(select(CounterSession).where(CounterSession.user_id == clerk.id))


def holder_of(counter: Counter) -> CounterSession | None:
    return db.session.scalar(select(CounterSession).where(
        CounterSession.counter_id == counter.id))


def _event(action: str, counter: Counter, clerk, **extra):
    events.append(f"counter.{action}", office_id=counter.office_id,
                  subject=f"counter:{counter.id}",
                  payload={"counter": counter.code, "at": utcnow().isoformat(), **extra})
    audit.record(f"queue.counter_{action}", counter, office_id=counter.office_id,
                 actor_user=clerk, counter=counter.code)


def _serving(action: str, counter: Counter, clerk):
    """``counter`` starts serving: its event, and the near notices it may bring forward."""
    _event(action, counter, clerk)
    notices.after_counter_opened(counter)


def _leave_others(counter: Counter, clerk):
    """A clerk holds one counter: leave any other one first."""
    current = session_of(clerk)
    if current is not None and current.counter_id != counter.id:
        left = db.session.get(Counter, current.counter_id)
        db.session.delete(current)
        db.session.flush()
        _event("closed", left, clerk)


def take(counter: Counter, clerk, *, take_over_from: int | None = None) -> CounterSession:
    """``clerk`` sits at ``counter``; ``CounterHeld`` while another clerk holds it.

    ``take_over_from``: the id of the clerk the console showed as holding it;
    only that holder is replaced (if they left meanwhile, the counter is
    simply taken; if a third clerk took it meanwhile, ``CounterHeld`` again).
    """
    _check(counter)
    held = holder_of(counter)
    if held is not None and held.user_id == clerk.id:
        return held
    _leave_others(counter, clerk)
    if held is not None:
        if take_over_from is None or held.user_id != take_over_from:
            raise CounterHeld(_l("Another clerk is at this counter."),
                              db.session.get(StaffUser, held.user_id))
        was_paused = held.paused
        result = db.session.execute(
            update(CounterSession).where(CounterSession.id == held.id,
                                         CounterSession.user_id == take_over_from)
            .values(user_id=clerk.id, started_dt=utcnow(), paused=False)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise CounterHeld(_l("Another clerk took this counter first."))
        db.session.expire_all()
        if was_paused:  # the take-over resumes it: one counter more serves its services
            _serving("taken_over", counter, clerk)
        else:
            _event("taken_over", counter, clerk)
        return holder_of(counter)
    try:
        with uow.savepoint():
            session = CounterSession(counter_id=counter.id, user_id=clerk.id, started_dt=utcnow())
            db.session.add(session)
            db.session.flush()
    except IntegrityError:
        held = holder_of(counter)
        raise CounterHeld(_l("Another clerk took this counter first."),
                          db.session.get(StaffUser, held.user_id) if held else None) from None
    _serving("opened", counter, clerk)
    return session


def ensure_held(counter: Counter, clerk) -> CounterSession:
    """The clerk's session at ``counter``, taking the counter when it is free.

    A counter another clerk holds answers ``CounterHeld`` (409); a paused one
    ``CounterPaused`` (409): no ticket is called to a counter nobody is at.
    """
    session = take(counter, clerk)
    if session.paused:
        raise CounterPaused(_l("This counter is paused: resume it to call tickets."))
    return session


def release(counter: Counter, clerk) -> bool:
    """``clerk`` leaves ``counter``; whether they held it."""
    result = db.session.execute(
        delete(CounterSession).where(CounterSession.counter_id == counter.id,
                                     CounterSession.user_id == clerk.id)
        .execution_options(synchronize_session=False))
    if result.rowcount:
        db.session.expire_all()
        _event("closed", counter, clerk)
    return bool(result.rowcount)


def set_paused(counter: Counter, clerk, paused: bool) -> CounterSession:
    """Pause (a break: no calls) or resume the counter ``clerk`` holds."""
    _check(counter)
    held = holder_of(counter)
    if held is None or held.user_id != clerk.id:
        raise CounterHeld(_l("You are not at this counter."))
    if held.paused != paused:
        held.paused = paused
        db.session.flush()
        if paused:
            _event("paused", counter, clerk)
        else:
            _serving("resumed", counter, clerk)
    return held


def open_counters(office_id: int, service_id: int | None = None) -> int:
    """How many counters of the office are staffed and not paused (serving ``service_id``)."""
    query = (select(Counter).join(CounterSession, CounterSession.counter_id == Counter.id)
             .where(Counter.office_id == office_id, Counter.active.is_(True),
                    CounterSession.paused.is_(False)))
    counters = db.session.scalars(query).all()
    if service_id is None:
        return len(counters)
    return sum(1 for c in counters if any(s.id == service_id for s in c.services))
