"""The clerk's console under ``/staff/queue``: take a counter, call tickets, serve them.

- ``/staff/queue``: the counters of the offices the person works at, who
  holds each (and since when) or that it is free, and whether it is paused.
  A free counter is taken with one button; one another clerk holds asks
  first (``…/take``: "held by …, take it over?"), and the answer names the
  holder it was shown, so a stale confirmation asks again.
- ``/staff/queue/counters/<id>``: the console of the counter the clerk
  holds: the current ticket with its actions, the waiting list in the
  order call-next takes it, pause, resume and leave. A counter someone else
  holds (or nobody) shows the question instead; a counter out of use says so.

Every action is a POST form (CSRF) that redirects back with a message, so
the console works without JavaScript; ``js/queue_console.js`` adds the
keyboard shortcuts and refreshes the waiting list from ``…/waiting`` on the
office's nudges (``…/events``, served by ``display/live.py``; every few
seconds while that stream is down). Ticket actions name the ticket the page
showed: a ticket that left the counter meanwhile is not acted on.
"""
from __future__ import annotations

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import select

from citizen_desk.booking.identity import language_name
from citizen_desk.catalog.models import Counter
from citizen_desk.core import audit, uow
from citizen_desk.core.access import permission
from citizen_desk.core.db import utcnow
from citizen_desk.core.errors import Conflict
from citizen_desk.core.forms import ActionForm
from citizen_desk.core.i18n import current_language
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import clerk, counters, operations
from citizen_desk.queue.models import PRIORITY_CLASSES, CounterSession, Ticket, TicketStatus
from citizen_desk.queue.outcomes import OUTCOMES
from citizen_desk.queue.permissions import staff_of_counter
from citizen_desk.queue.settings import QueueSettings
from citizen_desk.staff.models import Role, StaffUser
from citizen_desk.staff.permissions import any_office_staff, current_actor

bp = Blueprint("queue_console", __name__, url_prefix="/staff/queue")

#: Seconds between the console's refreshes of its waiting list.
REFRESH_SECONDS = 10

STATUS_LABELS = {
    TicketStatus.waiting: _l("Waiting"),
    TicketStatus.called: _l("Called"),
    TicketStatus.serving: _l("Being served"),
}


def _name_tickets(ids) -> dict:
    """The audit log names a ticket by its number and day: nothing about the citizen."""
    rows = db.session.execute(select(Ticket.id, Ticket.number, Ticket.day).where(
        Ticket.id.in_(audit.numeric_ids(ids))))
    return {str(row_id): f"{number} ({day.strftime('%d/%m/%Y')})" for row_id, number, day in rows}


audit.describe({
    "queue.issue": _l("Ticket issued at the desk"),
    "queue.call": _l("Ticket called"),
    "queue.recall": _l("Ticket called again"),
    "queue.serve": _l("Ticket served at the counter"),
    "queue.no_show": _l("Ticket marked as not come"),
    "queue.finish": _l("Ticket finished"),
    "queue.transfer": _l("Ticket transferred"),
    "queue.cancel": _l("Ticket cancelled"),
    "queue.counter_opened": _l("Counter taken"),
    "queue.counter_taken_over": _l("Counter taken over from another clerk"),
    "queue.counter_closed": _l("Counter left"),
    "queue.counter_paused": _l("Counter paused"),
    "queue.counter_resumed": _l("Counter resumed"),
}, {"ticket": _l("Ticket")}, {"ticket": _name_tickets})


# -- helpers -----------------------------------------------------------------------------------

def _me() -> StaffUser:
    return current_actor().user


def _offices() -> list[Office]:
    actor = current_actor()
    query = select(Office).where(Office.retired.is_(False)).order_by(Office.code)
    if not actor.is_admin:
        query = query.where(Office.code.in_(actor.office_codes(Role.manager, Role.clerk)))
    return list(db.session.scalars(query))


def _console_url(counter: Counter) -> str:
    return url_for(".counter", counter=counter.id)


def _take_url(counter: Counter) -> str:
    return url_for(".take", counter=counter.id)


def _holder(counter: Counter) -> tuple[CounterSession | None, StaffUser | None]:
    session = counters.holder_of(counter)
    user = db.session.get(StaffUser, session.user_id) if session is not None else None
    return session, user


def _checked_post():
    if not ActionForm().validate_on_submit():
        abort(400)


def _not_in_use(counter: Counter):
    return render_template("queue/console/not_in_use.html", counter=counter), 409


def _max_recalls(office: Office) -> int:
    return int(current_app.config.get("QUEUE_MAX_RECALLS", QueueSettings.of(office).max_recalls))


def _needs(ticket: Ticket) -> list[tuple[str, str]]:
    """``(kind, text)`` of the citizen's needs, for icons with their text."""
    needs, result = ticket.needs or {}, []
    if needs.get("interpreter"):
        result.append(("interpreter", _("Interpreter: %(language)s", language=language_name(
            needs["interpreter"], current_language()))))
    if needs.get("wheelchair"):
        result.append(("wheelchair", _("Wheelchair access")))
    if needs.get("sign_language"):
        result.append(("sign_language", _("Sign language")))
    return result


@bp.context_processor
def _helpers():
    return {"needs_of": _needs, "waited": clerk.waited_minutes,
            "priority_label": lambda code: str(PRIORITY_CLASSES.get(code, code)) if code else "",
            "language_label": lambda code: language_name(code, current_language()),
            "status_labels": STATUS_LABELS, "action_form": ActionForm()}


# -- the counters --------------------------------------------------------------------------------

@bp.get("/")
@permission(any_office_staff)
def index():
    """The counters of the person's offices: who holds each, take a free one."""
    me = _me()
    mine = counters.session_of(me)
    offices = []
    for office in _offices():
        rows = []
        for counter in office.counters:
            if not counter.active:
                continue
            session, holder = _holder(counter)
            rows.append({"counter": counter, "session": session, "holder": holder})
        offices.append({"office": office, "counters": rows})
    return render_template("queue/console/index.html", offices=offices, mine=mine)


@bp.route("/counters/<int:counter>/take", methods=["GET", "POST"])
@permission(staff_of_counter("counter"))
def take(counter):
    """Take a counter; one another clerk holds asks first ("take it over?")."""
    found = clerk.counter_or_404(counter)
    if not found.active:
        return _not_in_use(found)
    me = _me()
    if request.method == "POST":
        _checked_post()
        shown = request.form.get("take_over_from", "")
        take_over_from = int(shown) if shown.isascii() and shown.isdigit() and \
            len(shown) < 12 else None
        try:
            with uow.savepoint():
                counters.take(found, me, take_over_from=take_over_from)
        except counters.CounterHeld:
            if take_over_from is not None:
                flash(_("Someone else took this counter meanwhile. Take it over from them?"),
                      "error")
            return _question(found, me, status=409)
        except ValidationError:
            return _not_in_use(found)
        flash(_("You are at %(counter)s.", counter=found.display_label(current_language())),
              "success")
        return redirect(_console_url(found))
    return _question(found, me)


def _question(counter: Counter, me: StaffUser, status: int = 200):
    session, holder = _holder(counter)
    if session is not None and session.user_id == me.id:
        return redirect(_console_url(counter))
    return render_template("queue/console/take.html", counter=counter, session=session,
                           holder=holder, mine=counters.session_of(me)), status


# -- the console ---------------------------------------------------------------------------------

def _held(counter: int):
    """The counter, when the clerk holds it; else the page to show instead."""
    found = clerk.counter_or_404(counter)
    if not found.active:
        return found, _not_in_use(found)
    session = counters.holder_of(found)
    if session is None or session.user_id != _me().id:
        if request.method == "POST":
            flash(_("You are not at this counter."), "error")
        return found, redirect(_take_url(found))
    return found, None


def _waiting_context(counter: Counter) -> dict:
    now = utcnow()
    waiting = clerk.waiting_list(counter, now)
    return {"counter": counter, "waiting": waiting, "lines": clerk.lines(counter, waiting, now),
            "now": now, "paused": counters.holder_of(counter).paused}


@bp.get("/counters/<int:counter>")
@permission(staff_of_counter("counter"))
def counter(counter):
    """The console of the counter the clerk holds."""
    found, instead = _held(counter)
    if instead is not None:
        return instead
    open_tickets = clerk.open_at(found)
    current = next((t for t in open_tickets if t.public_id == request.args.get("ticket")),
                   open_tickets[0] if open_tickets else None)
    services, targets = clerk.transfer_targets(current) if current else ([], [])
    return render_template(
        "queue/console/counter.html", current=current,
        others=[t for t in open_tickets if t is not current], max_recalls=_max_recalls(
            found.office), transfer_services=services, transfer_counters=targets,
        outcomes=OUTCOMES, refresh_seconds=REFRESH_SECONDS, **_waiting_context(found))


@bp.get("/counters/<int:counter>/waiting")
@permission(staff_of_counter("counter"))
def waiting(counter):
    """The waiting list alone, for the console's refresh."""
    found, instead = _held(counter)
    if instead is not None:
        return "", 409
    return render_template("queue/console/_waiting.html", **_waiting_context(found))


def _attempt(counter: Counter, change, success):
    """Run ``change()``; flash its refusal, or ``success(result)``; back to the console."""
    try:
        with uow.savepoint():
            result = change()
    except counters.CounterHeld as refused:
        flash(str(refused.message), "error")
        return redirect(_take_url(counter))
    except Conflict as refused:
        flash(str(refused.message), "error")
    except ValidationError as refused:
        flash(str(refused.message), "error")
    else:
        message = success(result)
        if message:
            flash(message[0], message[1])
    return redirect(_console_url(counter))


def _counter_action(counter: int, change, success):
    """A POST on the clerk's own counter: ``change(counter)``, then back to the console."""
    found, instead = _held(counter)
    if instead is not None:
        return instead
    _checked_post()
    return _attempt(found, lambda: change(found), success)


def _called(ticket):
    if ticket is None:
        return _("Nobody is waiting for this counter."), "info"
    return _("Ticket %(number)s called.", number=ticket.number), "success"


@bp.post("/counters/<int:counter>/call-next")
@permission(staff_of_counter("counter"))
def call_next(counter):
    def change(found):
        counters.ensure_held(found, _me())
        return operations.call_next(found, _me())
    return _counter_action(counter, change, _called)


@bp.post("/counters/<int:counter>/call")
@permission(staff_of_counter("counter"))
def call(counter):
    """Call the waiting ticket the clerk picked from the list."""
    def change(found):
        counters.ensure_held(found, _me())
        ticket = clerk.office_ticket(found.office_id, request.form.get("ticket"))
        return operations.call(ticket, found, _me())
    return _counter_action(counter, change, _called)


def _at_counter(counter: Counter) -> Ticket:
    """The ticket named in the form, if it is still open at this counter."""
    public_id = request.form.get("ticket")
    ticket = None
    if isinstance(public_id, str) and 0 < len(public_id) <= 64:
        ticket = db.session.scalar(select(Ticket).where(
            Ticket.public_id == public_id, Ticket.counter_id == counter.id,
            Ticket.status.in_((TicketStatus.called, TicketStatus.serving))))
    if ticket is None:
        raise ValidationError.at("ticket", _l("This ticket is no longer at your counter."))
    return ticket


def _ticket_action(counter: int, act, message):
    return _counter_action(counter, lambda found: act(_at_counter(found)), message)


@bp.post("/counters/<int:counter>/recall")
@permission(staff_of_counter("counter"))
def recall(counter):
    def message(ticket):
        if ticket.status == TicketStatus.no_show:
            return _("Ticket %(number)s was called %(num)d times and did not come: marked as "
                     "not come.", number=ticket.number, num=ticket.recalls + 1), "info"
        return _("Ticket %(number)s called again.", number=ticket.number), "success"
    return _ticket_action(counter, lambda t: operations.recall(t, _me()), message)


@bp.post("/counters/<int:counter>/serve")
@permission(staff_of_counter("counter"))
def serve(counter):
    return _ticket_action(counter, lambda t: operations.start_serving(t, _me()), lambda t: (
        _("Serving ticket %(number)s.", number=t.number), "success"))


@bp.post("/counters/<int:counter>/no-show")
@permission(staff_of_counter("counter"))
def no_show(counter):
    return _ticket_action(counter, lambda t: operations.no_show(t, _me()), lambda t: (
        _("Ticket %(number)s marked as not come.", number=t.number), "success"))


@bp.post("/counters/<int:counter>/finish")
@permission(staff_of_counter("counter"))
def finish(counter):
    outcome = request.form.get("outcome") or None

    def act(ticket):
        if outcome is not None and outcome not in OUTCOMES:
            raise ValidationError.at("outcome", _l("Choose an outcome from the list."))
        return operations.finish(ticket, outcome=outcome, clerk=_me())
    return _ticket_action(counter, act, lambda t: (
        _("Ticket %(number)s finished.", number=t.number), "success"))


@bp.post("/counters/<int:counter>/transfer")
@permission(staff_of_counter("counter"))
def transfer(counter):
    """Transfer to ``target``: ``service:<code>`` or ``counter:<id>``."""
    kind, _sep, value = (request.form.get("target") or "").partition(":")

    def act(ticket):
        if kind == "service" and value:
            return clerk.transfer(ticket, _me(), service_code=value)
        if kind == "counter" and value.isascii() and value.isdigit() and len(value) < 12:
            return clerk.transfer(ticket, _me(), counter_id=int(value))
        raise ValidationError.at("target", _l("Choose where to transfer the ticket."))

    def message(ticket):
        where = ticket.counter.display_label(current_language()) \
            if ticket.counter_id else ticket.service.display_name(current_language())
        return _("Ticket %(number)s transferred to %(target)s.", number=ticket.number,
                 target=where), "success"
    return _ticket_action(counter, act, message)


def _set_paused(counter: int, paused: bool, message: str):
    return _counter_action(counter, lambda found: counters.set_paused(found, _me(), paused),
                           lambda session: (message, "success"))


@bp.post("/counters/<int:counter>/pause")
@permission(staff_of_counter("counter"))
def pause(counter):
    return _set_paused(counter, True, _("The counter is paused: no tickets are called to it."))


@bp.post("/counters/<int:counter>/resume")
@permission(staff_of_counter("counter"))
def resume(counter):
    return _set_paused(counter, False, _("The counter is open again."))


@bp.post("/counters/<int:counter>/leave")
@permission(staff_of_counter("counter"))
def leave(counter):
    found = clerk.counter_or_404(counter)
    _checked_post()
    if counters.release(found, _me()):
        flash(_("You left %(counter)s.", counter=found.display_label(current_language())),
              "success")
    return redirect(url_for(".index"))


def init_app(app):
    from citizen_desk.core import menus
    app.register_blueprint(bp)
    menus.add_item(app, "staff", "queue_console.index", _l("Queue"), order=5)
