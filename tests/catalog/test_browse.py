"""Browsing a large catalog: categories first, paged categories and paged search results."""
import re

import pytest

from citizen_desk.catalog import views
from citizen_desk.catalog.service_operations import ensure_category
from citizen_desk.extensions import db
from tests.factories import create_office, create_service


@pytest.fixture
def large_catalog(app, monkeypatch):
    """45 services in two categories and none, with small page sizes to see paging."""
    monkeypatch.setattr(views, "LIST_ALL_UP_TO", 10)
    monkeypatch.setattr(views, "PER_PAGE", 10)
    with app.app_context():
        office = create_office("ATH1")
        civil = ensure_category("civil", {"el": "Πολιτική κατάσταση", "en": "Civil status"}, 1)
        tax = ensure_category("tax", {"el": "Φορολογία", "en": "Taxation"}, 2)
        for n in range(45):
            category = civil if n % 3 == 0 else tax if n % 3 == 1 else None
            create_service(code=f"s{n:02d}", name={"el": f"Πιστοποιητικό αριθμός {n:02d}",
                                                   "en": f"Certificate number {n:02d}"},
                           offices=[office], category=category)
        db.session.commit()


def pages_of(html):
    return re.findall(r"Σελίδα (\d+) από (\d+)", html)


def test_large_catalog_shows_categories_with_counts(client, large_catalog):
    html = client.get("/services?lang=el").get_data(as_text=True)
    assert "Υπηρεσίες ανά κατηγορία" in html
    assert html.index("Πολιτική κατάσταση") < html.index("Φορολογία") < html.index("Άλλες υπηρεσίες")
    assert "15 υπηρεσίες" in html
    assert "Πιστοποιητικό αριθμός" not in html


def test_category_pages(client, large_catalog):
    first = client.get("/services?category=civil&lang=el").get_data(as_text=True)
    assert pages_of(first) == [("1", "2")]
    assert "Πιστοποιητικό αριθμός 00" in first and "Πιστοποιητικό αριθμός 03" in first
    second = client.get("/services?category=civil&page=2&lang=el").get_data(as_text=True)
    assert "Πιστοποιητικό αριθμός 42" in second and "Πιστοποιητικό αριθμός 00" not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    other = client.get("/services?category=-&lang=el").get_data(as_text=True)
    assert "Άλλες υπηρεσίες" in other and "Πιστοποιητικό αριθμός 02" in other


@pytest.mark.parametrize("path", ["/services?category=nope", "/services?category=civil&page=3"])
def test_unknown_category_or_page_is_404(client, large_catalog, path):
    assert client.get(path).status_code == 404


def test_search_results_are_paged(client, large_catalog):
    html = client.get("/services?q=πιστοποιητικο&lang=el").get_data(as_text=True)
    assert "Βρέθηκαν 45 υπηρεσίες" in html and pages_of(html) == [("1", "5")]
    assert html.count('class="govgr-list__item"') == 10
    last = client.get("/services?q=πιστοποιητικο&page=5&lang=el").get_data(as_text=True)
    assert "Πιστοποιητικό αριθμός 44" in last
    assert client.get("/services?q=πιστοποιητικο&page=abc").status_code == 200
    assert client.get("/services?q=πιστοποιητικο&page=6").status_code == 404


def test_small_catalog_is_listed_whole(client, app):
    with app.app_context():
        create_service(code="one", name={"el": "Μία υπηρεσία", "en": "One service"})
        db.session.commit()
    html = client.get("/services?lang=el").get_data(as_text=True)
    assert "Μία υπηρεσία" in html and "Υπηρεσίες ανά κατηγορία" not in html
