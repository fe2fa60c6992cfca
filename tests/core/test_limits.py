"""Rate limits per IP address (``core/limits.py``) and their translated 429.

Test-only routes carry the decorators the booking pages and API will carry:
two API routes and a page share the booking budget, a third API route has
the look-up budget.
"""
from __future__ import annotations

import pytest
from flask import Blueprint, jsonify
from flask_babel import force_locale, ngettext
from redis import Redis
from redis.exceptions import RedisError

from citizen_desk.core import limits
from citizen_desk.core.access import permission, public
from citizen_desk.extensions import db
from citizen_desk.staff.models import Role, TokenPurpose
from tests.factories import create_office, create_token, create_user, sign_in_client

REDIS_TEST_URL = "redis://127.0.0.1:6379/15"

bp = Blueprint("limits_test", __name__)


@bp.get("/api/v1/test-limits/booking-a")
@permission(public)
@limits.booking
def booking_a():
    return jsonify(ok="a")


@bp.get("/api/v1/test-limits/booking-b")
@permission(public)
@limits.booking
def booking_b():
    return jsonify(ok="b")


@bp.get("/test-limits/booking-page")
@permission(public)
@limits.booking
def booking_page():
    return "<p>page</p>"


@bp.get("/api/v1/test-limits/lookup")
@permission(public)
@limits.lookup
def lookup():
    return jsonify(ok="lookup")


@pytest.fixture
def limited(make_app, monkeypatch):
    """Build an app with the test routes; limits on unless the environment says otherwise."""
    monkeypatch.delenv("RATELIMIT_ENABLED", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)

    def build(**config):
        app = make_app(**config)
        app.register_blueprint(bp)
        return app
    return build


def wait_message(app, seconds: int, language: str) -> str:
    """The 429 message for a wait of ``seconds``, in ``language``."""
    with app.test_request_context(), force_locale(language):
        return ngettext("You have sent too many requests in a short time. "
                        "Wait %(num)d second and try again.",
                        "You have sent too many requests in a short time. "
                        "Wait %(num)d seconds and try again.", seconds)


def hits(client, url, n, **kw):
    return [client.get(url, **kw).status_code for _ in range(n)]


def test_the_61st_booking_request_in_a_minute_gets_a_translated_json_429(limited):
    app = limited()
    client = app.test_client()
    urls = ["/api/v1/test-limits/booking-a", "/api/v1/test-limits/booking-b"]
    # One budget for every booking route: 30 + 30 requests use it up.
    statuses = [client.get(urls[n % 2]).status_code for n in range(60)]
    assert statuses == [200] * 60
    refused = client.get(urls[0])
    assert refused.status_code == 429
    assert refused.is_json
    error = refused.get_json()["error"]
    assert error["status"] == 429
    assert error["title"] == "Πάρα πολλά αιτήματα"
    assert 1 <= error["retry_after"] <= 60
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert error["message"] == wait_message(app, error["retry_after"], "el")
    # The other booking route is refused too, and so is the page.
    assert client.get(urls[1]).status_code == 429
    assert client.get("/test-limits/booking-page").status_code == 429


def test_the_429_speaks_english_when_asked(limited):
    client = limited(BOOKING_RATE_LIMIT="2 per minute").test_client()
    hits(client, "/api/v1/test-limits/booking-a", 2)
    refused = client.get("/api/v1/test-limits/booking-a?lang=en")
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["title"] == "Too many requests"
    assert error["message"] == (f"You have sent too many requests in a short time. "
                                f"Wait {error['retry_after']} seconds and try again.")


def test_the_429_page_is_a_translated_page_with_retry_after(limited):
    app = limited(BOOKING_RATE_LIMIT="2 per minute")
    client = app.test_client()
    assert hits(client, "/test-limits/booking-page", 2) == [200, 200]
    refused = client.get("/test-limits/booking-page")
    assert refused.status_code == 429
    assert refused.mimetype == "text/html"
    page = refused.get_data(as_text=True)
    assert "Πάρα πολλά αιτήματα" in page and "govgr-heading-xl" in page
    seconds = int(refused.headers["Retry-After"])
    assert wait_message(app, seconds, "el") in page or wait_message(app, seconds + 1, "el") in page
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    english = client.get("/test-limits/booking-page?lang=en").get_data(as_text=True)
    assert "Too many requests" in english and "Wait " in english


def test_a_long_wait_is_said_in_minutes(limited):
    client = limited(BOOKING_RATE_LIMIT="1 per hour").test_client()
    client.get("/test-limits/booking-page")
    page = client.get("/test-limits/booking-page?lang=en").get_data(as_text=True)
    assert "Wait 60 minutes and try again." in page


def test_each_address_has_its_own_budget(limited):
    client = limited(BOOKING_RATE_LIMIT="3 per minute").test_client()
    first = {"REMOTE_ADDR": "192.0.2.1"}
    second = {"REMOTE_ADDR": "192.0.2.2"}
    assert hits(client, "/api/v1/test-limits/booking-a", 4, environ_base=first) == [
        200, 200, 200, 429]
    assert hits(client, "/api/v1/test-limits/booking-a", 3, environ_base=second) == [200] * 3


def test_look_ups_have_their_own_smaller_budget(limited):
    client = limited().test_client()
    assert hits(client, "/api/v1/test-limits/lookup", 11) == [200] * 10 + [429]
    # The booking budget is untouched by the look-ups.
    assert client.get("/api/v1/test-limits/booking-a").status_code == 200


def test_limits_are_configurable_and_read_at_each_request(limited):
    app = limited(BOOKING_RATE_LIMIT="5 per minute", LOOKUP_RATE_LIMIT="2 per minute")
    client = app.test_client()
    assert hits(client, "/api/v1/test-limits/booking-a", 6) == [200] * 5 + [429]
    assert hits(client, "/api/v1/test-limits/lookup", 3) == [200, 200, 429]
    # Another limit string is another counter: a raised limit lets requests in again.
    app.config["LOOKUP_RATE_LIMIT"] = "4 per minute"
    assert hits(client, "/api/v1/test-limits/lookup", 5) == [200] * 4 + [429]


def test_the_defaults(limited):
    app = limited()
    assert app.config["BOOKING_RATE_LIMIT"] == "60 per minute"
    assert app.config["LOOKUP_RATE_LIMIT"] == "10 per minute"
    assert app.config["RATELIMIT_ENABLED"] is True


@pytest.mark.parametrize("value", ["false", "0", "off", "no", " False "])
def test_ratelimit_enabled_false_in_the_environment_switches_limits_off(
        limited, monkeypatch, value):
    monkeypatch.setenv("RATELIMIT_ENABLED", value)
    app = limited()
    assert app.config["RATELIMIT_ENABLED"] is False
    client = app.test_client()
    assert hits(client, "/api/v1/test-limits/lookup", 15) == [200] * 15


def test_ratelimit_enabled_true_in_the_environment_keeps_them_on(limited, monkeypatch):
    monkeypatch.setenv("RATELIMIT_ENABLED", "true")
    app = limited(LOOKUP_RATE_LIMIT="1 per minute")
    assert app.config["RATELIMIT_ENABLED"] is True
    assert hits(app.test_client(), "/api/v1/test-limits/lookup", 2) == [200, 429]


def test_staff_and_devices_are_not_counted(limited):
    app = limited(LOOKUP_RATE_LIMIT="2 per minute", WTF_CSRF_ENABLED=False)
    with app.app_context():
        office = create_office()
        _, kiosk = create_token(TokenPurpose.kiosk, office)
        clerk = create_user(role=Role.clerk, office=office)
        db.session.commit()
        kiosk_client = app.test_client()
        clerk_client = sign_in_client(app.test_client(), clerk)
    device = {"Authorization": f"Bearer {kiosk}"}
    assert hits(kiosk_client, "/api/v1/test-limits/lookup", 5, headers=device) == [200] * 5
    assert hits(clerk_client, "/test-limits/booking-page", 3) == [200] * 3
    # The anonymous visitor on the same address is still counted.
    assert hits(app.test_client(), "/api/v1/test-limits/lookup", 3) == [200, 200, 429]


@pytest.fixture
def redis_db():
    """Redis database 15, emptied before and after (nothing else of Redis is touched)."""
    redis = Redis.from_url(REDIS_TEST_URL)
    try:
        redis.ping()
    except RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    redis.flushdb()
    yield redis
    redis.flushdb()
    redis.close()


def test_counters_live_in_redis_when_redis_url_is_set(limited, monkeypatch, redis_db):
    monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)
    app = limited(BOOKING_RATE_LIMIT="4 per minute")
    assert app.config["RATELIMIT_STORAGE_URI"] == REDIS_TEST_URL
    client = app.test_client()
    assert hits(client, "/api/v1/test-limits/booking-a", 5) == [200] * 4 + [429]
    keys = [key.decode() for key in redis_db.keys("*")]
    assert len(keys) == 1 and "booking" in keys[0], keys
    assert int(redis_db.get(keys[0])) >= 4
    # Another process (a second worker or host) sees the same counter: here, an app
    # built anew finds the budget spent.
    again = limited(BOOKING_RATE_LIMIT="4 per minute").test_client()
    assert again.get("/api/v1/test-limits/booking-b").status_code == 429
    redis_db.flushdb()
    assert again.get("/api/v1/test-limits/booking-b").status_code == 200
