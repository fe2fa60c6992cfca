"""Staff screens a clerk can work with: the whole width, the devices' status in words,
office drop-downs that name the office, error summaries that name the field in page
order, a confirmation before a role is taken away."""
import re
from datetime import datetime, timezone

from sqlalchemy import select

from citizen_desk.extensions import db
from citizen_desk.staff.models import RoleAssignment, StaffUser, TokenPurpose
from tests.factories import create_token
from tests.staff.test_admin import as_user, setup  # noqa: F401  (fixture)


def test_staff_pages_use_the_whole_width(app, setup):
    client = as_user(app, setup.admin)
    for path in ("/staff/", "/staff/users", "/staff/tokens", "/staff/audit",
                 f"/staff/users/{setup.clerk_b}", "/staff/catalog/services"):
        html = client.get(path).get_data(as_text=True)
        assert 'class="cd-staff-page"' in html, path
        assert "govgr-grid-column-two-thirds" not in html, path
        assert 'href="/static/css/staff.css"' in html, path


def test_devices_table_says_each_tokens_status_in_words(app, setup):
    with app.app_context():
        from citizen_desk.offices.models import Office
        office = db.session.get(Office, setup.a)
        fresh, _ = create_token(TokenPurpose.kiosk, office)
        fresh.name = "Κιόσκι εισόδου"
        used, _ = create_token(TokenPurpose.display, office)
        used.name = "Οθόνη αίθουσας"
        used.last_used_dt = datetime(2026, 11, 27, 8, 5, tzinfo=timezone.utc)  # 10:05 Athens
        revoked, _ = create_token(TokenPurpose.display, office)
        revoked.name = "Παλιά οθόνη"
        revoked.revoked_dt = datetime(2026, 11, 20, 23, 30, tzinfo=timezone.utc)  # 21/11 Athens
        db.session.commit()
    html = as_user(app, setup.admin).get("/staff/tokens?lang=en").get_data(as_text=True)
    rows = {name: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)) for row in
            html.split('<tr class="govgr-table__row">')[1:]
            for name in ("Κιόσκι εισόδου", "Οθόνη αίθουσας", "Παλιά οθόνη") if name in row}
    assert "Active , never used" in rows["Κιόσκι εισόδου"]
    assert "Active , last used 27/11/2026 at 10:05" in rows["Οθόνη αίθουσας"]
    assert "Revoked on 21/11/2026" in rows["Παλιά οθόνη"]
    assert "Revoke" not in rows["Παλιά οθόνη"].replace("Revoked", "")
    # The office is named, not only coded.
    assert "(ATH1)" in rows["Κιόσκι εισόδου"]


def test_office_drop_downs_show_the_name_with_the_code(app, setup):
    client = as_user(app, setup.admin)
    with app.app_context():
        from citizen_desk.offices.models import Office
        name = db.session.get(Office, setup.a).display_name("el")
    for path in ("/staff/users/new", "/staff/tokens/new", f"/staff/users/{setup.clerk_b}"):
        html = client.get(path + "?lang=el").get_data(as_text=True)
        assert re.search(rf'<option value="{setup.a}">{re.escape(name)} \(ATH1\)</option>',
                         html), path


def test_error_summary_names_each_field_in_page_order(app, setup):
    client = as_user(app, setup.admin)
    html = client.post("/staff/users/new?lang=en", data={
        "display_name": "", "email": "", "locale": "el", "role": "clerk",
        "office": ""}).get_data(as_text=True)
    summary = html.split('class="govgr-error-summary"')[1].split("</div>")[0]
    items = [re.sub(r"<[^>]+>", "", li).strip() for li in re.findall(r"<li>(.*?)</li>", summary)]
    # The page asks for the full name first, then the e-mail address (the form declares
    # them the other way round); each line says which field it is about.
    assert [item.split(":")[0] for item in items] == ["Full name", "E-mail address"]
    assert len(set(items)) == len(items)
    assert '<a class="govgr-link" href="#display_name">' in summary


def test_removing_a_role_asks_first(app, setup):
    client = as_user(app, setup.admin)
    with app.app_context():
        role_id = db.session.scalar(select(RoleAssignment.id).where(
            RoleAssignment.user_id == setup.clerk_b))
    page = client.get(f"/staff/users/{setup.clerk_b}").get_data(as_text=True)
    url = f"/staff/users/{setup.clerk_b}/roles/{role_id}/delete"
    assert f'href="{url}"' in page and f'action="{url}"' not in page
    confirm = client.get(url + "?lang=en").get_data(as_text=True)
    assert f'<form method="post" action="{url}"' in confirm and "govgr-btn-warning" in confirm
    assert f'href="/staff/users/{setup.clerk_b}"' in confirm  # cancel
    with app.app_context():
        assert db.session.get(StaffUser, setup.clerk_b).roles
    assert client.post(url).status_code == 302
    with app.app_context():
        assert not db.session.get(StaffUser, setup.clerk_b).roles


def test_confirm_remove_role_is_refused_to_another_offices_manager(app, setup):
    with app.app_context():
        role_id = db.session.scalar(select(RoleAssignment.id).where(
            RoleAssignment.user_id == setup.clerk_b))
    manager = as_user(app, setup.manager)
    assert manager.get(f"/staff/users/{setup.clerk_b}/roles/{role_id}/delete"
                       ).status_code == 403
