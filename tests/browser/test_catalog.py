"""Catalog journeys in a real browser: search without accents, a service page, accessibility."""
import pytest

from citizen_desk.catalog.demo import demo_document
from citizen_desk.catalog.transfer.importer import import_catalog
from citizen_desk.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app):
    with app.app_context():
        import_catalog(demo_document())
        db.session.commit()


def test_search_without_accents_finds_the_certificates(demo, page, live_server):
    page.goto(live_server.url + "/")
    page.get_by_label("Αναζήτηση υπηρεσίας").fill("πιστοποιητικο")
    page.get_by_role("button", name="Αναζήτηση").click()
    page.wait_for_url("**/services?q=*")
    heading = page.get_by_role("heading", level=2).first.inner_text()
    assert heading.startswith("Βρέθηκαν")
    results = page.locator("main .govgr-list__item a").all_inner_texts()
    assert results[0] == "Πιστοποιητικό γέννησης"
    assert "Πιστοποιητικό οικογενειακής κατάστασης" in results
    assert "Πιστοποιητικό εγγυτέρων συγγενών" in results


def test_open_a_service_page_and_tick_documents(demo, page, live_server):
    page.goto(live_server.url + "/services?q=ΓΝΗΣΙΟΥ ΥΠΟΓΡΑΦΗΣ")
    page.get_by_role("link", name="Θεώρηση γνησίου υπογραφής σε εξουσιοδότηση").click()
    assert page.locator("h1").inner_text() == "Θεώρηση γνησίου υπογραφής σε εξουσιοδότηση"
    checkbox = page.get_by_label("Το έγγραφο προς υπογραφή, ανυπόγραφο")
    checkbox.check()
    assert checkbox.is_checked()
    page.get_by_role("link", name="ΚΕΠ Δήμου Αθηναίων – Κεντρικό").click()
    assert page.locator("h1").inner_text() == "ΚΕΠ Δήμου Αθηναίων – Κεντρικό"


@pytest.mark.parametrize("path", [
    "/services", "/services?q=πιστοποιητικο", "/services/family-status",
    "/services/amka-issue?lang=en", "/offices", "/offices/ATH1", "/offices/THE1?lang=en",
])
def test_catalog_pages_have_no_serious_accessibility_violations(demo, page, live_server,
                                                                 axe_scan, path):
    page.goto(live_server.url + path)
    assert axe_scan() == []
