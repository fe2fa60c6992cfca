"""The public catalog pages in Greek and English, escaping, and a fixed number of queries."""
import re

import pytest
from sqlalchemy import event

from citizen_desk.catalog.demo import demo_document
from citizen_desk.catalog.transfer.importer import import_catalog
from citizen_desk.extensions import db
from tests.factories import create_office, create_service


@pytest.fixture
def demo(app):
    with app.app_context():
        import_catalog(demo_document())
        db.session.commit()
    return app


def visible_text(html):
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return " ".join(html.split())


def latin_words(text):
    allowed = {"english", "gov"}  # the language switcher; gov.gr is a name
    text = re.sub(r"\S+@\S+", " ", text)  # e-mail addresses
    text = re.sub(r"https?://\S+", " ", text)  # web addresses (a printed page shows its own)
    return sorted({w for w in re.findall(r"[A-Za-z]{3,}", text) if w.lower() not in allowed})


@pytest.mark.parametrize("path", ["/services", "/services?q=πιστοποιητικο",
                                  "/services/family-status", "/services/amka-issue",
                                  "/offices", "/offices/THE1"])
def test_greek_pages_have_no_english_text(demo, client, path):
    response = client.get(path + ("&" if "?" in path else "?") + "lang=el")
    assert response.status_code == 200
    assert latin_words(visible_text(response.get_data(as_text=True))) == []


def test_catalog_by_category_in_greek_and_english(demo, client):
    html = client.get("/services?lang=el").get_data(as_text=True)
    assert "Πολιτική κατάσταση και ληξιαρχείο" in html
    assert "Θεώρηση γνησίου υπογραφής σε εξουσιοδότηση" in html
    html = client.get("/services?lang=en").get_data(as_text=True)
    assert "Civil status and registry" in html and "Certified signature on an authorisation" in html


def test_search_results_page(demo, client):
    html = client.get("/services", query_string={"q": "ΠΙΣΤΟΠΟΙΗΤΙΚΟ", "lang": "el"}).get_data(
        as_text=True)
    assert "Πιστοποιητικό οικογενειακής κατάστασης" in html
    assert "Έκδοση Αριθμού Μητρώου" not in html
    response = client.get("/services", query_string={"q": "x" * 201})
    assert response.status_code == 422
    html = client.get("/services?q=zzzz&lang=en").get_data(as_text=True)
    assert "No services found for “zzzz”" in html and "0 services" not in html


def test_service_page_shows_documents_offices_and_hours(demo, client):
    html = client.get("/services/family-status?lang=el").get_data(as_text=True)
    assert "Έγγραφα που χρειάζεστε" in html
    assert 'type="checkbox"' in html and "Αστυνομική ταυτότητα ή διαβατήριο σε ισχύ" in html
    assert "Λιοσίων 22, 104 38 Αθήνα" in html and "Βασιλέως Γεωργίου" in html
    assert "08:00–13:00" in html
    html = client.get("/services/family-status?lang=en").get_data(as_text=True)
    assert "Documents to bring" in html and "about 15 minutes" in html


def test_office_page_shows_hours_closures_and_services(demo, client):
    html = client.get("/offices/THE1?lang=en").get_data(as_text=True)
    assert "Thessaloniki City Hall" in html
    assert "every 2 weeks" in html and "walk-in only" in html
    assert "Residents&#39; parking permit" in html or "Residents' parking permit" in html
    html = client.get("/offices/ATH1?lang=el").get_data(as_text=True)
    assert "Δευτέρα" in html and "Κλειστό" in html


def test_unknown_pages_are_translated_404s(demo, client):
    assert client.get("/services/nope?lang=el").status_code == 404
    response = client.get("/offices/NOPE?lang=el")
    assert response.status_code == 404 and "Η σελίδα δεν βρέθηκε" in response.get_data(as_text=True)


def test_html_in_content_is_escaped(app, client):
    with app.app_context():
        office = create_office(code="ATH1", name={"el": "<b>Γραφείο</b>"})
        create_service(code="xss", offices=[office], name={"el": "<script>alert(1)</script>"},
                       documents={"el": ['<img src=x onerror="alert(1)">']})
        db.session.commit()
    for path in ("/services", "/services/xss", "/offices/ATH1", "/services?q=script"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in html and "<img src=x" not in html
        assert "&lt;" in html


def count_queries(app, client, path):
    statements = []

    def record(*args):
        statements.append(args[2])
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(statements)


@pytest.mark.parametrize("path", ["/services", "/services?q=πιστοποιητικο", "/offices/ATH1",
                                  "/api/v1/services?q=πιστοποιητικο"])
def test_pages_do_not_run_a_query_per_service(demo, client, path):
    before = count_queries(demo, client, path)
    with demo.app_context():
        from citizen_desk.catalog.queries import office_by_code
        office = office_by_code("ATH1")
        for n in range(15):
            create_service(code=f"extra-{n}", offices=[office], ticket_prefix="Z" + "ABCDEFGHJKLMNPR"[n],
                           name={"el": f"Πιστοποιητικό δοκιμής {n}"})
        db.session.commit()
    assert count_queries(demo, client, path) == before
