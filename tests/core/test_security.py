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
