"""Factories that fill in sensible defaults: override only what a test cares about."""
from __future__ import annotations

import itertools
import time
from datetime import date, datetime, timezone
from datetime import time as clock

from citizen_desk.catalog import operations as ops
from citizen_desk.catalog import service_operations as service_ops
from citizen_desk.offices.models import Office
from citizen_desk.extensions import db
from citizen_desk.staff.models import (AccessToken, Organisation, Role, RoleAssignment,
                                       StaffUser, TokenPurpose)
from citizen_desk.staff.passwords import hash_password

PASSWORD = "correct-horse-battery-staple-42"
_counter = itertools.count(1)
_PREFIXES = [a + b for a in "ABCDEFGHJKLMNPRSTUVWXYZ" for b in ("",) + tuple("ABCDEFGH")]
_password_hash = None


def daytime_zone(now: datetime | None = None) -> str:
    """A fixed-offset time zone where it is now about noon.

    An office of a queue test uses it: walk-in hours of 00:00-23:45 are then open
    whenever the suite runs, and the office's day cannot end in the middle of a test
    (a ticket of yesterday is never called), whatever the hour in Athens.
    """
    hour = (now or datetime.now(timezone.utc)).hour
    offset = (12 - hour + 10) % 24 - 10                  # UTC+offset is about 12:00; -10..13
    # POSIX signs: Etc/GMT-3 is three hours ahead of UTC.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def create_office(code: str | None = None, **kw) -> Office:
    n = next(_counter)
    code = code or f"OFF{n}"
    name = kw.pop("name", {"el": f"Γραφείο {n}", "en": f"Office {n}"})
    kw.setdefault("address", {"el": f"Οδός Αθηνάς {n}, Αθήνα", "en": f"{n} Athinas St, Athens"})
    return ops.create_office(code, name, **kw)


def create_service(**kw):
    n = next(_counter)
    code = kw.pop("code", f"service-{n}")
    prefix = kw.pop("ticket_prefix", _PREFIXES[n % len(_PREFIXES)])
    name = kw.pop("name", {"el": f"Υπηρεσία αριθμός {n}", "en": f"Service number {n}"})
    if "offices" not in kw:
        kw["offices"] = [create_office()]
    return service_ops.create_service(code, prefix, name, **kw)


def add_rule(office, **kw):
    kw.setdefault("weekdays", [1, 2, 3, 4, 5])
    kw.setdefault("start_time", clock(8))
    kw.setdefault("end_time", clock(13))
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


def create_organisation(name: str | None = None, **kw) -> Organisation:
    organisation = Organisation(name=name or f"Οργάνωση {next(_counter)}", **kw)
    db.session.add(organisation)
    db.session.flush()
    return organisation


def create_user(email: str | None = None, role: Role | None = Role.clerk,
                office: Office | None = None, organisation: Organisation | None = None,
                password: str | None = PASSWORD, **kw) -> StaffUser:
    """A staff user with one role; the (slow) argon2 hash of PASSWORD is computed once."""
    global _password_hash
    if password == PASSWORD:
        _password_hash = _password_hash or hash_password(PASSWORD)
        password_hash = _password_hash
    else:
        password_hash = hash_password(password) if password else None
    user = StaffUser(email=email or f"user{next(_counter)}@example.gr",
                     display_name=kw.pop("display_name", "Δοκιμαστικός Χρήστης"),
                     password_hash=password_hash,
                     organisation_id=organisation.id if organisation else None, **kw)
    if role is not None:
        user.roles.append(RoleAssignment(role=role, office_id=office.id if office else None))
    db.session.add(user)
    db.session.flush()
    return user


def create_token(purpose: TokenPurpose = TokenPurpose.display, office: Office | None = None,
                 user: StaffUser | None = None, name: str = "Οθόνη") -> tuple[AccessToken, str]:
    token, secret = AccessToken.issue(name, purpose, office_id=office.id if office else None,
                                      user_id=user.id if user else None)
    db.session.add(token)
    db.session.flush()
    return token, secret


def sign_in_client(client, user: StaffUser):
    """Put ``user``'s session in ``client`` without the (slow) sign-in form."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        session["seen"] = int(time.time())
    return client
