"""The catalog's staff screens for services: who may change which, validation, retiring."""
import html as html_module
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from citizen_desk.offices.models import Office
from citizen_desk.catalog.models import Service
from citizen_desk.extensions import db
from citizen_desk.core.audit import AuditEntry
from citizen_desk.staff.models import Role
from tests.factories import create_office, create_service, create_user
from tests.staff.test_admin import as_user


@pytest.fixture
def setup(app):
    with app.app_context():
        a, b = create_office("ATH1"), create_office("THE1")
        own = create_service(code="family-status", ticket_prefix="A", offices=[a],
                             documents={"el": ["Ταυτότητα"]})
        shared = create_service(code="birth", ticket_prefix="B", offices=[a, b])
        ids = SimpleNamespace(
            a=a.id, b=b.id, own=own.id, shared=shared.id,
            admin=create_user("admin@example.gr", Role.admin).id,
            manager=create_user("manager@example.gr", Role.manager, a).id,
            ngo=create_user("ngo@example.gr", Role.ngo).id)
        db.session.commit()
        return ids


def service_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count(Service.id)))


def audit_rows(app):
    with app.app_context():
        return [(e.action, e.office_id, e.details) for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "service",
                                     AuditEntry.actor_user_id.is_not(None))
            .order_by(AuditEntry.id))]


def is_retired(app, service_id) -> bool:
    with app.app_context():
        return db.session.get(Service, service_id).retired


BANNER = re.compile(r'<div class="govgr-notification-banner([^"]*)" role="(\w+)">\s*'
                    r'<div class="govgr-notification-banner__content">'
                    r'<p class="govgr-body">(.*?)</p>', re.S)


def flashes(response) -> list[tuple[str, str]]:
    """The messages a page shows, as ``(kind, text)``: kind is success, error or info.

    A one-button action redirects whether it worked or was refused; only the
    message on the page it redirects to tells the two apart.
    """
    found = []
    for classes, role, text in BANNER.findall(response.get_data(as_text=True)):
        kind = "success" if "--success" in classes else "error" if role == "alert" else "info"
        found.append((kind, html_module.unescape(text)))
    return found


def form_data(setup, **changes):
    data = {"code": "amka", "ticket_prefix": "c", "duration_minutes": "15",
            "offices": [str(setup.a)], "name-el": "Έκδοση ΑΜΚΑ", "name-en": "AMKA issue",
            "summary-el": "Αριθμός Μητρώου Κοινωνικής Ασφάλισης",
            "documents-el": "Ταυτότητα\nΑΦΜ\n", "documents-en": "Identity card",
            "required_fields": ["afm"], "bookable_online": "y", "walk_in": "y",
            "link-el": "https://www.gov.gr/amka"}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_manager_creates_a_service_at_their_office(app, setup):
    client = as_user(app, setup.manager)
    page = client.get("/staff/catalog/services/new").get_data(as_text=True)
    assert "ATH1" in page and "THE1" not in page  # only offices they manage
    response = client.post("/staff/catalog/services/new", data=form_data(setup))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/catalog/services/amka")
    with app.app_context():
        service = db.session.scalar(select(Service).where(Service.code == "amka"))
        assert service.ticket_prefix == "C" and service.required_fields == ["afm"]
        assert service.documents == {"el": ["Ταυτότητα", "ΑΦΜ"], "en": ["Identity card"]}
        assert [o.code for o in service.offices] == ["ATH1"]
    assert audit_rows(app) == [("catalog.service.create", setup.a, {"code": "amka"})]
    # Citizens find it at once.
    assert "Έκδοση ΑΜΚΑ" in app.test_client().get("/services?q=αμκα").get_data(as_text=True)


@pytest.mark.parametrize("changes, field, message", [
    ({"name-el": ""}, "name-el", "Συμπληρώστε το κείμενο στα ελληνικά."),
    ({"ticket_prefix": "a"}, "ticket_prefix", "το πρόθεμα A χρησιμοποιείται ήδη"),
    ({"duration_minutes": "20"}, "duration_minutes", "15"),
    ({"offices": None}, "offices", "Επιλέξτε τουλάχιστον ένα από τα γραφεία σας."),
    ({"code": "birth"}, "code", None),
])
def test_service_errors_are_shown_in_greek_and_change_nothing(app, setup, changes, field,
                                                              message):
    client = as_user(app, setup.manager)
    before = service_count(app)
    response = client.post("/staff/catalog/services/new?lang=el",
                           data=form_data(setup, **changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "govgr-error-summary" in html and f'href="#{field}"' in html
    if message:
        assert message in html
    assert service_count(app) == before and audit_rows(app) == []


def test_manager_edits_their_own_service(app, setup):
    client = as_user(app, setup.manager)
    page = client.get("/staff/catalog/services/family-status/edit").get_data(as_text=True)
    assert "Ταυτότητα" in page
    data = form_data(setup, code="family-status", ticket_prefix="A",
                     **{"name-el": "Πιστοποιητικό οικογενειακής κατάστασης"})
    assert client.post("/staff/catalog/services/family-status/edit",
                       data=data).status_code == 302
    with app.app_context():
        service = db.session.get(Service, setup.own)
        assert service.name["el"] == "Πιστοποιητικό οικογενειακής κατάστασης"
    (action, office_id, details), = audit_rows(app)
    assert action == "catalog.service.update" and office_id == setup.a
    assert "name" in details["fields"]


def test_a_service_shared_with_another_office_is_read_only_for_a_manager(app, setup):
    client = as_user(app, setup.manager)
    view = client.get("/staff/catalog/services/birth")
    assert view.status_code == 200
    assert "/staff/catalog/services/birth/edit" not in view.get_data(as_text=True)
    assert client.get("/staff/catalog/services/birth/edit").status_code == 403
    assert client.post("/staff/catalog/services/birth/edit",
                       data=form_data(setup, code="birth", ticket_prefix="B")).status_code == 403
    assert client.post("/staff/catalog/services/birth/retire").status_code == 403
    with app.app_context():
        service = db.session.get(Service, setup.shared)
        assert not service.retired and service.display_name("el") != "Έκδοση ΑΜΚΑ"
    assert audit_rows(app) == []
    # The administrator may, and sees the link the manager does not.
    admin = as_user(app, setup.admin)
    assert "/staff/catalog/services/birth/edit" in admin.get(
        "/staff/catalog/services/birth").get_data(as_text=True)
    assert admin.get("/staff/catalog/services/birth/edit").status_code == 200
    response = admin.post("/staff/catalog/services/birth/retire", follow_redirects=True)
    assert response.request.path == "/staff/catalog/services/birth"
    assert flashes(response) == [("success", "Η υπηρεσία αποσύρθηκε.")]
    assert is_retired(app, setup.shared)
    # One entry per office concerned, so that each office's managers see it.
    assert audit_rows(app) == [("catalog.service.retire", setup.a, {"code": "birth"}),
                               ("catalog.service.retire", setup.b, {"code": "birth"})]


def test_retire_keeps_the_row_and_reinstate_brings_it_back(app, setup):
    client, citizen = as_user(app, setup.manager), app.test_client()
    assert citizen.get("/services/family-status").status_code == 200
    response = client.post("/staff/catalog/services/family-status/retire",
                           follow_redirects=True)
    assert response.request.path == "/staff/catalog/services/family-status"
    assert flashes(response) == [("success", "Η υπηρεσία αποσύρθηκε.")]
    assert is_retired(app, setup.own)
    assert service_count(app) == 2  # retired, not deleted
    assert citizen.get("/services/family-status").status_code == 404
    assert audit_rows(app) == [("catalog.service.retire", setup.a, {"code": "family-status"})]

    response = client.post("/staff/catalog/services/family-status/reinstate",
                           follow_redirects=True)
    assert flashes(response) == [("success", "Η υπηρεσία είναι ξανά σε λειτουργία.")]
    assert not is_retired(app, setup.own)
    assert citizen.get("/services/family-status").status_code == 200
    assert audit_rows(app)[1:] == [("catalog.service.reinstate", setup.a,
                                    {"code": "family-status"})]


def test_a_refused_reinstate_says_why_and_changes_nothing(app, setup):
    client = as_user(app, setup.manager)
    client.post("/staff/catalog/services/family-status/retire", follow_redirects=True)
    assert is_retired(app, setup.own)
    # Retiring freed the prefix A at ATH1, and another service took it.
    with app.app_context():
        create_service(code="marriage", ticket_prefix="A",
                       offices=[db.session.get(Office, setup.a)])
        db.session.commit()
    before = audit_rows(app)
    response = client.post("/staff/catalog/services/family-status/reinstate",
                           follow_redirects=True)
    # The action redirects as a successful one does: the message and the data differ.
    assert response.request.path == "/staff/catalog/services/family-status"
    assert flashes(response) == [("error", "Στο γραφείο ATH1 το πρόθεμα A χρησιμοποιείται "
                                           "ήδη από την υπηρεσία marriage.")]
    assert is_retired(app, setup.own)
    assert audit_rows(app) == before
    assert app.test_client().get("/services/family-status").status_code == 404


def test_ngo_staff_and_anonymous_are_refused(app, setup):
    ngo = as_user(app, setup.ngo)
    assert ngo.get("/staff/catalog/services").status_code == 403
    assert ngo.post("/staff/catalog/services/new", data=form_data(setup)).status_code == 403
    assert ngo.post("/staff/catalog/services/family-status/retire").status_code == 403
    assert app.test_client().post("/staff/catalog/services/family-status/retire"
                                  ).status_code == 401
    assert service_count(app) == 2
    assert not is_retired(app, setup.own) and audit_rows(app) == []


def test_csrf_less_retire_is_refused(app, setup):
    app.config["WTF_CSRF_ENABLED"] = True
    client = as_user(app, setup.admin)
    assert client.post("/staff/catalog/services/family-status/retire").status_code == 400
    assert client.post("/staff/catalog/services/new", data=form_data(setup)).status_code == 400
    assert not is_retired(app, setup.own)
    assert service_count(app) == 2 and audit_rows(app) == []


def test_service_list_marks_what_the_manager_may_change(app, setup):
    html = as_user(app, setup.manager).get("/staff/catalog/services").get_data(as_text=True)
    assert "/staff/catalog/services/family-status/edit" in html
    assert "/staff/catalog/services/birth/edit" not in html
    # The administrator's list links both, so the absence above is the manager's.
    html = as_user(app, setup.admin).get("/staff/catalog/services").get_data(as_text=True)
    assert "/staff/catalog/services/birth/edit" in html


def test_import_audits_each_change_and_a_summary_with_counts(app, runner, tmp_path):
    import json

    from tests.factories import minimal_document
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(minimal_document()), encoding="utf-8")
    result = runner.invoke(args=["catalog", "import", str(path)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [e.action for e in entries] == [
            "catalog.office.create", "catalog.service.create", "catalog.import"]
        assert entries[-1].details["services"]["created"] == 1
    # The same file again changes nothing, and says so in one summary entry.
    result = runner.invoke(args=["catalog", "import", str(path)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions[3:] == ["catalog.import"]
