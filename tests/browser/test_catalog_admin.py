"""The catalog's staff screens in a real browser, in Greek: a manager's journey, accessibility."""
from datetime import timedelta

import pytest

from citizen_desk.catalog import operations as ops
from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from citizen_desk.staff.models import Role
from tests.browser.test_staff import sign_in
from tests.factories import add_rule, create_office, create_service, create_user

pytestmark = pytest.mark.browser


@pytest.fixture
def catalog(app):
    with app.app_context():
        office = create_office("ATH1", name={"el": "ΚΕΠ Αθηνών", "en": "KEP Athens"})
        service = create_service(code="family-status", ticket_prefix="A", offices=[office],
                                 name={"el": "Πιστοποιητικό οικογενειακής κατάστασης",
                                       "en": "Certificate of family status"})
        rule = add_rule(office)
        today = utcnow().date()
        closure = ops.add_closure(office, today + timedelta(days=40), today + timedelta(days=40),
                                  {"el": "Απογραφή", "en": "Inventory"})
        counter = ops.add_counter(office, "1", {"el": "Θυρίδα 1", "en": "Counter 1"},
                                  services=[service])
        create_user("manager@example.gr", Role.manager, office,
                    display_name="Μαρία Παπαδοπούλου")
        create_user("admin@example.gr", Role.admin, display_name="Γιώργος Αντωνίου")
        db.session.commit()
        return {"rule": rule.id, "closure": closure.id, "counter": counter.id}


def test_manager_adds_a_closure_after_fixing_the_dates(page, live_server, catalog, axe_scan):
    base = live_server.url
    sign_in(page, base, email="manager@example.gr")
    page.wait_for_url("**/staff/")
    page.get_by_role("link", name="Κατάλογος", exact=True).click()
    page.get_by_role("link", name="ΚΕΠ Αθηνών").click()
    page.get_by_role("link", name="Προσθήκη κλεισίματος").click()
    first = utcnow().date() + timedelta(days=20)
    page.get_by_label("Πρώτη ημέρα").fill(first.isoformat())
    page.get_by_label("Τελευταία ημέρα").fill((first - timedelta(days=1)).isoformat())
    page.get_by_label("Ελληνικά").fill("Εργασίες συντήρησης")
    page.get_by_label("Αγγλικά").fill("Maintenance works")
    page.get_by_role("button", name="Αποθήκευση").click()
    summary = page.get_by_role("alert")
    assert summary.inner_text().startswith("Υπάρχει πρόβλημα")
    assert "Η τελευταία ημέρα δεν μπορεί να είναι πριν από την πρώτη." in summary.inner_text()
    assert axe_scan() == []
    page.get_by_label("Τελευταία ημέρα").fill((first + timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Αποθήκευση").click()
    page.wait_for_url("**/staff/catalog/offices/ATH1*")
    assert "Το κλείσιμο προστέθηκε." in page.get_by_role("status").inner_text()
    page.goto(base + "/offices/ATH1?lang=el")
    assert "Εργασίες συντήρησης" in page.locator("main").inner_text()


def test_catalog_screens_are_accessible(page, live_server, catalog, axe_scan):
    sign_in(page, live_server.url)
    page.wait_for_url("**/staff/")
    office = "/staff/catalog/offices/ATH1"
    for path in ("/staff/catalog/offices", "/staff/catalog/offices/new", office,
                 office + "/edit", office + "/services", office + "/rules/new",
                 f"{office}/rules/{catalog['rule']}/edit", office + "/closures/new",
                 f"{office}/closures/{catalog['closure']}/edit", office + "/counters/new",
                 f"{office}/counters/{catalog['counter']}/edit", "/staff/catalog/services",
                 "/staff/catalog/services/new", "/staff/catalog/services/family-status",
                 "/staff/catalog/services/family-status/edit"):
        page.goto(live_server.url + path)
        assert page.locator("h1").count() == 1, path
        assert axe_scan() == [], path
    # Forms with errors, too.
    for path in ("/staff/catalog/services/new", office + "/rules/new", office + "/counters/new",
                 "/staff/catalog/offices/new"):
        page.goto(live_server.url + path)
        page.get_by_role("button", name="Αποθήκευση").click()
        assert page.get_by_role("alert").inner_text().startswith("Υπάρχει πρόβλημα"), path
        assert axe_scan() == [], path
