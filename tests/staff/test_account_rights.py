"""Who may change whose account: managers manage their offices' clerks, admins everyone.

A manager who could reset a fellow manager's password would see the
temporary password and sign in as them; so every change to an account is
refused (403, nothing changed) unless the target is a clerk of the
manager's own offices, and never on the manager's own account.
"""
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from citizen_desk.core.audit import AuditEntry
from citizen_desk.extensions import db
from citizen_desk.staff.models import AccessToken, Role, RoleAssignment, StaffUser
from tests.factories import create_office, create_organisation, create_user, sign_in_client


@pytest.fixture
def people(app):
    with app.app_context():
        ath, the = create_office("ATH1"), create_office("THE1")
        admin = create_user("admin@example.gr", Role.admin)
        manager = create_user("manager@example.gr", Role.manager, ath)
        fellow = create_user("fellow@example.gr", Role.manager, ath)
        ngo = create_user("ngo@example.org", Role.ngo,
                          organisation=create_organisation("Δίκτυο"))
        clerk = create_user("clerk@example.gr", Role.clerk, ath)
        both = create_user("both@example.gr", Role.clerk, ath)
        both.roles.append(RoleAssignment(role=Role.clerk, office_id=the.id))
        # A clerk who is also a manager elsewhere is a manager: admins' to manage.
        clerk_manager = create_user("cm@example.gr", Role.clerk, ath)
        clerk_manager.roles.append(RoleAssignment(role=Role.manager, office_id=the.id))
        db.session.commit()
        return SimpleNamespace(ath=ath.id, the=the.id, admin=admin.id, manager=manager.id,
                               fellow=fellow.id, ngo=ngo.id, clerk=clerk.id, both=both.id,
                               clerk_manager=clerk_manager.id)


def as_user(app, user_id):
    client = app.test_client()
    with app.app_context():
        sign_in_client(client, db.session.get(StaffUser, user_id))
    return client


def state(app, user_id):
    """Everything a change to the account would touch."""
    with app.app_context():
        user = db.session.get(StaffUser, user_id)
        result = (user.password_hash, user.active, user.session_nonce, user.must_change_password,
                  sorted((r.role.value, r.office_id or 0) for r in user.roles),
                  db.session.scalar(select(func.count(AccessToken.id)).where(
                      AccessToken.user_id == user_id)),
                  db.session.scalar(select(func.count(AuditEntry.id))))
        db.session.remove()
        return result


def first_role_id(app, user_id):
    with app.app_context():
        return db.session.get(StaffUser, user_id).roles[0].id


def set_inactive(app, user_id):
    with app.app_context():
        db.session.get(StaffUser, user_id).active = False
        db.session.commit()


ACTIONS = ["page", "reset", "disable", "enable", "add_role", "remove_role", "new_token"]


def do(client, app, action, target, ath):
    base = f"/staff/users/{target}"
    if action == "page":
        return client.get(base)
    if action == "enable":
        return client.post(base + "/enable")
    if action == "add_role":
        return client.post(base + "/roles", data={"role": "clerk", "office": str(ath)})
    if action == "remove_role":
        return client.post(f"{base}/roles/{first_role_id(app, target)}/delete")
    path = {"reset": "/reset-password", "disable": "/disable", "new_token": "/tokens"}[action]
    return client.post(base + path)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("target", ["fellow", "admin", "ngo", "manager", "clerk_manager"])
def test_a_manager_cannot_change_managers_admins_ngo_workers_or_themselves(
        app, people, action, target):
    target_id = getattr(people, target)
    if action == "enable":
        set_inactive(app, target_id)
    before = state(app, target_id)
    response = do(as_user(app, people.manager), app, action, target_id, people.ath)
    html = response.get_data(as_text=True)
    # A disabled manager enabling themselves is not signed in at all (401).
    refused = 401 if (action, target) == ("enable", "manager") else 403
    assert response.status_code == refused, (response.status_code, html[:300])
    assert 'class="cd-secret"' not in html
    assert state(app, target_id) == before


@pytest.mark.parametrize("action", ["reset", "disable", "remove_role"])
def test_a_manager_cannot_change_a_clerk_who_also_works_elsewhere(app, people, action):
    before = state(app, people.both)
    response = do(as_user(app, people.manager), app, action, people.both, people.ath)
    assert response.status_code == 403
    assert state(app, people.both) == before


def test_a_manager_still_manages_their_clerks(app, people):
    client = as_user(app, people.manager)
    assert client.get(f"/staff/users/{people.clerk}").status_code == 200
    response = client.post(f"/staff/users/{people.clerk}/reset-password")
    assert response.status_code == 200 and 'class="cd-secret"' in response.get_data(as_text=True)
    assert client.post(f"/staff/users/{people.clerk}/disable").status_code == 302
    assert client.post(f"/staff/users/{people.clerk}/enable").status_code == 302
    with app.app_context():  # the manager takes on THE1 too, and moves the clerk there
        manager = db.session.get(StaffUser, people.manager)
        manager.roles.append(RoleAssignment(role=Role.manager, office_id=people.the))
        db.session.commit()
    role_id = first_role_id(app, people.clerk)
    assert client.post(f"/staff/users/{people.clerk}/roles",
                       data={"role": "clerk", "office": str(people.the)}).status_code == 302
    assert client.post(f"/staff/users/{people.clerk}/roles/{role_id}/delete").status_code == 302
    with app.app_context():
        clerk = db.session.get(StaffUser, people.clerk)
        assert clerk.active and clerk.must_change_password
        assert [(r.role, r.office_id) for r in clerk.roles] == [(Role.clerk, people.the)]


def test_a_manager_cannot_make_a_clerk_a_manager(app, people):
    client = as_user(app, people.manager)
    before = state(app, people.clerk)
    response = client.post(f"/staff/users/{people.clerk}/roles",
                           data={"role": "manager", "office": str(people.ath)})
    assert response.status_code in (400, 403)
    assert state(app, people.clerk) == before
    response = client.post("/staff/users/new", data={
        "email": "new.manager@example.gr", "display_name": "Νέος Προϊστάμενος", "locale": "el",
        "role": "manager", "office": str(people.ath)})
    assert 'class="cd-secret"' not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(StaffUser).where(
            StaffUser.email == "new.manager@example.gr")) is None


def test_pages_offer_a_manager_only_what_they_may_do(app, people):
    client = as_user(app, people.manager)
    listing = client.get("/staff/users").get_data(as_text=True)
    assert f'href="/staff/users/{people.clerk}"' in listing
    for other in (people.fellow, people.manager, people.clerk_manager, people.both):
        assert f'href="/staff/users/{other}"' not in listing
    page = client.get(f"/staff/users/{people.clerk}").get_data(as_text=True)
    offered = set(re.findall(r'<option[^>]*value="(admin|manager|clerk|ngo)"', page))
    assert offered == {"clerk"}
    new = client.get("/staff/users/new").get_data(as_text=True)
    assert set(re.findall(r'<option[^>]*value="(admin|manager|clerk|ngo)"', new)) == {"clerk"}


@pytest.mark.parametrize("target", ["fellow", "manager", "ngo", "both", "clerk"])
def test_an_admin_manages_everyone(app, people, target):
    client = as_user(app, people.admin)
    target_id = getattr(people, target)
    response = client.post(f"/staff/users/{target_id}/reset-password")
    assert response.status_code == 200 and 'class="cd-secret"' in response.get_data(as_text=True)
    assert client.post(f"/staff/users/{target_id}/disable").status_code == 302
    assert client.post(f"/staff/users/{target_id}/enable").status_code == 302
    assert client.post(f"/staff/users/{target_id}/tokens").status_code == 200
    assert client.post(f"/staff/users/{target_id}/roles",
                       data={"role": "manager", "office": str(people.the)}).status_code == 302
    with app.app_context():
        user = db.session.get(StaffUser, target_id)
        assert user.active and user.must_change_password
        assert user.has_role(Role.manager, people.the)


def test_reset_and_disable_are_audited_for_each_office_of_the_account(app, people):
    client = as_user(app, people.admin)
    for path in ("reset-password", "disable", "enable"):
        client.post(f"/staff/users/{people.both}/{path}")
        client.post(f"/staff/users/{people.ngo}/{path}")
    with app.app_context():
        entries = db.session.execute(select(AuditEntry.action, AuditEntry.object_id,
                                            AuditEntry.office_id)).all()
    for action in ("staff.reset_password", "staff.disable", "staff.enable"):
        assert sorted(o for a, i, o in entries if a == action and i == str(people.both)) == \
            sorted([people.ath, people.the])
        assert [o for a, i, o in entries if a == action and i == str(people.ngo)] == [None]
    # The manager of ATH1 sees the entries of ATH1's clerk in their audit log (not the NGO's).
    manager = as_user(app, people.manager)
    for action in ("staff.reset_password", "staff.disable", "staff.enable"):
        page = manager.get(f"/staff/audit?action={action}").get_data(as_text=True)
        rows = page.count('<tr class="govgr-table__row">') - 1  # the header's row
        assert rows == 1, (action, rows)


def test_the_operations_refuse_too(app, people):
    """A view that forgot its check would still not let a manager take over an account."""
    from flask import g
    from werkzeug.exceptions import Forbidden

    from citizen_desk.staff import operations
    from citizen_desk.staff.permissions import Actor
    before = state(app, people.fellow)
    with app.test_request_context("/staff/users", method="POST"):
        g.citizen_desk_actor = Actor(user=db.session.get(StaffUser, people.manager))
        fellow = db.session.get(StaffUser, people.fellow)
        clerk = db.session.get(StaffUser, people.clerk)
        for change in (lambda: operations.reset_password(fellow),
                       lambda: operations.set_active(fellow, False),
                       lambda: operations.grant_role(fellow, Role.clerk, people.ath),
                       lambda: operations.revoke_role(fellow, fellow.roles[0]),
                       lambda: operations.issue_user_token(fellow),
                       lambda: operations.grant_role(clerk, Role.manager, people.ath)):
            with pytest.raises(Forbidden):
                change()
        db.session.rollback()
    assert state(app, people.fellow) == before
