"""Signing in and out, sessions, passwords and throttling."""
import re
import time
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from citizen_desk.core.audit import AuditEntry
from citizen_desk.staff.models import Role, StaffUser
from citizen_desk.staff.passwords import hash_password, policy_errors, verify_password
from tests.factories import PASSWORD, create_office, create_user

GENERIC = "Το e-mail ή ο κωδικός δεν είναι σωστά"
NAME = "Δοκιμαστικός Χρήστης"  # the factory's display name, shown on the dashboard


@pytest.fixture
def clerk(app):
    with app.app_context():
        office = create_office("ATH1")
        user = create_user("clerk@example.gr", Role.clerk, office)
        db.session.commit()
        return SimpleNamespace(id=user.id, email=user.email)


def login(client, email, password, next_=None):
    url = "/staff/login" + (f"?next={next_}" if next_ else "")
    return client.post(url, data={"email": email, "password": password})


def assert_signed_in(client):
    """The dashboard answers with the user's name: the session really holds them."""
    page = client.get("/staff/")
    assert page.status_code == 200
    assert NAME in page.get_data(as_text=True)


def assert_signed_out(client):
    """The dashboard sends ``client`` to the sign-in page."""
    response = client.get("/staff/")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/staff/login"
    return response


def is_sent_to_login(response) -> bool:
    return (response.status_code == 302
            and urlsplit(response.headers["Location"]).path == "/staff/login")


def copy_session(app, client):
    """Another browser holding a copy of ``client``'s session cookie (a stolen cookie)."""
    with client.session_transaction() as session:
        stolen = dict(session)
    thief = app.test_client()
    with thief.session_transaction() as session:
        session.update(stolen)
    return thief


def test_password_hashes_are_argon2id():
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + "x")
    assert not verify_password(None, PASSWORD)


@pytest.mark.parametrize("password, ok", [
    ("short", False), ("password1234", False), ("qwertyuiopas", False),
    ("clerk@example.gr-1", False), ("aaaaaaaaaaaaaaa", False),
    ("lemon-harbour-kiosk-2026", True), (PASSWORD, True),
])
def test_password_policy(app, password, ok):
    with app.test_request_context():
        assert (policy_errors(password, email="clerk@example.gr") == []) is ok


def test_sign_in_and_out(client, clerk):
    response = login(client, "Clerk@Example.gr", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    assert_signed_in(client)
    response = client.post("/staff/logout", follow_redirects=True)
    assert response.request.path == "/staff/login"
    assert "Αποσυνδεθήκατε." in response.get_data(as_text=True)
    assert_signed_out(client)


def test_sign_out_revokes_every_session_of_the_user(app, client, clerk):
    login(client, "clerk@example.gr", PASSWORD)
    thief = copy_session(app, client)           # the same cookie, stolen
    laptop = app.test_client()                  # a second sign-in of the same user
    assert login(laptop, "clerk@example.gr", PASSWORD).status_code == 302
    for browser in (client, thief, laptop):
        assert_signed_in(browser)
    assert is_sent_to_login(client.post("/staff/logout"))
    # The per-user nonce changed, so every cookie that carries the old one is dead.
    for browser in (client, thief, laptop):
        assert_signed_out(browser)


def test_session_is_rotated_at_sign_in(client, clerk):
    client.get("/?lang=en")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, "clerk@example.gr", PASSWORD)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["lang"] == "en"  # the visitor's language survives


@pytest.mark.parametrize("email, password", [
    ("clerk@example.gr", "wrong-password-123"),
    ("nobody@example.gr", PASSWORD),
    ("", ""), ("not-an-email", "x"), ("clerk@example.gr", "x" * 10_000),
])
def test_failed_sign_in_gives_one_generic_message(client, clerk, email, password):
    response = login(client, email, password)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    if email and password and "@" in email:
        assert GENERIC in html
    assert "nobody" not in html.replace('value="nobody@example.gr"', "")
    assert_signed_out(client)


def test_disabled_account_cannot_sign_in_and_gets_the_same_message(app, client, clerk):
    with app.app_context():
        db.session.get(StaffUser, clerk.id).active = False
        db.session.commit()
    response = login(client, "clerk@example.gr", PASSWORD)
    assert response.status_code == 200 and GENERIC in response.get_data(as_text=True)
    assert_signed_out(client)


def test_disabling_ends_existing_sessions_for_good(app, client, clerk):
    from citizen_desk.staff import operations
    login(client, "clerk@example.gr", PASSWORD)
    laptop = app.test_client()
    login(laptop, "clerk@example.gr", PASSWORD)
    for browser in (client, laptop):
        assert_signed_in(browser)
    with app.app_context():
        operations.set_active(db.session.get(StaffUser, clerk.id), False)
        db.session.commit()
    for browser in (client, laptop):
        assert_signed_out(browser)
    # Enabling the account again does not bring the old sessions back: the nonce changed.
    with app.app_context():
        operations.set_active(db.session.get(StaffUser, clerk.id), True)
        db.session.commit()
    for browser in (client, laptop):
        assert_signed_out(browser)
    assert login(client, "clerk@example.gr", PASSWORD).status_code == 302
    assert_signed_in(client)


def test_an_inactive_account_has_no_session(app, client, clerk):
    # Defence in depth: the user loader itself refuses an inactive account, even
    # when its nonce was not changed (a flag set outside ``set_active``).
    login(client, "clerk@example.gr", PASSWORD)
    assert_signed_in(client)
    with app.app_context():
        db.session.get(StaffUser, clerk.id).active = False
        db.session.commit()
    assert_signed_out(client)


def test_account_is_locked_after_repeated_failures(app, client, clerk):
    for _ in range(5):
        login(client, "clerk@example.gr", "wrong-password-123")
    response = login(client, "clerk@example.gr", PASSWORD)  # right password, but locked
    assert GENERIC in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.get(StaffUser, clerk.id)
        assert user.locked_until_dt > utcnow()
        user.locked_until_dt = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert login(client, "clerk@example.gr", PASSWORD).status_code == 302


def test_failed_sign_ins_are_throttled_per_ip(make_app):
    app = make_app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=True,
                   LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    statuses = [login(client, f"x{i}@example.gr", "nope-nope-nope").status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert "Πάρα πολλά αιτήματα" in login(client, "y@example.gr", "n").get_data(as_text=True)


def test_idle_session_is_signed_out(app, client, clerk):
    idle = app.config["IDLE_TIMEOUT"]
    login(client, "clerk@example.gr", PASSWORD)
    assert_signed_in(client)
    # Just inside the limit the session lives (and the request counts as activity) …
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - idle + 300
    assert_signed_in(client)
    with client.session_transaction() as session:
        assert session["seen"] > int(time.time()) - 60
    # … past it, the next request signs the user out and comes back to the page after.
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - idle - 60
    response = assert_signed_out(client)
    assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == ["/staff/"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Αποσυνδεθήκατε λόγω αδράνειας." in page
    # The user left the session, not only the time check: a fresh time stamp does not help.
    with client.session_transaction() as session:
        assert "_user_id" not in session
        session["seen"] = int(time.time())
    assert_signed_out(client)


@pytest.mark.parametrize("target, expected", [
    ("/staff/password", "/staff/password"),
    ("https://evil.example/", "/staff/"), ("//evil.example/x", "/staff/"),
    ("/\\evil.example", "/staff/"), ("javascript:alert(1)", "/staff/"),
    ("http:/evil.example", "/staff/"),
    ("/%0d%0aSet-Cookie:x=1", "/%0d%0aSet-Cookie:x=1"),  # stays an encoded local path
])
def test_next_only_allows_local_paths(client, clerk, target, expected):
    from urllib.parse import quote
    response = login(client, "clerk@example.gr", PASSWORD, next_=quote(target, safe=""))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(expected) and "evil" not in location
    assert "\r" not in location and "\n" not in location


def test_change_password(app, client, clerk):
    login(client, "clerk@example.gr", PASSWORD)
    laptop = app.test_client()
    login(laptop, "clerk@example.gr", PASSWORD)
    assert_signed_in(laptop)
    response = client.post("/staff/password", data={
        "current_password": PASSWORD, "new_password": "short", "confirm": "short"})
    assert "Χρησιμοποιήστε τουλάχιστον 12 χαρακτήρες." in response.get_data(as_text=True)
    response = client.post("/staff/password", data={
        "current_password": "wrong", "new_password": "lemon-harbour-kiosk-2026",
        "confirm": "lemon-harbour-kiosk-2026"})
    assert "Ο τρέχων κωδικός δεν είναι σωστός." in response.get_data(as_text=True)
    response = client.post("/staff/password", data={
        "current_password": PASSWORD, "new_password": "lemon-harbour-kiosk-2026",
        "confirm": "lemon-harbour-kiosk-2026"})
    assert response.status_code == 302
    assert_signed_in(client)  # this session goes on …
    assert_signed_out(laptop)  # … the others end
    # A browser that is not signed in (login() on a signed-in one redirects whatever the
    # password) proves which password works now.
    fresh = app.test_client()
    assert GENERIC in login(fresh, "clerk@example.gr", PASSWORD).get_data(as_text=True)
    assert login(fresh, "clerk@example.gr", "lemon-harbour-kiosk-2026").status_code == 302
    assert_signed_in(fresh)


def test_reset_password_forces_a_change_at_sign_in(app, client, clerk):
    from citizen_desk.staff import operations
    with app.app_context():
        temporary = operations.reset_password(db.session.get(StaffUser, clerk.id))
        db.session.commit()
    assert login(client, "clerk@example.gr", temporary).status_code == 302
    response = client.get("/staff/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/password")


def test_staff_language_preference_is_used(app, client):
    with app.app_context():
        create_user("en@example.gr", Role.clerk, create_office("ATH1"), locale="en")
        db.session.commit()
    login(client, "en@example.gr", PASSWORD)
    html = client.get("/staff/", headers={"Accept-Language": "el"}).get_data(as_text=True)
    assert '<html lang="en"' in html


def test_sign_in_is_audited_without_personal_data(app, client, clerk):
    login(client, "clerk@example.gr", PASSWORD)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "staff.login"))
        assert entry.actor_user_id == clerk.id and entry.ip == "127.0.0.1"
        assert "clerk@example.gr" not in repr(entry.details)


def test_csrf_is_required_on_forms(app, client, clerk):
    app.config["WTF_CSRF_ENABLED"] = True
    response = login(client, "clerk@example.gr", PASSWORD)
    assert response.status_code == 400
    assert "Η φόρμα είχε λήξει" in response.get_data(as_text=True)
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/staff/login", data={"email": "clerk@example.gr",
                                                  "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
