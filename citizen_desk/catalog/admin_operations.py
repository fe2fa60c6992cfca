"""Catalog changes made on the staff screens: who may make them, the change, its audit entry.

The screens call these rather than ``operations`` directly so that every
change they make is written to the audit log in the same transaction (the
importer writes one summary entry instead, see ``importer.py``). Like the
operations they only flush; the request commits once. Audit details name
codes and changed fields only — never personal data (the catalog holds none).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from citizen_desk.catalog import operations as ops
from citizen_desk.catalog.models import Closure, Counter, Office, OpeningRule, Service
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from citizen_desk.staff import audit
from citizen_desk.staff.models import Role

OFFICE_FIELDS = (*ops.OFFICE_DEFAULTS, "code", "name")
SERVICE_FIELDS = ("code", "ticket_prefix", "duration_minutes", "category", "bookable_online",
                  "walk_in", "required_fields", "name", "summary", "description", "documents",
                  "fees", "link", "synonyms")

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
    "catalog.service.create": _l("Service created"),
    "catalog.service.update": _l("Service changed"),
    "catalog.service.retire": _l("Service retired"),
    "catalog.service.reinstate": _l("Service brought back into use"),
}, {
    "catalog": _l("Service catalog"),
    "office": _l("Office"),
    "opening_rule": _l("Opening hours"),
    "closure": _l("Closure"),
    "counter": _l("Counter"),
    "service": _l("Service"),
})


# -- who may ---------------------------------------------------------------------------------

def managed_offices(actor) -> list[Office]:
    """The offices ``actor`` may manage: all for an administrator, else their own."""
    query = select(Office).order_by(Office.code)
    if not actor.is_admin:
        query = query.where(Office.code.in_(actor.office_codes(Role.manager)))
    return list(db.session.scalars(query))


def may_edit_service(actor, service: Service) -> bool:
    """Administrators; managers only when every office offering the service is theirs."""
    if actor.is_admin:
        return True
    return bool(service.offices) and all(actor.manages(o.code) for o in service.offices)


def _snapshot(obj, fields) -> dict:
    return {name: _plain(getattr(obj, name)) for name in fields}


def _plain(value):
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


def _changed(before: dict, obj) -> list[str]:
    return sorted(name for name, value in before.items() if _plain(getattr(obj, name)) != value)


# -- offices ---------------------------------------------------------------------------------

def create_office(values: dict) -> Office:
    office = ops.create_office(**values)
    audit.record("catalog.office.create", office, office_id=office.id, code=office.code)
    return office


def update_office(office: Office, values: dict) -> Office:
    before = _snapshot(office, OFFICE_FIELDS)
    ops.update_office(office, **values)
    changed = _changed(before, office)
    if changed:
        audit.record("catalog.office.update", office, office_id=office.id, code=office.code,
                     fields=changed)
    return office


def retire_office(office: Office, retired: bool = True):
    ops.retire_office(office, retired)
    audit.record("catalog.office.retire" if retired else "catalog.office.reinstate", office,
                 office_id=office.id, code=office.code)


def set_office_services(office: Office, services: list[Service], allowed: list[Service]):
    """Offer exactly ``services`` (among ``allowed``, the ones shown) at ``office``.

    A service cannot be taken away while a counter or an opening rule of the
    office names it: the rule would silently start to apply to every service.
    """
    wanted = set(services)
    added, removed = [], []
    for service in allowed:
        offered = office in service.offices
        if service in wanted and not offered:
            try:
                ops.update_service(service, offices=[*service.offices, office])
            except ValidationError as exc:
                # i18n: a service's code, then why it cannot be offered here.
                raise ValidationError.at("services", _l("%(service)s: %(problem)s",
                                                  service=service.code,
                                                  problem=exc.message)) from None
            added.append(service.code)
        elif service not in wanted and offered:
            _check_unused(office, service)
            ops.update_service(service, offices=[o for o in service.offices if o is not office])
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


# -- rules, closures, counters ---------------------------------------------------------------

def add_rule(office: Office, values: dict) -> OpeningRule:
    rule = ops.add_rule(office, **values)
    audit.record("catalog.rule.create", rule, office_id=office.id)
    return rule


def update_rule(rule: OpeningRule, values: dict) -> OpeningRule:
    ops.update_rule(rule, **values)
    audit.record("catalog.rule.update", rule, office_id=rule.office_id)
    return rule


def remove_rule(rule: OpeningRule):
    audit.record("catalog.rule.remove", rule, office_id=rule.office_id)
    ops.remove_rule(rule)


def add_closure(office: Office, values: dict) -> Closure:
    closure = ops.add_closure(office, **values)
    audit.record("catalog.closure.create", closure, office_id=office.id,
                 start=closure.start_date.isoformat(), end=closure.end_date.isoformat())
    return closure


def update_closure(closure: Closure, values: dict) -> Closure:
    ops.update_closure(closure, **values)
    audit.record("catalog.closure.update", closure, office_id=closure.office_id,
                 start=closure.start_date.isoformat(), end=closure.end_date.isoformat())
    return closure


def remove_closure(closure: Closure):
    audit.record("catalog.closure.remove", closure, office_id=closure.office_id)
    ops.remove_closure(closure)


def add_counter(office: Office, values: dict) -> Counter:
    counter = ops.add_counter(office, **values)
    audit.record("catalog.counter.create", counter, office_id=office.id, code=counter.code)
    return counter


def update_counter(counter: Counter, values: dict) -> Counter:
    ops.update_counter(counter, **values)
    audit.record("catalog.counter.update", counter, office_id=counter.office_id,
                 code=counter.code)
    return counter


def retire_counter(counter: Counter):
    ops.retire_counter(counter)
    audit.record("catalog.counter.retire", counter, office_id=counter.office_id,
                 code=counter.code)


# -- services --------------------------------------------------------------------------------

def _record_service(action: str, service: Service, offices, **details):
    """One entry per office concerned, so each office's managers see it."""
    office_ids = sorted({o.id for o in offices}) or [None]
    for office_id in office_ids:
        audit.record(action, service, office_id=office_id, code=service.code, **details)


def create_service(values: dict) -> Service:
    service = ops.create_service(**values)
    _record_service("catalog.service.create", service, service.offices)
    return service


def update_service(service: Service, values: dict) -> Service:
    before = _snapshot(service, SERVICE_FIELDS)
    offices_before = list(service.offices)
    ops.update_service(service, **values)
    changed = _changed(before, service)
    if set(offices_before) != set(service.offices):
        changed.append("offices")
    if changed:
        _record_service("catalog.service.update", service,
                        {*offices_before, *service.offices}, fields=changed)
    return service


def retire_service(service: Service, retired: bool = True):
    ops.retire_service(service, retired)
    _record_service("catalog.service.retire" if retired else "catalog.service.reinstate",
                    service, service.offices)
