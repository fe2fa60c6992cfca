"""A busy office for the availability benchmark: 60 days of free times to compute.

``BENCHAV`` opens like a real ΚΕΠ: weekday mornings with four public seats,
early afternoons with two, a late Wednesday, a Saturday morning every other
week for one service only (its own lane), a whole-day closure, a two-day
closure and a closed morning in the window, and the Greek public holidays
(Christmas, New Year, Epiphany fall in a window that starts in late
November). About a third of its public seats are booked — 15- and
30-minute services, so some bookings take two consecutive slots — some are
held, some were cancelled and wait out the release delay.

``prepare(env)`` (the harness's hook) imports the office through the
catalog file format and books through the booking operations, in a process
of its own against the benchmark's database. ``paths()`` are the requests:
each service's availability for the 60 days from tomorrow, the same few
windows over and over as many citizens ask for them; ``distinct_paths()``
1,600 different windows, each computed.
"""
from __future__ import annotations

import random
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

OFFICE = "BENCHAV"
#: (code, minutes): the services whose availability is asked for.
SERVICES = (("bench-av-family-status", 15), ("bench-av-amka", 30))
SATURDAY_ONLY = "bench-av-family-status"
WINDOW_DAYS = 60
ZONE = ZoneInfo("Europe/Athens")


def window(today: date | None = None) -> tuple[date, date]:
    """The 60 days from tomorrow (local date at the office)."""
    today = today or datetime.now(timezone.utc).astimezone(ZONE).date()
    first = today + timedelta(days=1)
    return first, first + timedelta(days=WINDOW_DAYS - 1)


def paths(today: date | None = None) -> list[str]:
    first, last = window(today)
    return [f"/api/v1/offices/{OFFICE}/services/{code}/availability"
            f"?from={first.isoformat()}&to={last.isoformat()}" for code, _ in SERVICES]


def distinct_paths(today: date | None = None) -> list[str]:
    """1,600 different windows of 41 to 60 days (more than a process keeps answers for)."""
    first, _ = window(today)
    result = []
    for shift in range(40):
        for extra in range(20):
            start = first + timedelta(days=shift)
            end = start + timedelta(days=40 + extra)
            for code, _ in SERVICES:
                result.append(f"/api/v1/offices/{OFFICE}/services/{code}/availability"
                              f"?from={start.isoformat()}&to={end.isoformat()}")
    random.Random(3).shuffle(result)
    return result


def _weekday_after(day: date, iso_weekday: int) -> date:
    return day + timedelta(days=(iso_weekday - day.isoweekday()) % 7)


def document(today: date | None = None) -> dict:
    """The office and its two services as a catalog file."""
    first, _ = window(today)
    closed_day = _weekday_after(first + timedelta(days=9), 2)       # a Tuesday
    upgrade = _weekday_after(first + timedelta(days=38), 4)        # Thursday and Friday
    training = _weekday_after(first + timedelta(days=20), 1)       # a Monday morning
    rule = {"valid_from": "2026-01-01", "valid_until": None, "repeat_weeks": 1,
            "services": []}
    office = {
        "code": OFFICE, "name": {"el": "ΚΕΠ Δοκιμών Φόρτου", "en": "Load test KEP"},
        "address": {"el": "Πατησίων 100, Αθήνα", "en": "100 Patision St, Athens"},
        "timezone": "Europe/Athens", "min_notice_hours": 12, "max_days_ahead": 120,
        "slot_minutes": 15, "holiday_country": "GR",
        "opening_rules": [
            rule | {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start_time": "08:00",
                    "end_time": "13:00", "seats": {"public": 4, "staff": 1, "ngo": 1}},
            rule | {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start_time": "13:00",
                    "end_time": "15:00", "seats": {"public": 2, "staff": 1, "ngo": 0}},
            rule | {"weekdays": ["wed"], "start_time": "17:00", "end_time": "20:00",
                    "seats": {"public": 2, "staff": 0, "ngo": 1}},
            rule | {"weekdays": ["sat"], "start_time": "09:00", "end_time": "13:00",
                    "valid_from": _weekday_after(first, 6).isoformat(), "repeat_weeks": 2,
                    "seats": {"public": 2, "staff": 0, "ngo": 0},
                    "services": [SATURDAY_ONLY]},
        ],
        "closures": [
            {"start_date": closed_day.isoformat(), "end_date": closed_day.isoformat(),
             "start_time": None, "end_time": None,
             "reason": {"el": "Απολύμανση του κτιρίου.", "en": "Building disinfection."}},
            {"start_date": upgrade.isoformat(),
             "end_date": (upgrade + timedelta(days=1)).isoformat(),
             "start_time": None, "end_time": None,
             "reason": {"el": "Αναβάθμιση του πληροφοριακού συστήματος.",
                        "en": "Computer system upgrade."}},
            {"start_date": training.isoformat(), "end_date": training.isoformat(),
             "start_time": "08:00", "end_time": "10:30",
             "reason": {"el": "Εκπαίδευση προσωπικού.", "en": "Staff training."}},
        ],
    }
    names = {"bench-av-family-status": ("Πιστοποιητικό οικογενειακής κατάστασης",
                                        "Certificate of family status"),
             "bench-av-amka": ("Έκδοση ΑΜΚΑ", "Social security number (AMKA)")}
    services = [{"code": code, "ticket_prefix": "VW"[n], "duration_minutes": minutes,
                 "bookable_online": True, "offices": [OFFICE],
                 "translations": {"el": {"name": names[code][0]},
                                  "en": {"name": names[code][1]}}}
                for n, (code, minutes) in enumerate(SERVICES)]
    return {"format": "citizen-desk-catalog", "version": 1, "offices": [office],
            "services": services}


def seed(today: date | None = None, rng_seed: int = 11) -> dict:
    """Import the office and book about a third of its public seats; the counts."""
    from sqlalchemy import select

    from citizen_desk.booking import availability, operations as ops
    from citizen_desk.catalog.models import Service
    from citizen_desk.catalog.transfer.importer import import_catalog
    from citizen_desk.core.validation import ValidationError
    from citizen_desk.extensions import db
    from citizen_desk.offices.models import Office

    rng = random.Random(rng_seed)
    import_catalog(document(today))
    office = availability.load_office(
        db.session.scalar(select(Office.id).where(Office.code == OFFICE)))
    services = [db.session.scalar(select(Service).where(Service.code == code))
                for code, _ in SERVICES]
    first, last = window(today)
    counts = {"booked": 0, "held": 0, "cancelled": 0}
    booked = []
    n = 0

    def details(number):
        return {"name": f"Πολίτης Δοκιμής {number}", "email": f"load{number}@example.gr",
                "phone": None, "language": "el", "identifiers": {}, "needs": {}}

    for slot in availability.free_slots(office, services[0], first, last):
        # Some slots stay empty, most get one or two, one in eight is full.
        wanted = rng.choice([0, 0, 1, 1, 1, 2, 2, slot.free])
        for _ in range(min(wanted, slot.free)):
            service = services[0] if rng.random() < 0.75 else services[1]
            n += 1
            try:
                result = ops.book(office, service, slot.start, details(n),
                                  citizen_keys=[f"email:load{n}@example.gr"])
            except (ops.SlotTaken, ValidationError):
                continue  # a 30-minute booking whose second slot is full or closed
            booked.append(result.appointment)
            counts["booked"] += 1
    for slot in rng.sample(availability.free_slots(office, services[0], first, last), 40):
        ops.hold(office, services[0], slot.start, ops.new_hold_key())
        counts["held"] += 1
    for appointment in rng.sample(booked, 30):
        ops.cancel(appointment, reason="Δεν μπορώ να έρθω.")
        counts["cancelled"] += 1
    return counts


def prepare(env: dict):
    """The harness's hook: seed ``BENCHAV`` in the benchmark's database (a process of its own)."""
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "bench.booking_data"], cwd=root, env=env, check=True)


def main():
    from citizen_desk import create_app
    from citizen_desk.core import uow

    # Holds outlast the benchmark's run; cancelled seats wait out the usual delay.
    app = create_app({"BOOKING_HOLD_MINUTES": 240})
    with app.app_context():
        counts = uow.run(seed)
    print(f"{OFFICE}: {counts['booked']} bookings, {counts['held']} holds, "
          f"{counts['cancelled']} cancelled", file=sys.stderr)


if __name__ == "__main__":
    main()
