"""The unit of work (``core/uow.py``) through real requests and as a command.

A small blueprint of test views, registered on the test's own app, changes
rows and then returns, raises, aborts or loses a race on purpose. What
happened is read back over a separate connection to the database, as
another worker would see it, and every after-commit effect is recorded with
what that connection saw when the effect ran.
"""
from __future__ import annotations

import threading

import pytest
from flask import Blueprint, abort, g, jsonify
from psycopg.errors import DeadlockDetected, SerializationFailure
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from citizen_desk.core import uow
from citizen_desk.core.access import permission, public
from citizen_desk.core.db import write_intent
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from citizen_desk.staff.models import Organisation

ATTEMPTS = 3  # UNIT_OF_WORK_ATTEMPTS of the test app


def lost_race(error=SerializationFailure):
    """The error SQLAlchemy raises when PostgreSQL aborts a transaction that lost a race."""
    return OperationalError("INSERT …", {}, error("could not serialize access"))


@pytest.fixture
def other_connection(database_url):
    """Reads the database as another worker would: a new connection for every read."""
    engine = create_engine(database_url, poolclass=NullPool)

    def committed() -> list[str]:
        with engine.connect() as conn:
            return sorted(conn.scalars(text("SELECT name FROM organisation")))
    yield committed
    engine.dispose()


class Probe:
    """What the test views did: attempts per request, effects run (with what was committed)."""

    def __init__(self, committed):
        self.committed = committed
        self.effects: list[tuple[str, list[str]]] = []
        self.attempts: list[str] = []

    def effect(self, label: str):
        def run():
            self.effects.append((label, self.committed()))
        return run

    def attempt(self) -> int:
        g.attempts = g.get("attempts", 0) + 1
        return g.attempts


def add(name: str) -> Organisation:
    organisation = Organisation(name=name)
    db.session.add(organisation)
    db.session.flush()
    return organisation


@pytest.fixture
def probe(app, other_connection):
    """Register the test views on this test's app (a new app per test: nothing leaks)."""
    app.config["UNIT_OF_WORK_ATTEMPTS"] = ATTEMPTS
    app.config["PROPAGATE_EXCEPTIONS"] = False  # an unexpected exception is a 500 page
    probe = Probe(other_connection)
    bp = Blueprint("uow_test", __name__, url_prefix="/api/test-uow")

    @bp.post("/organisations/<name>")
    @permission(public)
    def create(name):
        add(name)
        uow.after_commit(probe.effect(name))
        return jsonify(name=name), 201

    @bp.post("/fail/<how>/<name>")
    @permission(public)
    def fail(how, name):
        add(name)
        uow.after_commit(probe.effect(name))
        if how == "exception":
            raise RuntimeError("the view failed")
        if how == "abort":
            abort(404)
        raise ValidationError({"name": "This name is refused."})

    @bp.post("/savepoint/<kept>/<dropped>")
    @permission(public)
    def savepoint(kept, dropped):
        add(kept)
        uow.after_commit(probe.effect(kept))
        try:
            with uow.savepoint():
                add(dropped)
                uow.after_commit(probe.effect(dropped))
                raise ValidationError({"name": "Refused inside the savepoint."})
        except ValidationError:
            pass
        uow.after_commit(probe.effect(kept + " again"))
        return jsonify(kept=kept)

    @bp.post("/lose-once/<error>/<name>")
    @permission(public)
    def lose_once(error, name):
        attempt = probe.attempt()
        probe.attempts.append(name)
        add(name)
        uow.after_commit(probe.effect(name))
        if attempt == 1:
            raise lost_race(DeadlockDetected if error == "deadlock" else SerializationFailure)
        return jsonify(attempt=attempt)

    @bp.post("/always-lose/<name>")
    @permission(public)
    def always_lose(name):
        probe.attempts.append(name)
        add(name)
        uow.after_commit(probe.effect(name))
        raise lost_race()

    @bp.post("/together/<name>")
    @permission(public)
    def together(name):
        probe.barrier.wait()
        add(name)
        return jsonify(name=name), 201

    app.register_blueprint(bp)
    return probe


# -- requests ----------------------------------------------------------------------------------

def test_a_request_that_returns_commits_then_runs_its_effect(client, probe):
    response = client.post("/api/test-uow/organisations/Alpha")
    assert response.status_code == 201
    assert probe.committed() == ["Alpha"]
    # The effect ran after the commit: another connection already saw the row.
    assert probe.effects == [("Alpha", ["Alpha"])]


@pytest.mark.parametrize("how, status", [("exception", 500), ("abort", 404), ("invalid", 422)])
def test_a_request_that_fails_leaves_nothing_and_runs_no_effect(client, probe, how, status):
    response = client.post(f"/api/test-uow/fail/{how}/Beta")
    assert response.status_code == status
    if how != "exception":
        assert response.json["error"]["status"] == status
    if how == "invalid":
        assert response.json["errors"] == {"name": "This name is refused."}
    assert probe.committed() == []
    assert probe.effects == []
    # The next request starts clean: nothing of the failed one is committed with it.
    assert client.post("/api/test-uow/organisations/Gamma").status_code == 201
    assert probe.committed() == ["Gamma"]
    assert probe.effects == [("Gamma", ["Gamma"])]


def test_a_savepoint_that_failed_drops_its_rows_and_effects_only(client, probe):
    response = client.post("/api/test-uow/savepoint/Kept/Dropped")
    assert response.status_code == 200
    assert probe.committed() == ["Kept"]
    assert probe.effects == [("Kept", ["Kept"]), ("Kept again", ["Kept"])]


@pytest.mark.parametrize("error", ["serialization", "deadlock"])
def test_a_request_that_lost_a_race_runs_again_and_its_effect_once(client, probe, error):
    response = client.post(f"/api/test-uow/lose-once/{error}/Delta")
    assert response.status_code == 200 and response.json == {"attempt": 2}
    assert probe.attempts == ["Delta", "Delta"]
    assert probe.committed() == ["Delta"]
    assert probe.effects == [("Delta", ["Delta"])]


def test_a_request_that_always_loses_gives_up_with_503(client, probe):
    response = client.post("/api/test-uow/always-lose/Epsilon")
    assert response.status_code == 503
    assert response.json["error"]["status"] == 503
    assert probe.attempts == ["Epsilon"] * ATTEMPTS
    assert probe.committed() == [] and probe.effects == []


def test_creating_the_same_name_twice_is_a_409(client, probe):
    assert client.post("/api/test-uow/organisations/Zeta").status_code == 201
    response = client.post("/api/test-uow/organisations/Zeta")
    assert response.status_code == 409 and response.json["error"]["status"] == 409
    assert probe.committed() == ["Zeta"]
    assert probe.effects == [("Zeta", ["Zeta"])]


def test_two_requests_creating_the_same_name_together_give_one_201_and_one_409(app, probe):
    probe.barrier = threading.Barrier(2, timeout=10)
    statuses = []

    def request():
        statuses.append(app.test_client().post("/api/test-uow/together/Eta").status_code)

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [201, 409]
    assert probe.committed() == ["Eta"]


# -- a real race in the database ---------------------------------------------------------------

def test_a_unit_that_really_lost_a_race_is_run_again_with_its_effects_once(app, dialect, probe):
    """Two units read the same rows, then both write: the database refuses one of them.

    PostgreSQL: both at SERIALIZABLE, a write skew (serialisation failure,
    40001). SQLite: both in deferred transactions that read, then write (the
    second cannot upgrade its read snapshot: "database is locked").
    """
    app.config["UNIT_OF_WORK_ATTEMPTS"] = 5  # on SQLite the loser may lose again while
    barrier = threading.Barrier(2, timeout=10)  # the winner has not committed yet
    attempts, results = [], {}

    def unit(who):
        attempt = sum(1 for w in attempts if w == who) + 1
        attempts.append(who)
        if dialect == "postgresql":
            db.session.execute(text("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"))
        seen = db.session.scalar(select(func.count()).select_from(Organisation)
                                 .where(Organisation.name.like("race-%")))
        if attempt == 1:
            barrier.wait()  # both have read before either writes
        add(f"race-{who}-saw-{seen}")
        uow.after_commit(probe.effect(who))
        return seen

    def worker(who):
        with app.app_context(), write_intent(dialect == "postgresql"):
            try:
                results[who] = uow.run(lambda: unit(who))
            except Exception as exc:  # reported by the assertions below
                results[who] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(who,)) for who in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results.values(), key=repr) == [0, 1], results
    winner, loser = ("b", "a") if results["a"] == 1 else ("a", "b")
    assert attempts.count(winner) == 1 and 2 <= attempts.count(loser) <= 5, attempts
    assert sorted(label for label, _ in probe.effects) == ["a", "b"]
    assert len(probe.committed()) == 2


# -- commands and jobs -------------------------------------------------------------------------

def test_a_command_unit_commits_returns_and_runs_its_effects(app, probe):
    with app.app_context():
        def work():
            uow.after_commit(probe.effect("Theta"))
            return add("Theta").name
        assert uow.run(work) == "Theta"
        assert probe.effects == [("Theta", ["Theta"])]
        assert uow.pending_effects() == 0

        @uow.transactional
        def command(name):
            add(name)
            uow.after_commit(probe.effect(name))
        command("Iota")
        assert probe.committed() == ["Iota", "Theta"]
        assert probe.effects[1:] == [("Iota", ["Iota", "Theta"])]


def test_a_command_unit_that_fails_leaves_nothing_and_runs_no_effect(app, probe):
    with app.app_context():
        def work():
            add("Kappa")
            uow.after_commit(probe.effect("Kappa"))
            raise ValidationError({"name": "refused"})
        with pytest.raises(ValidationError):
            uow.run(work)
        assert probe.committed() == [] and probe.effects == []
        uow.run(lambda: add("Lambda"))
        assert probe.effects == []  # the failed unit's effect does not run with the next one


def test_an_effect_registered_before_any_query_runs_once_after_a_retry(app, probe):
    with app.app_context():
        attempts = []

        def work():
            attempts.append(1)
            uow.after_commit(probe.effect("Mu"))
            if len(attempts) == 1:
                raise lost_race()  # before the unit touched the database
            add("Mu")
        uow.run(work)
        assert len(attempts) == 2
        assert probe.effects == [("Mu", ["Mu"])]


def test_an_effect_of_a_failed_unit_that_never_queried_does_not_run_later(app, probe):
    with app.app_context():
        def work():
            uow.after_commit(probe.effect("Nu"))
            raise ValidationError({"name": "refused"})
        with pytest.raises(ValidationError):
            uow.run(work)
        uow.run(lambda: add("Xi"))
        assert probe.effects == []


def test_a_failing_effect_does_not_undo_the_commit_nor_stop_the_others(app, probe, caplog):
    with app.app_context():
        def broken():
            raise RuntimeError("mail server down")

        def work():
            add("Omicron")
            uow.after_commit(broken)
            uow.after_commit(probe.effect("Omicron"))
        uow.run(work)
        assert probe.committed() == ["Omicron"]
        assert probe.effects == [("Omicron", ["Omicron"])]
        assert "after-commit effect" in caplog.text
