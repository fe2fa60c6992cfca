"""Pairing a kiosk's browser with its token by a cookie (``staff/devices.py``)."""
from __future__ import annotations

import pytest

from citizen_desk.extensions import db
from citizen_desk.staff.devices import COOKIE
from citizen_desk.staff.models import AccessToken, Role, TokenPurpose
from tests.factories import create_office, create_token, create_user, sign_in_client


@pytest.fixture
def devices(app):
    """Offices A and B; kiosk tokens of both, A's display, a revoked kiosk, an integration."""
    with app.app_context():
        a, b = create_office("ATH1"), create_office("THE1")
        clerk = create_user(role=Role.clerk, office=a)
        secrets = {
            "kiosk_a": create_token(TokenPurpose.kiosk, a)[1],
            "kiosk_b": create_token(TokenPurpose.kiosk, b)[1],
            "display_a": create_token(TokenPurpose.display, a)[1],
            "integration": create_token(TokenPurpose.integration, user=clerk)[1],
        }
        revoked, secrets["revoked"] = create_token(TokenPurpose.kiosk, a)
        revoked.revoke()
        db.session.commit()
        secrets["clerk_id"] = clerk.id
    return secrets


def set_cookie_header(response) -> str:
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "=")]
    return cookies[0] if cookies else ""


def test_a_kiosk_pairs_by_its_token_once_and_the_address_forgets_it(app, devices):
    client = app.test_client()
    secret = devices["kiosk_a"]
    response = client.get(f"/offices/ATH1/kiosk?lang=en&token={secret}")
    assert response.status_code == 303
    assert response.headers["Location"] == "/offices/ATH1/kiosk?lang=en"
    cookie = set_cookie_header(response)
    assert cookie.startswith(f"{COOKIE}={secret};")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Max-Age=34560000" in cookie and "Secure" not in cookie
    assert response.headers["Cache-Control"] == "no-store"
    page = client.get("/offices/ATH1/kiosk?lang=en")
    assert page.status_code == 200
    assert secret not in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(AccessToken.last_used_dt).where(
            AccessToken.purpose == TokenPurpose.kiosk,
            AccessToken.office.has(code="ATH1"), AccessToken.revoked_dt.is_(None))) is not None


def test_over_https_the_cookie_is_secure(app, devices):
    client = app.test_client()
    response = client.get(f"/offices/ATH1/kiosk?token={devices['kiosk_a']}",
                          base_url="https://localhost")
    assert response.status_code == 303 and "Secure" in set_cookie_header(response)


@pytest.mark.parametrize("which", ["kiosk_b", "display_a", "revoked", "integration", "unknown",
                                   "empty", "huge"])
def test_other_tokens_are_refused_and_set_nothing(app, devices, which):
    made = {"unknown": "cd_" + "x" * 43, "empty": "", "huge": "x" * 5000}
    secret = made[which] if which in made else devices[which]
    client = app.test_client()
    response = client.get("/offices/ATH1/kiosk", query_string={"token": secret})
    assert response.status_code == 403
    assert set_cookie_header(response) == ""
    if secret:
        assert secret not in response.get_data(as_text=True)
    # Still nobody: the kiosk page sends to the sign-in, without the token in ``next``.
    again = client.get("/offices/ATH1/kiosk")
    assert again.status_code == 302 and "/staff/login" in again.headers["Location"]


def test_a_token_in_the_address_of_a_post_is_refused(app, devices):
    client = app.test_client()
    response = client.post(f"/offices/ATH1/kiosk/check-in?token={devices['kiosk_a']}",
                           data={"code": "K7M-4QX"})
    assert response.status_code == 403 and set_cookie_header(response) == ""


def test_only_device_pages_read_the_token(app, devices):
    client = app.test_client()
    response = client.get(f"/?token={devices['kiosk_a']}")
    assert response.status_code == 200 and set_cookie_header(response) == ""


@pytest.mark.parametrize("which", ["revoked", "integration", "garbage"])
def test_a_stale_or_foreign_cookie_is_ignored_and_cleared(app, devices, which):
    client = app.test_client()
    client.set_cookie(COOKIE, devices.get(which, "not-a-token\u00e9"))
    response = client.get("/offices/ATH1/kiosk")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    cleared = set_cookie_header(response)
    assert cleared.startswith(f"{COOKIE}=;") and "Expires=Thu, 01 Jan 1970" in cleared


def test_a_kiosk_revoked_after_pairing_loses_its_pages(app, devices):
    client = app.test_client()
    client.get(f"/offices/ATH1/kiosk?token={devices['kiosk_a']}")
    assert client.get("/offices/ATH1/kiosk").status_code == 200
    with app.app_context():
        for token in db.session.scalars(db.select(AccessToken)
                                        .where(AccessToken.purpose == TokenPurpose.kiosk)):
            token.revoke()
        db.session.commit()
    assert client.get("/offices/ATH1/kiosk").status_code == 302


def test_the_cookie_opens_its_own_office_only_and_never_the_api(app, devices):
    client = app.test_client()
    client.get(f"/offices/ATH1/kiosk?token={devices['kiosk_a']}")
    assert client.get("/offices/THE1/kiosk").status_code == 403
    assert client.get("/staff/").status_code in (302, 403)
    api = client.post("/api/v1/offices/ATH1/tickets", json={"service": "x"})
    assert api.status_code == 401


def test_a_signed_in_person_is_themselves_whatever_the_cookie(app, devices):
    from citizen_desk.staff.models import StaffUser
    from citizen_desk.staff.permissions import current_actor
    client = app.test_client()
    client.get(f"/offices/THE1/kiosk?token={devices['kiosk_b']}")
    with app.app_context():
        sign_in_client(client, db.session.get(StaffUser, devices["clerk_id"]))
    with client:
        assert client.get("/offices/ATH1/kiosk").status_code == 200
        assert current_actor().user is not None and current_actor().token is None
