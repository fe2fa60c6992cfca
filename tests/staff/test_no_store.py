"""One-time secrets and staff pages stay out of caches; public pages keep their caching."""
import pytest

from citizen_desk.extensions import db
from citizen_desk.staff.models import Role, StaffUser, TokenPurpose
from tests.factories import create_office, create_token, create_user, sign_in_client


def assert_no_store(response):
    assert response.headers.get("Cache-Control") == "no-store", (
        response.request.path, response.status_code, response.headers.get("Cache-Control"))
    assert response.headers.get("Pragma") == "no-cache"


def assert_cacheable(response):
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert "Pragma" not in response.headers


@pytest.fixture
def admin_client(app):
    with app.app_context():
        office = create_office("ATH1")
        admin = create_user("admin@example.gr", Role.admin)
        clerk = create_user("clerk@example.gr", Role.clerk, office)
        _token, secret = create_token(TokenPurpose.display, office)
        db.session.commit()
        client = app.test_client()
        sign_in_client(client, db.session.get(StaffUser, admin.id))
        client.ids = {"office": office.id, "clerk": clerk.id, "display": secret}
        return client


def test_pages_that_show_a_secret_once_are_not_stored(admin_client):
    ids = admin_client.ids
    issued = admin_client.post(f"/staff/users/{ids['clerk']}/reset-password")
    assert 'class="cd-secret"' in issued.get_data(as_text=True)
    assert_no_store(issued)
    created = admin_client.post("/staff/users/new", data={
        "email": "new@example.gr", "display_name": "Νέα Υπάλληλος", "locale": "el",
        "role": "clerk", "office": str(ids["office"])})
    assert 'class="cd-secret"' in created.get_data(as_text=True)
    assert_no_store(created)
    device = admin_client.post("/staff/tokens/new", data={
        "name": "Οθόνη αίθουσας Α", "office": str(ids["office"]), "purpose": "display"})
    assert 'class="cd-secret"' in device.get_data(as_text=True)
    assert_no_store(device)
    integration = admin_client.post(f"/staff/users/{ids['clerk']}/tokens")
    assert 'class="cd-secret"' in integration.get_data(as_text=True)
    assert_no_store(integration)


@pytest.mark.parametrize("path", ["/staff/", "/staff/users", "/staff/audit", "/staff/profile",
                                  "/", "/services"])
def test_every_answer_to_a_signed_in_person_is_not_stored(admin_client, path):
    assert_no_store(admin_client.get(path))


@pytest.mark.parametrize("path", ["/staff/login", "/staff/", "/staff/users", "/staff/nowhere"])
def test_staff_pages_are_not_stored_even_for_visitors(client, path):
    assert_no_store(client.get(path))


def test_answers_to_a_bearer_token_are_not_stored(app, admin_client):
    secret = admin_client.ids["display"]
    anonymous = app.test_client()
    assert_no_store(anonymous.get("/api/v1/offices",
                                  headers={"Authorization": f"Bearer {secret}"}))
    assert_no_store(anonymous.get("/api/v1/offices", headers={"Authorization": "Bearer nope"}))


@pytest.mark.parametrize("path", ["/", "/services", "/api/v1/offices", "/api/v1/services",
                                  "/favicon.ico"])
def test_public_pages_keep_their_caching(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert_cacheable(response)
    if path == "/favicon.ico":
        assert "max-age=86400" in response.headers["Cache-Control"]
