"""Import an office's opening rules, closures and counters from its record in a catalog file.

Rules and closures have no code: the file's list replaces the office's,
keeping the ones that are identical (so re-importing changes nothing).
Counters are matched by code; those missing from the file are deactivated,
never deleted (tickets remember where they were called).
"""
from __future__ import annotations

import json

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from citizen_desk.catalog import operations as ops
from citizen_desk.catalog.transfer.exporter import export_rule
from citizen_desk.catalog.transfer.support import fail, parse_date, parse_time, path_of
from citizen_desk.catalog.models import POOLS, WEEKDAYS, Service
from citizen_desk.offices.models import Office
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db


def _services(codes, where: str) -> list[Service]:
    found = []
    for number, code in enumerate(codes):
        service = db.session.scalar(select(Service).where(Service.code == code))
        if service is None:
            fail(f"{where}[{number}]", _l("unknown service %(code)s", code=code))
        found.append(service)
    return found


def _rule_key(raw: dict) -> str:
    normal = {
        "weekdays": sorted(raw["weekdays"], key=WEEKDAYS.index),
        "start_time": raw["start_time"], "end_time": raw["end_time"],
        "valid_from": raw["valid_from"], "valid_until": raw.get("valid_until"),
        "repeat_weeks": raw.get("repeat_weeks", 1),
        "seats": {pool: (raw.get("seats") or {}).get(pool, 0) for pool in POOLS},
        "services": sorted(raw.get("services", [])),
    }
    return json.dumps(normal, sort_keys=True)


def sync_rules(office: Office, rules: list, where: str):
    existing = {}
    for rule in list(office.rules):
        existing.setdefault(_rule_key(export_rule(rule)), []).append(rule)
    wanted = []
    for index, raw in enumerate(rules):
        kept = existing.get(_rule_key(raw))
        if kept:
            kept.pop()
        else:
            wanted.append((index, raw))
    for leftovers in existing.values():
        for rule in leftovers:
            ops.remove_rule(rule)
    for index, raw in wanted:
        place = f"{where}[{index}]"
        # Problems found while reading the record already name their place in the file.
        valid_from = parse_date(raw["valid_from"], f"{place}.valid_from")
        valid_until = parse_date(raw.get("valid_until"), f"{place}.valid_until")
        services = _services(raw.get("services", []), f"{place}.services")
        try:
            ops.add_rule(
                office, [WEEKDAYS.index(day) + 1 for day in raw["weekdays"]],
                parse_time(raw["start_time"]), parse_time(raw["end_time"]),
                valid_from, valid_until, repeat_weeks=raw.get("repeat_weeks", 1),
                seats=raw.get("seats") or {}, services=services)
        except ValidationError as exc:
            fail(path_of(place, exc.field), exc.message)


def _closure_key(closure) -> str:
    return json.dumps(closure, sort_keys=True)


def sync_closures(office: Office, closures: list, where: str):
    def exported(c):
        return {"start_date": c.start_date.isoformat(), "end_date": c.end_date.isoformat(),
                "start_time": c.start_time.strftime("%H:%M") if c.start_time else None,
                "end_time": c.end_time.strftime("%H:%M") if c.end_time else None,
                "reason": dict(c.reason)}
    existing = {}
    for closure in list(office.closures):
        existing.setdefault(_closure_key(exported(closure)), []).append(closure)
    wanted = []
    for index, raw in enumerate(closures):
        normal = {"start_date": raw["start_date"], "end_date": raw["end_date"],
                  "start_time": raw.get("start_time"), "end_time": raw.get("end_time"),
                  "reason": {k: v.strip() for k, v in raw["reason"].items() if v.strip()}}
        kept = existing.get(_closure_key(normal))
        if kept:
            kept.pop()
        else:
            wanted.append((index, raw))
    for leftovers in existing.values():
        for closure in leftovers:
            ops.remove_closure(closure)
    for index, raw in wanted:
        place = f"{where}[{index}]"
        start = parse_date(raw["start_date"], f"{place}.start_date")
        end = parse_date(raw["end_date"], f"{place}.end_date")
        try:
            ops.add_closure(office, start, end, raw["reason"],
                            parse_time(raw.get("start_time")), parse_time(raw.get("end_time")))
        except ValidationError as exc:
            fail(path_of(place, exc.field), exc.message)


def sync_counters(office: Office, counters: list, where: str):
    by_code = {counter.code: counter for counter in office.counters}
    for index, raw in enumerate(counters):
        place = f"{where}[{index}]"
        services = _services(raw.get("services", []), f"{place}.services")
        active = raw.get("active", True)
        counter = by_code.pop(raw["code"], None)
        try:
            if counter is None:
                ops.add_counter(office, raw["code"], raw["label"], services, active)
            else:
                ops.update_counter(counter, label=raw["label"], services=services,
                                   active=active)
        except ValidationError as exc:
            fail(path_of(place, exc.field), exc.message)
    for counter in by_code.values():
        if counter.active:
            ops.retire_counter(counter)
