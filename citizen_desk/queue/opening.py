"""Whether an office takes tickets for a service now: the catalog's facts, kept per revision.

A kiosk asks on every tap (and its start page for every walk-in service),
so the facts it needs — is the service offered at the office, the day's
opening sessions for it and the part-day closures — are kept as plain
values in the catalog's revision cache (``catalog/search/cache.py``) instead
of four queries per ticket. Any change to an office, service, rule or
closure changes the revision in the same transaction: this process sees its
own change at once, other processes within ``CATALOG_CACHE_SECONDS``
(default 1 s); a transaction that changed the catalog itself is answered
from the database. The clock is never kept: ``open_now`` compares the current
time with the kept day's sessions on each call.
"""
from __future__ import annotations

from datetime import date, datetime, time

from flask import current_app, has_app_context

from citizen_desk.catalog import hours
from citizen_desk.catalog.models import Service
from citizen_desk.catalog.search.cache import EXTENSION as CATALOG_CACHE
from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office

Intervals = tuple[tuple[time, time], ...]


def _kept(key: tuple, compute):
    cache = current_app.extensions.get(CATALOG_CACHE) if has_app_context() else None
    if cache is None or db.session.info.get("catalog_changed"):
        # This transaction changed the catalog: its revision is not yet anyone's.
        return compute()
    return cache.get_or_compute(key, compute)


def offered(office: Office, service: Service) -> bool:
    """Whether ``service`` is offered at ``office`` (the catalog's service–office link)."""
    return _kept(("queue.offered", office.id, service.id),
                 lambda: any(place.id == office.id for place in service.offices))


def day_plan(office: Office, service: Service, day: date) -> tuple[Intervals, Intervals]:
    """``(sessions, closed)`` of ``service`` at ``office`` on local ``day``: the opening
    rules' ``(start, end)`` (none on a holiday or whole-day closure) and the part-day
    closures' ``(start, end)``."""
    def compute():
        sessions = tuple((rule.start_time, rule.end_time)
                         for rule in hours.sessions_on(office, day, service))
        closed = tuple((closure.start_time, closure.end_time)
                       for closure in hours.closed_days(office, day, day)
                       if not closure.whole_day)
        return sessions, closed
    return _kept(("queue.day_plan", office.id, service.id, day), compute)


def open_now(office: Office, service: Service, now: datetime | None = None) -> bool:
    """Whether ``office`` serves ``service`` at ``now``: inside one of the day's opening
    sessions for it and outside any part-day closure."""
    local = (now or utcnow()).astimezone(office.zone)
    clock = local.time().replace(tzinfo=None)
    sessions, closed = day_plan(office, service, local.date())
    return (any(start <= clock < end for start, end in sessions)
            and not any(start <= clock < end for start, end in closed))
