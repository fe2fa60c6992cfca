"""Factory helpers for catalog tests: sensible defaults, override what a test cares about."""
from __future__ import annotations

import itertools
from datetime import date, time

from citizen_desk.catalog import operations as ops

_numbers = itertools.count(1)
_PREFIXES = [a + b for a in "ABCDEFGHJKLMNPRSTUVWXYZ" for b in ("",) + tuple("ABCDEFGH")]


def create_office(**kw):
    n = next(_numbers)
    code = kw.pop("code", f"OFF{n}")
    name = kw.pop("name", {"el": f"Γραφείο {n}", "en": f"Office {n}"})
    kw.setdefault("address", {"el": f"Οδός Αθηνάς {n}, Αθήνα", "en": f"{n} Athinas St, Athens"})
    return ops.create_office(code, name, **kw)


def create_service(**kw):
    n = next(_numbers)
    code = kw.pop("code", f"service-{n}")
    prefix = kw.pop("ticket_prefix", _PREFIXES[n % len(_PREFIXES)])
    name = kw.pop("name", {"el": f"Υπηρεσία αριθμός {n}", "en": f"Service number {n}"})
    if "offices" not in kw:
        kw["offices"] = [create_office()]
    return ops.create_service(code, prefix, name, **kw)


def add_rule(office, **kw):
    kw.setdefault("weekdays", [1, 2, 3, 4, 5])
    kw.setdefault("start_time", time(8))
    kw.setdefault("end_time", time(13))
    kw.setdefault("valid_from", date(2026, 1, 1))
    return ops.add_rule(office, **kw)


def minimal_document(**service_overrides) -> dict:
    """A small valid catalog file: one office, one service."""
    service = {"code": "family-status", "ticket_prefix": "A", "duration_minutes": 15,
               "offices": ["ATH1"],
               "translations": {"el": {"name": "Πιστοποιητικό οικογενειακής κατάστασης"},
                                "en": {"name": "Certificate of family status"}}}
    service.update(service_overrides)
    return {"format": "citizen-desk-catalog", "version": 1,
            "offices": [{"code": "ATH1", "name": {"el": "ΚΕΠ Αθηνών", "en": "KEP Athens"}}],
            "services": [service]}
