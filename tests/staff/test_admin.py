"""Administration pages: staff accounts, roles, tokens, organisations, audit log."""
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from citizen_desk.extensions import db
from citizen_desk.core.audit import AuditEntry
from citizen_desk.offices.models import Office
from citizen_desk.staff.models import AccessToken, Organisation, Role, StaffUser
from tests.factories import create_office, create_user, sign_in_client


@pytest.fixture
def setup(app):
    with app.app_context():
        a, b = create_office("ATH1"), create_office("THE1")
        admin = create_user("admin@example.gr", Role.admin)
        manager = create_user("manager@example.gr", Role.manager, a)
        clerk_b = create_user("clerk.b@example.gr", Role.clerk, b)
        db.session.commit()
        return SimpleNamespace(a=a.id, b=b.id, admin=admin.id, manager=manager.id,
                               clerk_b=clerk_b.id)


def as_user(app, user_id):
    client = app.test_client()
    with app.app_context():
        sign_in_client(client, db.session.get(StaffUser, user_id))
    return client


def test_manager_creates_a_clerk_for_their_office(app, setup):
    client = as_user(app, setup.manager)
    response = client.post("/staff/users/new", data={
        "email": "new.clerk@example.gr", "display_name": "Νέος Υπάλληλος", "locale": "el",
        "role": "clerk", "office": str(setup.a)})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'class="cd-secret"' in html
    temporary = re.search(r'class="cd-secret">([^<]+)<', html).group(1)
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == "new.clerk@example.gr"))
        assert user.must_change_password and user.has_role(Role.clerk, setup.a)
        assert temporary not in (user.password_hash or "")
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "staff.create"))
        assert entry.actor_user_id == setup.manager and entry.office_id == setup.a


def test_manager_cannot_create_staff_in_another_office_or_an_admin(app, setup):
    client = as_user(app, setup.manager)
    for role, office in (("clerk", setup.b), ("admin", "")):
        response = client.post("/staff/users/new", data={
            "email": f"x.{role}@example.gr", "display_name": "Χ", "locale": "el",
            "role": role, "office": str(office)})
        assert response.status_code == 200
        assert 'class="cd-secret"' not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(StaffUser).where(
            StaffUser.email.like("x.%"))) is None


@pytest.mark.parametrize("data, message", [
    ({"email": "bad", "display_name": "Χ", "role": "clerk"}, "name@example.gr"),
    ({"email": "manager@example.gr", "display_name": "Χ", "role": "admin"},
     "Υπάρχει ήδη λογαριασμός"),
    ({"email": "c@example.gr", "display_name": "Χ", "role": "clerk"}, "Επιλέξτε το γραφείο"),
    ({"email": "n@example.gr", "display_name": "Χ", "role": "ngo"}, "Επιλέξτε τον φορέα"),
    ({"email": "c@example.gr", "display_name": "", "role": "clerk"}, "Συμπληρώστε το όνομα"),
])
def test_account_form_errors_are_translated_and_change_nothing(app, setup, data, message):
    client = as_user(app, setup.admin)
    with app.app_context():
        before = db.session.scalar(select(db.func.count(StaffUser.id)))
    response = client.post("/staff/users/new", data={"locale": "el", "office": "", **data})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "govgr-error-summary" in html and message in html
    with app.app_context():
        assert db.session.scalar(select(db.func.count(StaffUser.id))) == before


def test_manager_cannot_touch_staff_of_another_office(app, setup):
    client = as_user(app, setup.manager)
    assert client.get(f"/staff/users/{setup.clerk_b}").status_code == 403
    assert client.post(f"/staff/users/{setup.clerk_b}/disable").status_code == 403
    with app.app_context():
        assert db.session.get(StaffUser, setup.clerk_b).active


def test_admin_disables_and_resets(app, setup):
    client = as_user(app, setup.admin)
    assert client.post(f"/staff/users/{setup.clerk_b}/disable").status_code == 302
    response = client.post(f"/staff/users/{setup.clerk_b}/reset-password")
    assert 'class="cd-secret"' in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.get(StaffUser, setup.clerk_b)
        assert not user.active and user.must_change_password
        actions = db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.object_id == str(setup.clerk_b))).all()
        assert {"staff.disable", "staff.reset_password"} <= set(actions)


def test_device_token_is_shown_once_and_stored_hashed(app, setup):
    client = as_user(app, setup.manager)
    response = client.post("/staff/tokens/new", data={
        "name": "Οθόνη αίθουσας Α", "office": str(setup.a), "purpose": "display"})
    secret = re.search(r'class="cd-secret">([^<]+)<', response.get_data(as_text=True)).group(1)
    assert len(secret) >= 40
    with app.app_context():
        token = db.session.scalar(select(AccessToken))
        assert token.token_hash != secret and secret not in token.token_hash
        token_id = token.id
    listing = client.get("/staff/tokens").get_data(as_text=True)
    assert "Οθόνη αίθουσας Α" in listing and secret not in listing
    assert app.test_client().get(
        "/api/v1/health", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert client.post(f"/staff/tokens/{token_id}/revoke").status_code == 302
    assert app.test_client().get(
        "/api/v1/health", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_manager_cannot_create_a_token_for_another_office(app, setup):
    client = as_user(app, setup.manager)
    response = client.post("/staff/tokens/new", data={
        "name": "Ξένη οθόνη", "office": str(setup.b), "purpose": "display"})
    assert 'class="cd-secret"' not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(AccessToken)) is None


def test_admin_registers_an_organisation(app, setup):
    client = as_user(app, setup.admin)
    response = client.post("/staff/organisations/new", data={
        "name": "Δίκτυο Αλληλεγγύης", "contact_email": "info@example.org"})
    assert response.status_code == 302
    again = client.post("/staff/organisations/new", data={"name": "δίκτυο αλληλεγγύης"})
    assert "Υπάρχει ήδη φορέας" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Organisation.id))) == 1


def test_audit_log_filters_and_scope(app, setup):
    admin = as_user(app, setup.admin)
    admin.post(f"/staff/users/{setup.clerk_b}/disable")
    html = admin.get("/staff/audit?action=staff.disable").get_data(as_text=True)
    assert "Απενεργοποιήθηκε λογαριασμός" in html and "admin@example.gr" in html
    assert "Λογαριασμός προσωπικού" in html  # object types are translated too
    assert "1 εγγραφή" in html
    bad = admin.get("/staff/audit?from=yesterday")
    assert bad.status_code == 200 and "27/11/2026" in bad.get_data(as_text=True)
    # The manager of ATH1 does not see what happened to THE1's clerk.
    manager_html = as_user(app, setup.manager).get("/staff/audit").get_data(as_text=True)
    assert "staff.disable" not in manager_html


def test_admin_issues_an_integration_token_that_works_on_the_api_only(app, setup):
    client = as_user(app, setup.admin)
    response = client.post(f"/staff/users/{setup.clerk_b}/tokens")
    secret = re.search(r'class="cd-secret">([^<]+)<', response.get_data(as_text=True)).group(1)
    headers = {"Authorization": f"Bearer {secret}"}
    api = app.test_client()
    assert api.get("/api/v1/health", headers=headers).status_code == 200
    assert api.get("/staff/", headers=headers).status_code == 401  # not on pages
    page = client.get(f"/staff/users/{setup.clerk_b}").get_data(as_text=True)
    assert secret[:9] + "…" in page and secret not in page  # listed by its hint only
    client.post(f"/staff/users/{setup.clerk_b}/disable")
    assert api.get("/api/v1/health", headers=headers).status_code == 401


def test_manager_cannot_issue_integration_tokens(app, setup):
    with app.app_context():
        clerk = create_user("clerk.a@example.gr", Role.clerk, db.session.get(Office, setup.a))
        db.session.commit()
        clerk_id = clerk.id
    client = as_user(app, setup.manager)
    assert client.post(f"/staff/users/{clerk_id}/tokens").status_code == 403
