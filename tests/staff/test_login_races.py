"""Sign-in throttling under parallel requests, through a real gunicorn server.

An attacker does not wait for one guess to be answered before sending the
next: these tests release a burst of sign-ins at the same instant and check
that the per-account lockout and the per-address limit hold exactly.
"""
import shutil
import socket
import subprocess
import time

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from citizen_desk.core import uow
from citizen_desk.core.audit import AuditEntry
from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from citizen_desk.staff.models import Role, StaffUser
from tests.concurrency import OneEach, race, served_app, summary
from tests.factories import PASSWORD, create_office, create_user

GENERIC = "Το e-mail ή ο κωδικός δεν είναι σωστά"
EMAIL = "clerk@example.gr"


#: A cheap argon2id hash of PASSWORD, so that dozens of checks stay quick on a busy machine
#: (the checks are what races, not their cost).
CHEAP_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


@pytest.fixture
def clerk_id(app):
    def set_up():
        user = create_user(EMAIL, Role.clerk, create_office("ATH1"))
        user.password_hash = CHEAP_HASH
        return user.id
    with app.app_context():
        return uow.run(set_up)


def read_user(app, user_id):
    with app.app_context():
        user = db.session.get(StaffUser, user_id)
        locked = user.locked_until_dt is not None and user.locked_until_dt > utcnow()
        failures = user.failed_logins
        locks = db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "staff.locked"))
        logins = db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "staff.login"))
        db.session.remove()
        return locked, failures, locks, logins


def wrong(server, i):
    return server.request("POST", "/staff/login",
                          data={"email": EMAIL, "password": f"wrong-password-{i:04d}"})


def test_parallel_wrong_passwords_lock_the_account(app, database_url, clerk_id):
    """30 wrong passwords at once: the account is locked (once), then the right one is refused."""
    with served_app(database_url, workers=2, threads=8) as server:
        results = race(30, OneEach([wrong(server, i) for i in range(30)]))
        log = server.log()
        assert summary(results) == {200: 30}, (summary(results), log[-3000:])
        locked, failures, locks, _ = read_user(app, clerk_id)
        assert locked and locks == 1, (locked, failures, locks)
        answer = server.post("/staff/login", {"email": EMAIL, "password": PASSWORD})
    assert answer.status == 200 and GENERIC in answer.body, answer.status
    assert read_user(app, clerk_id)[3] == 0  # nobody signed in


def test_every_parallel_failure_is_counted(app, database_url, clerk_id):
    """Below the limit, each of N parallel failures is counted: none overwrites another."""
    with served_app(database_url, workers=2, threads=8, LOGIN_MAX_FAILURES=100) as server:
        results = race(24, OneEach([wrong(server, i) for i in range(24)]))
        log = server.log()
    assert summary(results) == {200: 24}, (summary(results), log[-3000:])
    locked, failures, locks, _ = read_user(app, clerk_id)
    assert (locked, failures, locks) == (False, 24, 0)


def test_right_password_in_a_burst_of_wrong_ones_never_passes_a_lock(app, database_url,
                                                                     clerk_id):
    """The right password sent among 30 wrong ones signs in only before the limit was reached."""
    with served_app(database_url, workers=2, threads=8) as server:
        requests = [wrong(server, i) for i in range(30)]
        requests.insert(15, server.request("POST", "/staff/login",
                                           data={"email": EMAIL, "password": PASSWORD}))
        results = race(31, OneEach(requests))
        log = server.log()
    outcome = summary(results)
    assert set(outcome) <= {200, 302}, (outcome, log[-3000:])
    locked, failures, locks, logins = read_user(app, clerk_id)
    assert locked and locks == 1
    assert logins == outcome.get(302, 0) <= 1


# -- the per-address limit ----------------------------------------------------------------------

@pytest.fixture
def redis_url():
    """A private Redis on a free loopback port, stopped after the test (skipped without one)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


LIMIT = 8


def burst_past_the_limit(app, database_url, clerk_id, workers, **config):
    """30 parallel wrong passwords from one address: only LIMIT reach the password check."""
    with served_app(database_url, workers=workers, threads=8, RATELIMIT_ENABLED=True,
                    LOGIN_RATE_LIMIT=f"{LIMIT} per 15 minutes", LOGIN_MAX_FAILURES=100,
                    **config) as server:
        results = race(30, OneEach([wrong(server, i) for i in range(30)]))
        log = server.log()
    outcome = summary(results)
    assert outcome == {200: LIMIT, 429: 30 - LIMIT}, (outcome, log[-3000:])
    # Each answer 200 went through the password check, and only those: the counter says so.
    assert read_user(app, clerk_id)[1] == LIMIT


def test_per_address_limit_holds_under_a_burst(app, database_url, clerk_id):
    """One worker (``memory://`` counts per process): the burst does not pass the limit."""
    burst_past_the_limit(app, database_url, clerk_id, workers=1)


def test_per_address_limit_holds_across_workers_with_redis(app, database_url, clerk_id,
                                                            redis_url):
    """Several workers share the counter through Redis (``REDIS_URL``)."""
    burst_past_the_limit(app, database_url, clerk_id, workers=2, REDIS_URL=redis_url)


def test_successful_sign_ins_give_their_hit_back(make_app, clerk_id):
    """The per-address limit counts failures: a whole office signing in from one address
    every morning does not use it up."""
    app = make_app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=True,
                   LOGIN_RATE_LIMIT="3 per minute")
    for _ in range(5):  # each in a fresh browser: a signed-in one is just redirected
        answer = app.test_client().post("/staff/login", data={"email": EMAIL,
                                                              "password": PASSWORD})
        assert answer.status_code == 302
    client = app.test_client()
    statuses = [client.post("/staff/login", data={"email": EMAIL, "password": "wrong-one-1234"})
                .status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
