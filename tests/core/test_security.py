"""Security headers and cookie settings on every response."""
import pytest

from citizen_desk import create_app


def test_security_headers_on_pages_and_api(client):
    for path in ("/", "/api/v1/health", "/staff/login", "/missing"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'",
                          "frame-ancestors 'none'", "script-src 'self'"):
            assert directive in csp, (path, directive)
        assert "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in headers  # plain HTTP here


def test_hsts_over_https(client):
    response = client.get("/", base_url="https://localhost")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_no_hsts_for_a_forwarded_proto_that_no_trusted_proxy_sent(client):
    """PROXY_COUNT=0: a client's own ``X-Forwarded-Proto: https`` does not make HTTP secure."""
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("forwarded, hsts", [("https", True), ("http", False), (None, False),
                                             ("https, http", False)])
def test_hsts_behind_a_trusted_proxy(make_app, forwarded, hsts):
    """PROXY_COUNT=1: the proxy's (last) ``X-Forwarded-Proto`` says whether it was HTTPS."""
    client = make_app(PROXY_COUNT=1).test_client()
    headers = {"X-Forwarded-For": "203.0.113.9"}
    if forwarded:
        headers["X-Forwarded-Proto"] = forwarded
    response = client.get("/", headers=headers)
    assert ("Strict-Transport-Security" in response.headers) is hsts


def test_force_https_is_not_fooled_by_a_forwarded_proto(make_app):
    client = make_app(FORCE_HTTPS=True).test_client()
    response = client.get("/services", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://localhost/services")
    assert client.get("/", base_url="https://localhost").status_code == 200
    behind_proxy = make_app(FORCE_HTTPS=True, PROXY_COUNT=1).test_client()
    assert behind_proxy.get("/", headers={"X-Forwarded-Proto": "https"}).status_code == 200


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    monkeypatch.setenv("CITIZEN_DESK_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/p.sqlite")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.permanent_session_lifetime.total_seconds() <= 8 * 3600


def test_session_cookie_flags(client):
    response = client.get("/?lang=en")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_no_state_changes_through_get(app, method):
    """Every route that changes state refuses GET (checked by listing the rules)."""
    changing = [rule for rule in app.url_map.iter_rules()
                if rule.endpoint.split(".")[-1].startswith(
                    ("logout", "disable", "enable", "reset", "revoke", "add_", "remove_"))]
    assert changing
    for rule in changing:
        assert "GET" not in rule.methods, rule
