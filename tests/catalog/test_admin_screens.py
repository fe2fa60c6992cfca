"""The catalog's staff screens as a clerk or manager works with them: the whole width, a
confirmation step before retiring or removing, office names beside their codes, error
summaries that name the field, description boxes that grow with their text."""
import re

from sqlalchemy import select

from citizen_desk.catalog.models import Closure, Counter, OpeningRule, Service
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from tests.catalog.test_admin import audit_actions, count, setup  # noqa: F401  (fixture)
from tests.staff.test_admin import as_user


def _forms_posting_to(html: str, url: str) -> int:
    return len(re.findall(r'<form method="post" action="' + re.escape(url) + '"', html))


def test_office_page_uses_the_whole_width(app, setup):
    html = as_user(app, setup.manager).get("/staff/catalog/offices/ATH1").get_data(as_text=True)
    assert 'class="cd-staff-page"' in html
    assert "govgr-grid-column-two-thirds" not in html
    assert "css/staff.css" in html


def test_office_page_links_removals_to_a_confirmation_not_a_one_click_post(app, setup):
    client = as_user(app, setup.manager)
    html = client.get("/staff/catalog/offices/ATH1").get_data(as_text=True)
    for url in (f"/staff/catalog/offices/ATH1/rules/{setup.rule}/remove",
                f"/staff/catalog/offices/ATH1/closures/{setup.closure}/remove",
                f"/staff/catalog/offices/ATH1/counters/{setup.counter}/retire"):
        assert f'href="{url}"' in html, url
        assert _forms_posting_to(html, url) == 0, url
    # Nothing on the office page is red: every red button is on a confirmation page.
    assert "govgr-btn-warning" not in html


def test_remove_rule_asks_first_and_cancel_changes_nothing(app, setup):
    client = as_user(app, setup.manager)
    url = f"/staff/catalog/offices/ATH1/rules/{setup.rule}/remove"
    response = client.get(url + "?lang=en")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "08:00–13:00" in html and "What this means" in html
    assert _forms_posting_to(html, url) == 1 and "govgr-btn-warning" in html
    assert 'href="/staff/catalog/offices/ATH1#rules"' in html  # cancel
    assert count(app, OpeningRule) == 2 and audit_actions(app) == []
    assert client.post(url).status_code == 302
    assert count(app, OpeningRule) == 1
    assert [a for a, _ in audit_actions(app)] == ["catalog.rule.remove"]


def test_remove_closure_and_retire_counter_ask_first(app, setup):
    client = as_user(app, setup.manager)
    closure = f"/staff/catalog/offices/ATH1/closures/{setup.closure}/remove"
    counter = f"/staff/catalog/offices/ATH1/counters/{setup.counter}/retire"
    html = client.get(closure + "?lang=el").get_data(as_text=True)
    assert "24/12/2026" in html and _forms_posting_to(html, closure) == 1
    html = client.get(counter + "?lang=en").get_data(as_text=True)
    assert "Take “Θυρίδα 1” out of use?" in html and _forms_posting_to(html, counter) == 1
    assert count(app, Closure) == 1
    with app.app_context():
        assert db.session.get(Counter, setup.counter).active
    client.post(closure)
    client.post(counter)
    assert count(app, Closure) == 0
    with app.app_context():
        assert not db.session.get(Counter, setup.counter).active


def test_retire_office_and_service_ask_first(app, setup):
    client = as_user(app, setup.admin)
    office_page = client.get("/staff/catalog/offices/THE1").get_data(as_text=True)
    assert 'href="/staff/catalog/offices/THE1/retire"' in office_page
    assert _forms_posting_to(office_page, "/staff/catalog/offices/THE1/retire") == 0
    html = client.get("/staff/catalog/offices/THE1/retire?lang=en").get_data(as_text=True)
    assert "Retire “" in html and "You can bring it back into use later." in html
    assert _forms_posting_to(html, "/staff/catalog/offices/THE1/retire") == 1
    service_page = client.get("/staff/catalog/services/family-status").get_data(as_text=True)
    assert 'href="/staff/catalog/services/family-status/retire"' in service_page
    assert _forms_posting_to(service_page, "/staff/catalog/services/family-status/retire") == 0
    html = client.get("/staff/catalog/services/family-status/retire").get_data(as_text=True)
    assert _forms_posting_to(html, "/staff/catalog/services/family-status/retire") == 1
    with app.app_context():
        assert not db.session.get(Office, setup.b).retired
        assert not db.session.get(Service, setup.service).retired
    assert audit_actions(app) == []


def test_confirmation_pages_are_scoped_like_their_actions(app, setup):
    manager = as_user(app, setup.manager)
    assert manager.get("/staff/catalog/offices/ATH1/retire").status_code == 403
    assert manager.get(f"/staff/catalog/offices/THE1/rules/{setup.rule_b}/remove"
                       ).status_code == 403
    assert manager.get(f"/staff/catalog/offices/ATH1/rules/{setup.rule_b}/remove"
                       ).status_code == 404


def test_the_confirmed_action_still_needs_its_csrf_token(app, setup):
    app.config["WTF_CSRF_ENABLED"] = True
    client = as_user(app, setup.manager)
    url = f"/staff/catalog/offices/ATH1/rules/{setup.rule}/remove"
    html = client.get(url).get_data(as_text=True)
    assert 'name="csrf_token"' in html
    assert client.post(url).status_code == 400
    assert count(app, OpeningRule) == 2
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    assert client.post(url, data={"csrf_token": token}).status_code == 302
    assert count(app, OpeningRule) == 1


def test_error_summary_names_the_field_not_the_same_sentence_twice(app, setup):
    client = as_user(app, setup.manager)
    html = client.post("/staff/catalog/offices/ATH1/closures/new?lang=en", data={
        "start_date": "", "end_date": "", "reason-el": ""}).get_data(as_text=True)
    summary = html.split('class="govgr-error-summary"')[1].split("</div>")[0]
    items = [re.sub(r"<[^>]+>", "", li).strip() for li in re.findall(r"<li>(.*?)</li>", summary)]
    assert items[:2] == ["First day: Enter a date.", "Last day: Enter a date."]
    assert items[2].startswith("Reason shown to citizens (Greek): ")
    assert len(set(items)) == len(items)


def test_service_form_lists_errors_in_the_order_of_the_page(app, setup):
    client = as_user(app, setup.admin)
    html = client.post("/staff/catalog/services/new?lang=en", data={
        "code": "", "name-el": "", "ticket_prefix": "", "duration_minutes": "15"}
    ).get_data(as_text=True)
    summary = html.split('class="govgr-error-summary"')[1].split("</div>")[0]
    targets = re.findall(r'href="#([^"]+)"', summary)
    assert targets == ["code", "name-el", "ticket_prefix"]


def test_office_choices_in_the_service_form_name_the_office(app, setup):
    html = as_user(app, setup.admin).get("/staff/catalog/services/new?lang=el"
                                         ).get_data(as_text=True)
    with app.app_context():
        name = db.session.get(Office, setup.a).display_name("el")
    assert f"{name} (ATH1)" in html


def test_description_boxes_are_as_tall_as_their_text(app, setup):
    client = as_user(app, setup.admin)
    with app.app_context():
        service = db.session.get(Service, setup.service)
        service.description = {"el": "\n".join(f"Γραμμή {n}" for n in range(12)),
                               "en": "word " * 100}
        db.session.commit()
    html = client.get("/staff/catalog/services/family-status/edit").get_data(as_text=True)
    el = re.search(r'<textarea[^>]*name="description-el"[^>]*>', html).group(0)
    en = re.search(r'<textarea[^>]*name="description-en"[^>]*>', html).group(0)
    empty = re.search(r'<textarea[^>]*name="summary-en"[^>]*>', html).group(0)
    assert 'rows="13"' in el and "cd-grow" in el
    assert 'rows="9"' in en  # 500 characters wrap to 8 lines of about 70
    assert 'rows="4"' in empty
