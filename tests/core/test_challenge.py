"""Proof of work (``core/challenge.py``): solved in Python as the widget solves it.

A right solution verifies once; a wrong number, an expired or tampered
challenge, another key's challenge, a replay and garbage are refused.
"""
from __future__ import annotations

import base64
import json
import threading
import time
from datetime import timedelta
from pathlib import Path

import altcha
import jsonschema
import pytest
import yaml
from sqlalchemy import func, select

from citizen_desk.core import challenge, uow
from citizen_desk.core.db import utcnow
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def solve(data: dict) -> str:
    """The form field the widget would post for the challenge ``data``."""
    parsed = altcha.Challenge.from_dict(data)
    solution = altcha.solve_challenge(parsed, timeout=30)
    assert solution is not None
    return altcha.Payload(parsed, solution).to_base64()


def encode(document) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def decode(payload: str) -> dict:
    return json.loads(base64.b64decode(payload))


@pytest.fixture
def solved(app_ctx):
    """A fresh challenge of the default size and its solution."""
    return solve(challenge.new_challenge())


def used_count() -> int:
    return db.session.scalar(select(func.count()).select_from(challenge.UsedChallenge))


def test_a_challenge_is_signed_expires_and_hides_a_number_below_the_maximum(app_ctx):
    data = challenge.new_challenge()
    parameters = data["parameters"]
    assert parameters["algorithm"] == "SHA-256" and parameters["cost"] == 1
    assert len(data["signature"]) == 64
    minutes = (parameters["expiresAt"] - time.time()) / 60
    assert 19.9 < minutes <= 20
    found = altcha.solve_challenge(altcha.Challenge.from_dict(data))
    assert 0 <= found.counter < 50_000
    json.dumps(data)  # JSON-able as it is


def test_a_right_solution_verifies_once(app_ctx, solved):
    assert challenge.verify(solved) is True
    uow.commit()
    assert used_count() == 1
    assert challenge.verify(solved) is False  # replayed
    assert challenge.verify(solved) is False


def test_a_replay_within_the_same_transaction_is_refused(app_ctx, solved):
    assert challenge.verify(solved) is True
    assert challenge.verify(solved) is False


def test_a_solution_of_a_rolled_back_unit_may_be_sent_again(app_ctx, solved):
    assert challenge.verify(solved) is True
    db.session.rollback()  # the booking it came with failed: nothing was spent
    assert challenge.verify(solved) is True


def test_a_wrong_number_is_refused(app_ctx, solved):
    document = decode(solved)
    document["solution"]["counter"] += 1
    assert challenge.verify(encode(document)) is False
    document = decode(solved)
    document["solution"]["derivedKey"] = "00" * 32
    assert challenge.verify(encode(document)) is False
    assert used_count() == 0


def test_a_number_found_for_another_challenge_is_refused(app_ctx):
    first, second = challenge.new_challenge(), challenge.new_challenge()
    document = decode(solve(first))
    document["challenge"] = second
    assert challenge.verify(encode(document)) is False


def test_an_expired_challenge_is_refused(app_ctx, solved, monkeypatch):
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 19 * 60)
    with db.session.begin_nested() as nested:
        assert challenge.verify(solved) is True  # still valid at 19 minutes
        nested.rollback()
    monkeypatch.setattr(time, "time", lambda: real() + 20 * 60 + 1)
    assert challenge.verify(solved) is False
    assert used_count() == 0


def test_the_expiry_follows_the_configuration(app_ctx):
    app_ctx.config["ALTCHA_EXPIRE_MINUTES"] = 2
    parameters = challenge.new_challenge()["parameters"]
    assert 1.9 < (parameters["expiresAt"] - time.time()) / 60 <= 2


def test_a_tampered_challenge_is_refused(app_ctx, solved):
    document = decode(solved)
    signature = document["challenge"]["signature"]
    document["challenge"]["signature"] = ("1" if signature[0] != "1" else "2") + signature[1:]
    assert challenge.verify(encode(document)) is False
    # A later expiry (to dodge the expiry check) breaks the signature.
    document = decode(solved)
    document["challenge"]["parameters"]["expiresAt"] += 3600
    assert challenge.verify(encode(document)) is False
    # So does an easier prefix.
    document = decode(solved)
    document["challenge"]["parameters"]["keyPrefix"] = ""
    assert challenge.verify(encode(document)) is False
    # And an unsigned one.
    document = decode(solved)
    del document["challenge"]["signature"]
    assert challenge.verify(encode(document)) is False
    assert used_count() == 0


def test_a_challenge_signed_with_another_key_is_refused(make_app):
    other = make_app(SECRET_KEY="another-secret-key-that-is-long-enough-too")
    with other.app_context():
        foreign = solve(challenge.new_challenge())
    ours = make_app()
    with ours.app_context():
        assert challenge.verify(foreign) is False
        ours.config["ALTCHA_HMAC_KEY"] = "an explicit key for the challenges"
        own = solve(challenge.new_challenge())
        ours.config["ALTCHA_HMAC_KEY"] = None  # back to the one derived from SECRET_KEY
        assert challenge.verify(own) is False
        ours.config["ALTCHA_HMAC_KEY"] = "an explicit key for the challenges"
        assert challenge.verify(own) is True
        db.session.rollback()


def test_a_challenge_without_an_expiry_is_not_ours(app_ctx):
    unsigned_expiry = altcha.create_challenge("SHA-256", 1, counter=3,
                                              hmac_secret=challenge.hmac_key())
    assert challenge.verify(solve(unsigned_expiry.to_dict())) is False


@pytest.mark.parametrize("payload", [
    None, "", 42, "not base64 at all!", "e30=",  # {} in base64
    base64.b64encode(b"[1, 2]").decode(), base64.b64encode(b"\xff\xfe").decode(),
    encode({"challenge": {"parameters": {}}, "solution": {}}),
    encode({"challenge": {"parameters": {"algorithm": "SHA-256", "nonce": "zz", "salt": 1,
                                         "cost": "x", "expiresAt": "soon"},
                          "signature": "00"}, "solution": {"counter": -1, "derivedKey": []}}),
    "A" * 5000,
])
def test_garbage_is_refused_without_an_error(app_ctx, payload):
    assert challenge.verify(payload) is False


def test_check_raises_a_translated_error_on_the_altcha_field(app_ctx, solved):
    with pytest.raises(ValidationError) as refused:
        challenge.check(None)
    assert refused.value.field == "altcha"
    assert "ρομπότ" in str(refused.value.message)
    with pytest.raises(ValidationError) as refused:
        challenge.check("x", field="confirm")
    assert refused.value.field == "confirm"
    challenge.check(solved)  # no error
    with pytest.raises(ValidationError):
        challenge.check(solved)  # spent


def test_check_speaks_greek_and_english(app):
    with app.test_request_context("/?lang=en"):
        app.preprocess_request()
        english = str(challenge.INVALID_MESSAGE)
    assert english.startswith("Please confirm that you are not a robot")
    assert "JavaScript" in english


def test_required_for_reads_the_office_switch():
    class Office:
        proof_of_work = True
    assert challenge.required_for(Office()) is True
    Office.proof_of_work = False
    assert challenge.required_for(Office()) is False
    assert challenge.required_for(object()) is False


def test_spent_challenges_are_purged_once_expired(app_ctx, solved):
    db.session.add(challenge.UsedChallenge(signature="a" * 64,
                                           expires_dt=utcnow() - timedelta(minutes=5)))
    db.session.add(challenge.UsedChallenge(signature="b" * 64,
                                           expires_dt=utcnow() + timedelta(minutes=5)))
    uow.commit()
    assert challenge.verify(solved) is True
    uow.commit()  # the purge runs after the commit
    signatures = set(db.session.scalars(select(challenge.UsedChallenge.signature)))
    assert signatures == {"b" * 64, decode(solved)["challenge"]["signature"]}


def test_two_submits_of_one_solution_at_once_spend_it_once(app, app_ctx):
    payload = solve(challenge.new_challenge())
    db.session.remove()
    start = threading.Barrier(4)
    outcomes = []

    def submit():
        with app.app_context():
            start.wait()
            ok = challenge.verify(payload)
            uow.commit()
            outcomes.append(ok)
            db.session.remove()
    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == [False, False, False, True]


def test_the_route_hands_out_fresh_challenges_never_cached(app, client):
    first = client.get("/api/v1/challenge")
    assert first.status_code == 200 and first.is_json
    assert first.headers["Cache-Control"] == "no-store"
    second = client.get("/api/v1/challenge").get_json()
    data = first.get_json()
    assert set(data) == {"parameters", "signature"}
    assert data["signature"] != second["signature"]
    with app.app_context():
        assert challenge.verify(solve(data)) is True
        uow.commit()


def test_the_route_counts_against_the_booking_budget(make_app):
    app = make_app(RATELIMIT_ENABLED=True, BOOKING_RATE_LIMIT="2 per minute")
    client = app.test_client()
    statuses = [client.get("/api/v1/challenge").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    # The 429 is the documented error, its wait included.
    refused = client.get("/api/v1/challenge")
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    documented = spec["paths"]["/challenge"]["get"]["responses"]["429"]
    assert documented == {"$ref": "#/components/responses/TooManyRequests"}
    jsonschema.Draft202012Validator({"$ref": "#/components/schemas/Error",
                                     "components": spec["components"]}).validate(refused.json)
    assert set(refused.json["error"]) == {"status", "title", "message", "retry_after"}
    assert set(refused.json["error"]) <= set(
        spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"])
    # Flask-Limiter writes the header again a moment later: a second may have gone by.
    assert 0 <= refused.json["error"]["retry_after"] - int(refused.headers["Retry-After"]) <= 1


def test_the_macro_renders_the_widget_with_our_texts(app):
    with app.test_request_context("/?lang=en"):
        app.preprocess_request()
        template = app.jinja_env.get_template("core/_challenge.html")
        html = template.module.challenge_field(error="Something is wrong")
    assert '<altcha-widget challenge="/api/v1/challenge" name="altcha"' in html
    assert 'language="en"' in html and 'auto="onsubmit"' in html
    assert "I am not a robot" in html and "Something is wrong" in html
    assert "/static/vendor/altcha/altcha.min.js" in html
    assert "/static/js/challenge.js" in html
    assert "<noscript>" in html
    with app.test_request_context("/?lang=el"):
        app.preprocess_request()
        html = app.jinja_env.get_template("core/_challenge.html").module.challenge_field()
    assert 'language="el"' in html and "govgr-error-message" not in html
