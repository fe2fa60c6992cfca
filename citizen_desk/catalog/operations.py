"""Operations that change an office's part of the catalog: its details, rules, closures, counters.

Plain functions over the session: they take plain values, validate them
(raising ``ValidationError`` naming the field), change the session,
``flush()`` and record their own audit entry (codes and changed fields
only; the catalog holds no personal data). The unit of work commits —
once per request, once per import. Services are in ``service_operations.py``.
Nothing a booking or ticket may point to is deleted: offices, counters and
services are retired. Rules and closures are configuration and can be removed.
"""
from __future__ import annotations

from datetime import date, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from citizen_desk.catalog import validation as v
from citizen_desk.catalog.models import POOLS, Closure, Counter, OpeningRule, Service
from citizen_desk.catalog.service_operations import may_edit_service, update_service
from citizen_desk.core import audit
from citizen_desk.core.i18n import current_language, format_local
from citizen_desk.core.templating import weekday_name
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office

_UNSET = object()

audit.describe({
    "catalog.import": _l("Catalog imported"),
    "catalog.office.create": _l("Office created"),
    "catalog.office.update": _l("Office details changed"),
    "catalog.office.services": _l("Services offered by an office changed"),
    "catalog.office.retire": _l("Office retired"),
    "catalog.office.reinstate": _l("Office brought back into use"),
    "catalog.rule.create": _l("Opening hours added"),
    "catalog.rule.update": _l("Opening hours changed"),
    "catalog.rule.remove": _l("Opening hours removed"),
    "catalog.closure.create": _l("Closure added"),
    "catalog.closure.update": _l("Closure changed"),
    "catalog.closure.remove": _l("Closure removed"),
    "catalog.counter.create": _l("Counter added"),
    "catalog.counter.update": _l("Counter changed"),
    "catalog.counter.retire": _l("Counter taken out of use"),
}, {
    "catalog": _l("Service catalog"),
    "office": _l("Office"),
    "opening_rule": _l("Opening hours"),
    "closure": _l("Closure"),
    "counter": _l("Counter"),
})


# -- names in the audit log: one query per object type ---------------------------------------

def _name_offices(ids) -> dict:
    language = current_language()
    rows = db.session.scalars(select(Office).where(Office.id.in_(audit.numeric_ids(ids))))
    return {str(o.id): f"{o.display_name(language)} ({o.code})" for o in rows}


def _name_rules(ids) -> dict:
    rows = db.session.scalars(select(OpeningRule).where(
        OpeningRule.id.in_(audit.numeric_ids(ids))).options(joinedload(OpeningRule.office)))
    return {str(r.id): "{days} {start:%H:%M}–{end:%H:%M} ({office})".format(
                days=", ".join(weekday_name(n) for n in r.weekday_numbers),
                start=r.start_time, end=r.end_time, office=r.office.code) for r in rows}


def _name_closures(ids) -> dict:
    rows = db.session.scalars(select(Closure).where(
        Closure.id.in_(audit.numeric_ids(ids))).options(joinedload(Closure.office)))
    names = {}
    for c in rows:
        dates = format_local(c.start_date, "short")
        if c.end_date != c.start_date:
            dates = f"{dates} – {format_local(c.end_date, 'short')}"
        names[str(c.id)] = f"{dates} ({c.office.code})"
    return names


def _name_counters(ids) -> dict:
    language = current_language()
    rows = db.session.scalars(select(Counter).where(
        Counter.id.in_(audit.numeric_ids(ids))).options(joinedload(Counter.office)))
    return {str(c.id): f"{c.display_label(language)} ({c.office.code})" for c in rows}


audit.describe(namers={"office": _name_offices, "opening_rule": _name_rules,
                       "closure": _name_closures, "counter": _name_counters})

OFFICE_DEFAULTS = dict(address=None, directions=None, timezone="Europe/Athens", phone=None,
                       email=None, min_notice_hours=12, max_days_ahead=180, slot_minutes=15,
                       holiday_country="GR", holiday_subdivision=None, notes=None)
#: Online booking's switches: set on the staff screens; a catalog file leaves them as they are.
OFFICE_SWITCHES = dict(confirm_by_email=False, proof_of_work=False)
OFFICE_FIELDS = (*OFFICE_DEFAULTS, "code", "name", *OFFICE_SWITCHES)


def _apply_with_services(obj, values: dict):
    """Apply checked ``values`` to a rule or counter, its service list included."""
    services = values.pop("services")
    v.apply_values(obj, values)
    if list(obj.services) != services:
        obj.services = services
    db.session.flush()
    return obj


# -- offices ---------------------------------------------------------------------------------

def _office_values(values: dict, office: Office | None) -> dict:
    code = v.check_code(values["code"])
    clash = db.session.scalar(select(Office.id).where(Office.code == code))
    if clash and (office is None or clash != office.id):
        raise ValidationError.at("code", _l("Another office already has this code."))
    country, subdivision = v.check_holidays(values["holiday_country"],
                                            values["holiday_subdivision"])
    return dict(
        code=code,
        name=v.check_text(values["name"], "name", "name", required=True),
        address=v.check_text(values["address"], "address", "address"),
        directions=v.check_text(values["directions"], "directions", "directions"),
        timezone=v.check_timezone(values["timezone"]),
        phone=(values["phone"] or "").strip()[:40] or None,
        email=(values["email"] or "").strip()[:254] or None,
        min_notice_hours=v.check_int(values["min_notice_hours"], "min_notice_hours", 0, 24 * 60),
        max_days_ahead=v.check_int(values["max_days_ahead"], "max_days_ahead", 1, 730),
        slot_minutes=v.check_int(values["slot_minutes"], "slot_minutes", 1, 240),
        holiday_country=country, holiday_subdivision=subdivision,
        notes=(values["notes"] or "").strip() or None,
        **{key: bool(values[key]) for key in OFFICE_SWITCHES},
    )


def create_office(code: str, name: dict, **fields) -> Office:
    """A new office; ``fields`` as in ``OFFICE_DEFAULTS`` and ``OFFICE_SWITCHES``."""
    defaults = {**OFFICE_DEFAULTS, **OFFICE_SWITCHES}
    values = _office_values({**v.merged("office", defaults, fields),
                             "code": code, "name": name}, None)
    office = Office(**values)
    db.session.add(office)
    db.session.flush()
    audit.record("catalog.office.create", office, office_id=office.id, code=office.code)
    return office


def update_office(office: Office, **changes) -> Office:
    current = {key: getattr(office, key) for key in OFFICE_FIELDS}
    before = audit.snapshot(office, OFFICE_FIELDS)
    v.apply_values(office, _office_values(v.merged("office", current, changes), office))
    db.session.flush()
    changed = audit.changed(before, office)
    if changed:
        audit.record("catalog.office.update", office, office_id=office.id, code=office.code,
                     fields=changed)
    return office


def retire_office(office: Office, retired: bool = True):
    """Hide an office from citizens; its history stays."""
    office.retired = retired
    db.session.flush()
    audit.record("catalog.office.retire" if retired else "catalog.office.reinstate", office,
                 office_id=office.id, code=office.code)


def set_office_services(office: Office, services: list[Service], allowed: list[Service], *,
                        actor):
    """Offer exactly ``services`` (among ``allowed``, the ones shown) at ``office``.

    ``actor`` may add a service only if they may edit it (``may_edit_service``):
    a manager adds only services offered nowhere but at offices they manage,
    so they can never take over another office's service (its managers would
    lose it); administrators share services between offices. A manager may
    stop offering a service at their office, unless no other office offers
    it: left offered nowhere, no manager could edit it or offer it again
    (retire it instead). A service cannot be taken away while a counter or an
    opening rule of the office names it: the rule would silently start to
    apply to every service.
    """
    wanted = set(services)
    added, removed = [], []
    for service in allowed:
        offered = office in service.offices
        if service in wanted and not offered:
            if not may_edit_service(actor, service):
                raise ValidationError.at("services", _l(
                    "%(service)s is offered at offices you do not manage: an administrator "
                    "can offer it here too.", service=service.code))
            try:
                update_service(service, offices=[*service.offices, office])
            except ValidationError as exc:
                # i18n: a service's code, then why it cannot be offered here.
                raise ValidationError.at("services", _l("%(service)s: %(problem)s",
                                                  service=service.code,
                                                  problem=exc.message)) from None
            added.append(service.code)
        elif service not in wanted and offered:
            if not actor.is_admin and set(service.offices) == {office}:
                raise ValidationError.at("services", _l(
                    "%(service)s is offered only here: retire the service instead, or ask an "
                    "administrator.", service=service.code))
            _check_unused(office, service)
            update_service(service, offices=[o for o in service.offices if o is not office])
            removed.append(service.code)
    if added or removed:
        audit.record("catalog.office.services", office, office_id=office.id, code=office.code,
                     added=added or None, removed=removed or None)
    return added, removed


def _check_unused(office: Office, service: Service):
    for counter in office.counters:
        if service in counter.services:
            raise ValidationError.at("services", _l(
                "Counter %(counter)s serves %(service)s: change the counter first.",
                counter=counter.code, service=service.code))
    for rule in office.rules:
        if service in rule.services:
            raise ValidationError.at("services", _l(
                "Opening hours %(start)s–%(end)s name %(service)s: change them first.",
                start=rule.start_time.strftime("%H:%M"), end=rule.end_time.strftime("%H:%M"),
                service=service.code))


# -- opening rules ---------------------------------------------------------------------------

def _rule_values(office: Office, values: dict, rule: OpeningRule | None) -> dict:
    weekdays = values["weekdays"]
    if (not weekdays or not isinstance(weekdays, (list, tuple, set))
            or any(isinstance(d, bool) or d not in range(1, 8) for d in weekdays)):
        raise ValidationError.at("weekdays", _l("Choose at least one day of the week."))
    start = v.check_time(values["start_time"], "start_time")
    end = v.check_time(values["end_time"], "end_time")
    if start >= end:
        raise ValidationError.at("end_time", _l("The closing time must be after the opening time."))
    valid_from = v.check_date(values["valid_from"], "valid_from")
    valid_until = v.check_date(values["valid_until"], "valid_until", required=False)
    if valid_until and valid_until < valid_from:
        raise ValidationError.at("valid_until", _l("The last day must be on or after the first day."))
    seats = values["seats"] or {}
    if not isinstance(seats, dict) or set(seats) - set(POOLS):
        raise ValidationError.at("seats", _l("Seats are given per pool: public, staff or ngo."))
    counts = {f"seats_{pool}": v.check_int(seats.get(pool, 0), f"seats.{pool}", 0, 1000)
              for pool in POOLS}
    services = list(values["services"] or [])
    for service in services:
        if office not in service.offices:
            raise ValidationError.at("services", _l("%(service)s is not offered at this office.",
                                              service=service.code))
    candidate = OpeningRule(weekdays=OpeningRule.weekday_mask(weekdays), start_time=start,
                            end_time=end, valid_from=valid_from, valid_until=valid_until)
    for other in office.rules:
        if other is rule or not candidate.overlaps(other):
            continue
        if services and other.services and not set(services) & set(other.services):
            continue
        raise ValidationError.at("start_time", _l(
            "These hours overlap another opening rule of this office (%(start)s–%(end)s).",
            start=other.start_time.strftime("%H:%M"), end=other.end_time.strftime("%H:%M")))
    return dict(weekdays=candidate.weekdays, start_time=start, end_time=end,
                valid_from=valid_from, valid_until=valid_until,
                repeat_weeks=v.check_int(values["repeat_weeks"], "repeat_weeks", 1, 52),
                services=services, **counts)


def add_rule(office: Office, weekdays, start_time: time, end_time: time, valid_from: date,
             valid_until: date | None = None, repeat_weeks: int = 1, seats: dict | None = None,
             services=()) -> OpeningRule:
    """Open ``office`` on ``weekdays`` (ISO numbers) between two local times.

    ``seats`` is ``{"public": n, "staff": n, "ngo": n}`` per slot; none at all
    makes walk-in hours. No ``services`` means every service of the office.
    """
    values = _rule_values(office, dict(
        weekdays=weekdays, start_time=start_time, end_time=end_time, valid_from=valid_from,
        valid_until=valid_until, repeat_weeks=repeat_weeks, seats=seats, services=services),
        None)
    rule = OpeningRule(**values)
    office.rules.append(rule)
    db.session.flush()
    audit.record("catalog.rule.create", rule, office_id=office.id)
    return rule


def update_rule(rule: OpeningRule, **changes) -> OpeningRule:
    current = dict(weekdays=rule.weekday_numbers, start_time=rule.start_time,
                   end_time=rule.end_time, valid_from=rule.valid_from,
                   valid_until=rule.valid_until, repeat_weeks=rule.repeat_weeks,
                   seats=rule.seats, services=list(rule.services))
    _apply_with_services(rule, _rule_values(rule.office, v.merged("rule", current, changes), rule))
    audit.record("catalog.rule.update", rule, office_id=rule.office_id)
    return rule


def remove_rule(rule: OpeningRule):
    audit.record("catalog.rule.remove", rule, office_id=rule.office_id)
    rule.office.rules.remove(rule)
    db.session.flush()


# -- closures --------------------------------------------------------------------------------

def _closure_values(values: dict) -> dict:
    start = v.check_date(values["start_date"], "start_date")
    end = v.check_date(values["end_date"], "end_date")
    if end < start:
        raise ValidationError.at("end_date", _l("The last day must be on or after the first day."))
    start_time = v.check_time(values["start_time"], "start_time", required=False)
    end_time = v.check_time(values["end_time"], "end_time", required=False)
    if (start_time is None) != (end_time is None):
        raise ValidationError.at("end_time" if end_time is None else "start_time", _l(
            "Give both times for a closure of part of the day, or neither for whole days."))
    if start_time and start_time >= end_time:
        raise ValidationError.at("end_time", _l("The end time must be after the start time."))
    return dict(start_date=start, end_date=end, start_time=start_time, end_time=end_time,
                reason=v.check_text(values["reason"], "reason", "reason", required=True))


def add_closure(office: Office, start_date: date, end_date: date, reason: dict,
                start_time: time | None = None, end_time: time | None = None) -> Closure:
    """Close ``office`` from ``start_date`` to ``end_date`` (between two times if given)."""
    closure = Closure(**_closure_values(dict(start_date=start_date, end_date=end_date,
                                             start_time=start_time, end_time=end_time,
                                             reason=reason)))
    office.closures.append(closure)
    db.session.flush()
    audit.record("catalog.closure.create", closure, office_id=office.id,
                 start=closure.start_date.isoformat(), end=closure.end_date.isoformat())
    return closure


def update_closure(closure: Closure, **changes) -> Closure:
    current = {key: getattr(closure, key)
               for key in ("start_date", "end_date", "start_time", "end_time", "reason")}
    v.apply_values(closure, _closure_values(v.merged("closure", current, changes)))
    db.session.flush()
    audit.record("catalog.closure.update", closure, office_id=closure.office_id,
                 start=closure.start_date.isoformat(), end=closure.end_date.isoformat())
    return closure


def remove_closure(closure: Closure):
    audit.record("catalog.closure.remove", closure, office_id=closure.office_id)
    closure.office.closures.remove(closure)
    db.session.flush()


# -- counters --------------------------------------------------------------------------------

def _counter_values(office: Office, values: dict, counter: Counter | None) -> dict:
    code = v.check_code(values["code"])
    for other in office.counters:
        if other is not counter and other.code == code:
            raise ValidationError.at("code", _l("Another counter of this office has this code."))
    services = list(values["services"] or [])
    for service in services:
        if office not in service.offices:
            raise ValidationError.at("services", _l("%(service)s is not offered at this office.",
                                              service=service.code))
    return dict(code=code, services=services, active=bool(values["active"]),
                label=v.check_text(values["label"], "label", "label", required=True))


def add_counter(office: Office, code: str, label: dict, services=(),
                active: bool = True) -> Counter:
    """A counter of ``office`` serving ``services`` (which the office must offer)."""
    counter = Counter(**_counter_values(office, dict(code=code, label=label, services=services,
                                                     active=active), None))
    office.counters.append(counter)
    db.session.flush()
    audit.record("catalog.counter.create", counter, office_id=office.id, code=counter.code)
    return counter


def update_counter(counter: Counter, **changes) -> Counter:
    current = dict(code=counter.code, label=counter.label, services=list(counter.services),
                   active=counter.active)
    _apply_with_services(
        counter, _counter_values(counter.office, v.merged("counter", current, changes), counter))
    audit.record("catalog.counter.update", counter, office_id=counter.office_id,
                 code=counter.code)
    return counter


def retire_counter(counter: Counter):
    counter.retire()
    db.session.flush()
    audit.record("catalog.counter.retire", counter, office_id=counter.office_id,
                 code=counter.code)
