"""What a waiting-room display shows, read from the event log and the queue.

``office_state(office)`` is the display's whole picture at one event id:
the latest calls of the office's local day (from ``ticket.called`` and
``ticket.recalled`` events, newest first, one line per ticket), the waiting
count and estimated wait of each walk-in service (``queue.estimate``), the
labels of the counters and services in every language the product speaks,
and ``last_event_id``. The calls are read up to that id and no further, so a
stream that starts after it repeats none of them and misses nothing: an
office's events become visible in id order (``docs/events.md``).

``call_data(event)`` is one event as a display stream sends it. Only ticket
numbers, services and counters: never a name, a phone or a need.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, time as clock_time

from sqlalchemy import func, select

from citizen_desk.catalog.models import Counter, Service, service_office
from citizen_desk.core.content import pick
from citizen_desk.core.db import utcnow
from citizen_desk.core.events import Event
from citizen_desk.core.i18n import available_languages
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import estimate

#: How many calls a display lists.
CALLS_SHOWN = 6
#: The event kinds that are calls (announced on screen and aloud).
CALL_KINDS = ("ticket.called", "ticket.recalled")
#: Ticket events that leave the waiting counts and estimates as they were.
_SAME_COUNTS = frozenset({"ticket.recalled", "ticket.serving"})
#: How many call events are read to find ``CALLS_SHOWN`` distinct tickets.
_CALL_WINDOW = 60


def changes_counts(kind: str) -> bool:
    """Whether an event of ``kind`` may change a service's waiting count or estimate
    (a ticket issued, called, gone; a counter opened, closed, paused, resumed)."""
    return kind.startswith(("ticket.", "counter.")) and kind not in _SAME_COUNTS


def last_event_id(office_id: int) -> int:
    """The newest event id of the office (0 when it has none)."""
    return db.session.scalar(select(func.max(Event.id)).where(
        Event.office_id == office_id)) or 0


def _day_start(office: Office) -> datetime:
    """The start of the office's local day, as an aware datetime."""
    return datetime.combine(office.today(), clock_time(0), tzinfo=office.zone)


def call_data(event: Event) -> dict:
    """One ticket event as a display receives it (``type`` without the ``ticket.`` prefix)."""
    payload = event.payload or {}
    data = {"type": event.kind.partition(".")[2] or event.kind,
            "number": payload.get("number"), "counter": payload.get("counter"),
            "service": payload.get("service"), "at": payload.get("at") or event.dt.isoformat()}
    if event.kind == "ticket.recalled":
        data["recalls"] = payload.get("recalls") or 0
    return data


def latest_calls(office: Office, up_to: int, limit: int = CALLS_SHOWN) -> list[dict]:
    """The office's latest calls today, newest first, one per ticket, up to event ``up_to``."""
    rows = db.session.scalars(
        select(Event).where(Event.office_id == office.id, Event.kind.in_(CALL_KINDS),
                            Event.id <= up_to, Event.dt >= _day_start(office))
        .order_by(Event.id.desc()).limit(_CALL_WINDOW)).all()
    calls, seen = [], set()
    for event in rows:
        if event.subject in seen:
            continue
        seen.add(event.subject)
        calls.append({"event_id": event.id, **call_data(event)})
        calls[-1].setdefault("recalls", 0)
        if len(calls) == limit:
            break
    return calls


def _labels(values: dict | None, default: str) -> dict:
    return {language: pick(values, language, default=default)
            for language in available_languages()}


def walk_in_services(office: Office) -> list[Service]:
    """The office's walk-in services, by ticket prefix then code."""
    return list(db.session.scalars(
        select(Service).join(service_office, service_office.c.service_id == Service.id)
        .where(service_office.c.office_id == office.id, Service.walk_in.is_(True),
               Service.retired.is_(False))
        .order_by(Service.ticket_prefix, Service.code)))


def waiting(office: Office, services: list[Service] | None = None) -> list[dict]:
    """Per walk-in service: code, prefix, names, people waiting, estimated wait (minutes)."""
    now = utcnow()
    rows = []
    for service in walk_in_services(office) if services is None else services:
        summary = estimate.service_summary(office, service, now)
        rows.append({"code": service.code, "prefix": service.ticket_prefix,
                     "name": _labels(service.name, service.code),
                     "waiting": summary["waiting"], "wait_minutes": summary["wait_minutes"]})
    return rows


def office_state(office: Office) -> dict:
    """The display's picture of ``office`` now (see the module's docstring)."""
    up_to = last_event_id(office.id)
    counters = db.session.scalars(select(Counter).where(Counter.office_id == office.id)
                                  .order_by(Counter.code)).all()
    now = utcnow().astimezone(office.zone)
    return {
        "office": {"code": office.code, "name": _labels(office.name, office.code),
                   "timezone": office.timezone},
        "now": now.isoformat(timespec="seconds"),
        "calls": latest_calls(office, up_to),
        "services": waiting(office),
        "counters": {c.code: {"label": _labels(c.label, c.code), "active": c.active}
                     for c in counters},
        "last_event_id": up_to,
    }


def filtered(state: dict, services: list[str] | None = None,
             counters: list[str] | None = None) -> dict:
    """``state`` showing only the calls and services of those services and counters."""
    if not services and not counters:
        return state
    def shown(call):
        return ((not services or call.get("service") in services)
                and (not counters or call.get("counter") in counters))
    return {**state, "calls": [call for call in state["calls"] if shown(call)],
            "services": [row for row in state["services"]
                         if not services or row["code"] in services]}


class StateCache:
    """The latest state per office in this process, shared by its open streams.

    Every stream of an office needs the same picture after the same event:
    one of them computes it (the others wait on the office's lock) and the
    rest reuse it while it is no older than ``max_age`` seconds and covers
    the event they need. A hundred screens in one worker thus cost one set of
    queries per event, not a hundred.
    """

    def __init__(self, max_age: float = 5.0):
        self.max_age = max_age
        self._guard = threading.Lock()
        self._locks: dict[int, threading.Lock] = {}
        self._states: dict[int, tuple[float, dict]] = {}

    def _fresh(self, office_id: int, at_least: int) -> dict | None:
        found = self._states.get(office_id)
        if found is None:
            return None
        made, state = found
        if state["last_event_id"] >= at_least and time.monotonic() - made <= self.max_age:
            return state
        return None

    def get(self, office: Office | int, at_least: int = 0) -> dict:
        """A state of ``office`` (or the office of that id, loaded only if the state must be
        computed) that includes event ``at_least``."""
        office_id = office if isinstance(office, int) else office.id
        with self._guard:
            lock = self._locks.setdefault(office_id, threading.Lock())
        with lock:
            state = self._fresh(office_id, at_least)
            if state is None:
                if isinstance(office, int):
                    office = db.session.get(Office, office_id)
                state = office_state(office)
                self._states[office_id] = (time.monotonic(), state)
            return state

    def clear(self):
        with self._guard:
            self._states.clear()
