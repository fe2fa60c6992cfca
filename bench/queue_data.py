"""The walk-in queue under load: kiosks issuing tickets, ten clerks calling next.

``BENCHQ`` is an office open every day, all day, with one walk-in service
(prefix ``Q``), ten counters serving it, ten clerks with an integration
token each and four kiosk tokens. ``prepare(env)`` creates it in the
benchmark's database (a process of its own) and writes the tokens to the
file named by ``env["BENCH_QUEUE_FILE"]``; the scenarios' requests are built
from that file once it exists (``issue_requests`` / ``call_requests``).

The office has a past: ``HISTORY_DAYS`` days of ``HISTORY_PER_DAY`` served
tickets each (what three months of a busy KEP leave behind, and what a
query without the right index would read on every request).

While a scenario runs, a helper process keeps the queue at a realistic
length (``during``): for ``issue-ticket`` it takes the oldest tickets
beyond ``KEEP`` off the line (kiosks alone would grow it to thousands,
which no office has); for ``call-next`` it adds tickets so that about
``KEEP`` wait (the "refilled queue"). The helper stands for other clerks
and kiosks, but only the measured requests should cost the server: it
works in bulk, one or two statements per batch, with the office's own
numbering (no number is given twice) and without events (nobody watches
the benchmark's office). Every helper loop is bounded in time.
``check(env)`` then counts, in the database, the tickets called more than
once (``ticket.called`` events per ticket) and the numbers given twice:
both must be 0.

    python -m bench.queue_data prepare|refill|drain|check
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date, time as clock
from pathlib import Path

OFFICE = "BENCHQ"
SERVICE = "bench-queue-walk-in"
COUNTERS = 10
KIOSKS = 4
#: The waiting line the helper keeps during a scenario.
KEEP = 100
#: Tickets a helper adds or takes off per transaction: small, so that it holds the office's
#: numbering row only briefly (it competes with the measured requests).
BATCH = 10
#: The office's past: days of served tickets before today, and tickets a day.
HISTORY_DAYS = 60
HISTORY_PER_DAY = 400
#: The longest a helper runs, whatever happens to the benchmark.
HELPER_SECONDS = 300
ROOT = Path(__file__).resolve().parent.parent


def _file(env: dict) -> Path:
    if "BENCH_QUEUE_FILE" not in env:
        env["BENCH_QUEUE_FILE"] = str(Path(tempfile.mkdtemp(prefix="bench-queue-")) / "q.json")
    return Path(env["BENCH_QUEUE_FILE"])


def _secrets(env: dict) -> dict:
    return json.loads(_file(env).read_text())


def _app():
    from citizen_desk import create_app
    return create_app()


def seed() -> dict:
    """Create ``BENCHQ`` and its people; the tokens and counter ids (in a unit of work)."""
    from citizen_desk.catalog import operations as catalog_ops
    from citizen_desk.catalog.service_operations import create_service
    from citizen_desk.staff.models import AccessToken, Role, RoleAssignment, StaffUser, TokenPurpose
    from citizen_desk.extensions import db

    office = catalog_ops.create_office(OFFICE, {"el": "ΚΕΠ Δοκιμών Ουράς",
                                                "en": "Queue load test KEP"},
                                       holiday_country=None, min_notice_hours=0)
    catalog_ops.add_rule(office, weekdays=[1, 2, 3, 4, 5, 6, 7], start_time=clock(0),
                         end_time=clock(23, 45), valid_from=date(2026, 1, 1))
    service = create_service(SERVICE, "Q", {"el": "Εξυπηρέτηση χωρίς ραντεβού",
                                            "en": "Walk-in service"},
                             duration_minutes=15, offices=[office], walk_in=True)
    clerks = []
    for n in range(COUNTERS):
        counter = catalog_ops.add_counter(office, f"q{n + 1}", {"el": f"Θυρίδα {n + 1}"},
                                          [service])
        user = StaffUser(email=f"bench.clerk{n + 1}@example.gr",
                         display_name=f"Υπάλληλος {n + 1}")
        user.roles.append(RoleAssignment(role=Role.clerk, office_id=office.id))
        db.session.add(user)
        db.session.flush()
        token, secret = AccessToken.issue(f"Ουρά {n + 1}", TokenPurpose.integration,
                                          user_id=user.id)
        db.session.add(token)
        clerks.append({"counter": counter.id, "token": secret})
    kiosks = []
    for n in range(KIOSKS):
        token, secret = AccessToken.issue(f"Κιόσκι {n + 1}", TokenPurpose.kiosk,
                                          office_id=office.id)
        db.session.add(token)
        kiosks.append(secret)
    db.session.flush()
    _history(office.id, service.id, [clerk["counter"] for clerk in clerks])
    return {"office": OFFICE, "service": SERVICE, "clerks": clerks, "kiosks": kiosks}


def _history(office_id: int, service_id: int, counters: list[int]):
    """``HISTORY_DAYS`` past days of ``HISTORY_PER_DAY`` served tickets, in bulk."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import insert

    from citizen_desk.extensions import db
    from citizen_desk.queue.models import Ticket, TicketKind, TicketStatus, new_public_id
    today = datetime.now(timezone.utc).date()
    for back in range(HISTORY_DAYS, 0, -1):
        day = today - timedelta(days=back)
        opening = datetime.combine(day, clock(6), tzinfo=timezone.utc)
        rows = []
        for n in range(1, HISTORY_PER_DAY + 1):
            issued = opening + timedelta(seconds=60 * n)
            called = issued + timedelta(minutes=12)
            rows.append({"public_id": new_public_id(), "office_id": office_id,
                         "service_id": service_id, "counter_id": counters[n % len(counters)],
                         "number": f"Q{n:03d}", "prefix": "Q", "seq": n, "day": day,
                         "kind": TicketKind.walk_in, "language": "el", "needs": {},
                         "status": TicketStatus.done, "issued_dt": issued, "called_dt": called,
                         "serving_dt": called + timedelta(minutes=1),
                         "finished_dt": called + timedelta(minutes=9), "version": 1})
        db.session.execute(insert(Ticket), rows)


def prepare(env: dict):
    """The harness's hook: create ``BENCHQ`` in a process of its own; tokens to the file."""
    _file(env)
    subprocess.run([sys.executable, "-m", "bench.queue_data", "prepare"], cwd=ROOT, env=env,
                   check=True)


def issue_requests(env: dict) -> list[dict]:
    """Kiosk POSTs, each with a fresh ``Idempotency-Key`` (``{unique}``, filled per request)."""
    data = _secrets(env)
    return [{"method": "POST", "path": f"/api/v1/offices/{data['office']}/tickets",
             "headers": {"Authorization": f"Bearer {kiosk}", "Idempotency-Key": "{unique}"},
             "json": {"service": data["service"]}} for kiosk in data["kiosks"]]


def call_requests(env: dict) -> list[dict]:
    """Call-next of each of the ten clerks at their counters, in turn."""
    return [{"method": "POST", "path": f"/api/v1/counters/{clerk['counter']}/call-next",
             "headers": {"Authorization": f"Bearer {clerk['token']}"}}
            for clerk in _secrets(env)["clerks"]]


def _waiting(db, office_id) -> int:
    from sqlalchemy import func, select

    from citizen_desk.queue.models import Ticket, TicketStatus
    return db.session.scalar(select(func.count(Ticket.id)).where(
        Ticket.office_id == office_id, Ticket.status == TicketStatus.waiting))


def _loop(step, seconds: float):
    """Run ``step()`` in units of work until ``seconds`` pass (or the parent stops us)."""
    from sqlalchemy import select

    from citizen_desk.core import uow
    from citizen_desk.extensions import db
    from citizen_desk.offices.models import Office
    app = _app()
    deadline = time.monotonic() + min(seconds, HELPER_SECONDS)
    with app.app_context():
        office_id = db.session.scalar(select(Office.id).where(Office.code == OFFICE))
        db.session.remove()
        while time.monotonic() < deadline:
            done = uow.run(lambda: step(db, office_id))
            db.session.remove()
            if not done:
                time.sleep(0.2)


def refill_step(db, office_id) -> int:
    """Add tickets until ``KEEP`` wait, in bulk; how many were added."""
    from datetime import datetime, timezone

    from sqlalchemy import insert, select

    from citizen_desk.catalog.models import Service
    from citizen_desk.offices.models import Office
    from citizen_desk.queue import operations as ops
    from citizen_desk.queue.models import Ticket, TicketKind, TicketStatus, new_public_id
    missing = min(KEEP - _waiting(db, office_id), BATCH)
    if missing <= 0:
        return 0
    office = db.session.get(Office, office_id)
    service = db.session.scalar(select(Service).where(Service.code == SERVICE))
    now = datetime.now(timezone.utc)
    day = office.today()
    # The office's own numbering, one number per ticket (no gap, no repeat).
    seqs = [ops._next_seq(office_id, service.ticket_prefix, day) for _ in range(missing)]
    db.session.execute(insert(Ticket), [
        {"public_id": new_public_id(), "office_id": office_id, "service_id": service.id,
         "number": ops.format_number(service.ticket_prefix, seq), "prefix":
         service.ticket_prefix, "seq": seq, "day": day, "kind": TicketKind.walk_in,
         "language": "el", "needs": {}, "status": TicketStatus.waiting, "issued_dt": now,
         "version": 1} for seq in seqs])
    return missing


def drain_step(db, office_id) -> int:
    """Take the oldest tickets beyond ``KEEP`` waiting off the line, in one UPDATE; how many."""
    from sqlalchemy import select, update

    from citizen_desk.queue.models import Ticket, TicketStatus
    extra = _waiting(db, office_id) - KEEP
    if extra <= 0:
        return 0
    oldest = select(Ticket.id).where(
        Ticket.office_id == office_id, Ticket.status == TicketStatus.waiting
    ).order_by(Ticket.id).limit(min(extra, BATCH * 5)).scalar_subquery()
    result = db.session.execute(
        update(Ticket).where(Ticket.id.in_(oldest), Ticket.status == TicketStatus.waiting)
        .values(status=TicketStatus.cancelled, version=Ticket.version + 1)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


@contextmanager
def helper(env: dict, mode: str):
    """Run ``refill`` or ``drain`` in a process of its own for the block's duration."""
    process = subprocess.Popen([sys.executable, "-m", "bench.queue_data", mode], cwd=ROOT,
                               env=env)
    try:
        time.sleep(1.0)  # the first fill before the load starts
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def refilled(env):
    return helper(env, "refill")


def drained(env):
    return helper(env, "drain")


def counts() -> dict:
    """Tickets called more than once and numbers given twice at ``BENCHQ`` (both must be 0)."""
    from sqlalchemy import func, select

    from citizen_desk.core.events import Event
    from citizen_desk.extensions import db
    from citizen_desk.offices.models import Office
    from citizen_desk.queue.models import Ticket, TicketStatus
    office_id = db.session.scalar(select(Office.id).where(Office.code == OFFICE))
    twice_called = db.session.scalar(select(func.count()).select_from(
        select(Event.subject).where(Event.office_id == office_id, Event.kind == "ticket.called")
        .group_by(Event.subject).having(func.count(Event.id) > 1).subquery()))
    twice_numbered = db.session.scalar(select(func.count()).select_from(
        select(Ticket.number).where(Ticket.office_id == office_id)
        .group_by(Ticket.day, Ticket.number).having(func.count(Ticket.id) > 1).subquery()))
    called = db.session.scalar(select(func.count(Ticket.id)).where(
        Ticket.office_id == office_id, Ticket.called_dt.is_not(None)))
    issued = db.session.scalar(select(func.count(Ticket.id)).where(Ticket.office_id == office_id))
    waiting = db.session.scalar(select(func.count(Ticket.id)).where(
        Ticket.office_id == office_id, Ticket.status == TicketStatus.waiting))
    return {"duplicate_calls": twice_called, "duplicate_numbers": twice_numbered,
            "tickets_issued": issued, "tickets_called": called, "waiting": waiting}


def check(env: dict) -> dict:
    """The harness's hook after a scenario: ``counts()`` from a process of its own."""
    out = subprocess.run([sys.executable, "-m", "bench.queue_data", "check"], cwd=ROOT,
                         env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    from sqlalchemy import text

    from citizen_desk.core import uow
    from citizen_desk.extensions import db
    mode = sys.argv[1] if len(sys.argv) > 1 else "prepare"
    if mode == "prepare":
        with _app().app_context():
            data = uow.run(seed)
            # Fresh statistics after the bulk history, as autovacuum would gather soon after.
            with db.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        Path(os.environ["BENCH_QUEUE_FILE"]).write_text(json.dumps(data))
        print(f"{OFFICE}: {COUNTERS} counters and clerks, {KIOSKS} kiosks", file=sys.stderr)
    elif mode == "refill":
        _loop(refill_step, HELPER_SECONDS)
    elif mode == "drain":
        _loop(drain_step, HELPER_SECONDS)
    elif mode == "check":
        with _app().app_context():
            print(json.dumps(counts()))
            db.session.remove()
    else:
        sys.exit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
