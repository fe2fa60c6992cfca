"""The clerk API under ``/api/v1``: calling tickets to a counter and moving them on.

A clerk's integration token (``staff token``) acts as the clerk, at the
offices where they work.

- ``POST /counters/<counter>/call-next`` — takes the counter for the clerk
  when it is free (``counters.ensure_held``) and calls the next ticket by
  the office's policy: ``200`` ticket, ``204`` when nobody waits; ``409``
  while another clerk holds the counter or it is paused.
- ``POST /counters/<counter>/call`` ``{"ticket": "<id>"}`` — call that
  waiting ticket (a counter that does not serve it: 422).
- ``POST /counters/<counter>/pause|resume`` — the clerk at the counter takes
  a break or comes back (``409`` for anyone else); ``…/release`` leaves it
  (``204``, also when the clerk was not there).
- ``POST /tickets/<ticket>/recall|no-show|serve|transfer|finish|cancel`` —
  ``200`` ticket; ``409`` when the ticket is not in a state the action
  applies to (already finished, called by nobody …); ``transfer``
  ``{"service"?: code, "counter"?: id}``, ``finish`` ``{"outcome"?: code}``
  (a code of ``queue/outcomes.py``).

Unknown counters and tickets are refused like another office's (403; an
administrator gets 404). Every answer is ``Cache-Control: no-store``.
"""
from __future__ import annotations

from flask import Blueprint, jsonify
from marshmallow import fields

from citizen_desk.core.access import permission
from citizen_desk.core.i18n import current_language
from citizen_desk.core.schemas import Code, Schema, WholeNumber, max_length, one_of, use_kwargs
from citizen_desk.queue import clerk, counters, operations
from citizen_desk.queue.outcomes import OUTCOMES
from citizen_desk.queue.permissions import staff_of_counter, staff_of_ticket
from citizen_desk.queue.schemas import ticket_json
from citizen_desk.staff.permissions import current_actor

api = Blueprint("queue_api", __name__)


@api.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


class CallBody(Schema):
    ticket = fields.String(required=True, validate=max_length(64))


class TransferBody(Schema):
    service = Code(load_default=None)
    counter = WholeNumber(strict=True, load_default=None)


class FinishBody(Schema):
    outcome = fields.String(load_default=None, validate=one_of(OUTCOMES))


def _clerk():
    return current_actor().user


def _answer(ticket):
    return jsonify(ticket_json(ticket, language=current_language()))


def _counter_json(counter, session):
    return {"counter": {"id": counter.id, "code": counter.code,
                        "label": counter.display_label(current_language())},
            "paused": bool(session and session.paused)}


# -- a counter ---------------------------------------------------------------------------------

@api.post("/counters/<int:counter>/call-next")
@permission(staff_of_counter("counter"))
def call_next(counter):
    """Call the next ticket to this counter (taking it when free); 204 when nobody waits."""
    found = clerk.counter_or_404(counter)
    counters.ensure_held(found, _clerk())
    ticket = operations.call_next(found, _clerk())
    if ticket is None:
        return "", 204
    return _answer(ticket)


@api.post("/counters/<int:counter>/call")
@permission(staff_of_counter("counter"))
@use_kwargs(CallBody, location="json")
def call(counter, ticket):
    """Call this waiting ticket of the office to this counter."""
    found = clerk.counter_or_404(counter)
    wanted = clerk.office_ticket(found.office_id, ticket)
    counters.ensure_held(found, _clerk())
    return _answer(operations.call(wanted, found, _clerk()))


@api.post("/counters/<int:counter>/pause")
@permission(staff_of_counter("counter"))
def pause(counter):
    found = clerk.counter_or_404(counter)
    return jsonify(_counter_json(found, counters.set_paused(found, _clerk(), True)))


@api.post("/counters/<int:counter>/resume")
@permission(staff_of_counter("counter"))
def resume(counter):
    found = clerk.counter_or_404(counter)
    return jsonify(_counter_json(found, counters.set_paused(found, _clerk(), False)))


@api.post("/counters/<int:counter>/release")
@permission(staff_of_counter("counter"))
def release(counter):
    """Leave the counter (204 whether or not the clerk was there)."""
    counters.release(clerk.counter_or_404(counter), _clerk())
    return "", 204


# -- a ticket ----------------------------------------------------------------------------------

@api.post("/tickets/<ticket>/recall")
@permission(staff_of_ticket("ticket"))
def recall(ticket):
    """Announce the called ticket again; past the office's limit it becomes a no-show."""
    return _answer(operations.recall(clerk.ticket_or_404(ticket), _clerk()))


@api.post("/tickets/<ticket>/no-show")
@permission(staff_of_ticket("ticket"))
def no_show(ticket):
    return _answer(operations.no_show(clerk.ticket_or_404(ticket), _clerk()))


@api.post("/tickets/<ticket>/serve")
@permission(staff_of_ticket("ticket"))
def serve(ticket):
    """The called citizen came to the counter."""
    return _answer(operations.start_serving(clerk.ticket_or_404(ticket), _clerk()))


@api.post("/tickets/<ticket>/transfer")
@permission(staff_of_ticket("ticket"))
@use_kwargs(TransferBody, location="json")
def transfer(ticket, service, counter):
    """Send the ticket to another service or counter; it keeps its issue time."""
    return _answer(clerk.transfer(clerk.ticket_or_404(ticket), _clerk(),
                                  service_code=service, counter_id=counter))


@api.post("/tickets/<ticket>/finish")
@permission(staff_of_ticket("ticket"))
@use_kwargs(FinishBody, location="json")
def finish(ticket, outcome):
    return _answer(operations.finish(clerk.ticket_or_404(ticket), outcome=outcome,
                                     clerk=_clerk()))


@api.post("/tickets/<ticket>/cancel")
@permission(staff_of_ticket("ticket"))
def cancel(ticket):
    return _answer(operations.cancel(clerk.ticket_or_404(ticket), _clerk()))



def init_app(app):
    from citizen_desk.extensions import csrf
    app.register_blueprint(api, url_prefix="/api/v1")
    csrf.exempt(api)
