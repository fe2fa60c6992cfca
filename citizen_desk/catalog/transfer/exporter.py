"""Export the catalog as a document in the catalog file format (docs/catalog-format.md).

The export is canonical — records sorted by code, every field present —
so that export → import into an empty database → export gives the same
document.
"""
from __future__ import annotations

import json

import yaml
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from citizen_desk.catalog.models import POOLS, WEEKDAYS, Category, Counter, OpeningRule, Service
from citizen_desk.offices.models import Office
from citizen_desk.extensions import db

FORMAT = "citizen-desk-catalog"
VERSION = 1
TEXT_FIELDS = ("name", "summary", "description", "documents", "fees", "link", "synonyms")


def _time(value):
    return value.strftime("%H:%M") if value is not None else None


def _date(value):
    return value.isoformat() if value is not None else None


def _text(values: dict | None) -> dict:
    return {language: values[language] for language in sorted(values or {})}


def export_rule(rule: OpeningRule) -> dict:
    return {
        "weekdays": [WEEKDAYS[n - 1] for n in rule.weekday_numbers],
        "start_time": _time(rule.start_time),
        "end_time": _time(rule.end_time),
        "valid_from": _date(rule.valid_from),
        "valid_until": _date(rule.valid_until),
        "repeat_weeks": rule.repeat_weeks,
        "seats": {pool: rule.seats[pool] for pool in POOLS},
        "services": [service.code for service in rule.services],
    }


def export_office(office: Office) -> dict:
    rules = sorted((export_rule(rule) for rule in office.rules),
                   key=lambda r: (r["valid_from"], WEEKDAYS.index(r["weekdays"][0]),
                                  r["start_time"], json.dumps(r, sort_keys=True)))
    closures = sorted(({
        "start_date": _date(c.start_date), "end_date": _date(c.end_date),
        "start_time": _time(c.start_time), "end_time": _time(c.end_time),
        "reason": _text(c.reason)} for c in office.closures),
        key=lambda c: json.dumps(c, sort_keys=True))
    return {
        "code": office.code,
        "name": _text(office.name),
        "address": _text(office.address),
        "directions": _text(office.directions),
        "timezone": office.timezone,
        "phone": office.phone,
        "email": office.email,
        "min_notice_hours": office.min_notice_hours,
        "max_days_ahead": office.max_days_ahead,
        "slot_minutes": office.slot_minutes,
        "holiday_country": office.holiday_country,
        "holiday_subdivision": office.holiday_subdivision,
        "notes": office.notes,
        "retired": office.retired,
        "opening_rules": rules,
        "closures": closures,
        "counters": [{"code": counter.code, "label": _text(counter.label),
                      "services": [service.code for service in counter.services],
                      "active": counter.active}
                     for counter in sorted(office.counters, key=lambda c: c.code)],
    }


def export_service(service: Service) -> dict:
    languages = set()
    for field in TEXT_FIELDS:
        languages.update(getattr(service, field) or {})
    translations = {}
    for language in sorted(languages):
        texts = {}
        for field in TEXT_FIELDS:
            value = (getattr(service, field) or {}).get(language)
            if value:
                texts[field] = list(value) if isinstance(value, list) else value
        translations[language] = texts
    return {
        "code": service.code,
        "ticket_prefix": service.ticket_prefix,
        "duration_minutes": service.duration_minutes,
        "category": service.category.code if service.category else None,
        "bookable_online": service.bookable_online,
        "walk_in": service.walk_in,
        "required_fields": list(service.required_fields or []),
        "offices": [office.code for office in service.offices],
        "retired": service.retired,
        "translations": translations,
    }


def export_catalog() -> dict:
    """The whole catalog as a plain, JSON-ready document."""
    categories = db.session.scalars(select(Category).order_by(Category.code))
    offices = db.session.scalars(select(Office).order_by(Office.code).options(
        selectinload(Office.rules).selectinload(OpeningRule.services),
        selectinload(Office.closures),
        selectinload(Office.counters).selectinload(Counter.services)))
    services = db.session.scalars(select(Service).order_by(Service.code).options(
        selectinload(Service.category), selectinload(Service.offices)))
    return {
        "format": FORMAT,
        "version": VERSION,
        "categories": [{"code": c.code, "name": _text(c.name), "position": c.position}
                       for c in categories],
        "offices": [export_office(office) for office in offices],
        "services": [export_service(service) for service in services],
    }


class _NoAliasDumper(yaml.SafeDumper):
    """Writes a value met twice in full: the importer refuses anchors and aliases."""

    def ignore_aliases(self, data):
        return True


def dump(document: dict, yaml_format: bool = False) -> str:
    """The document as JSON (default) or YAML text."""
    if yaml_format:
        return yaml.dump(document, Dumper=_NoAliasDumper, allow_unicode=True, sort_keys=False,
                         width=100)
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
