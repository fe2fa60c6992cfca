"""The catalog's JSON API: search, offices, and 4xx answers that name the field."""
import pytest

from citizen_desk.catalog.demo import demo_document
from citizen_desk.catalog.transfer.importer import import_catalog
from citizen_desk.extensions import db


@pytest.fixture
def demo(app):
    with app.app_context():
        import_catalog(demo_document())
        db.session.commit()
    return app


def test_services_search_in_the_requested_language(demo, client):
    for query in ("πιστοποιητικο", "ΠΙΣΤΟΠΟΙΗΤΙΚΟ", "Πιστοποιητικό"):
        body = client.get("/api/v1/services", query_string={"q": query, "lang": "en"}).json
        codes = [s["code"] for s in body["services"]]
        assert codes[:3] == ["birth-certificate", "family-status", "next-of-kin"]
    first = body["services"][0]
    assert first["name"] == "Birth certificate" and first["duration_minutes"] == 15
    assert first["offices"] == ["ATH1", "THE1"] and body["language"] == "en"


def test_services_filtered_by_office_and_limited(demo, client):
    body = client.get("/api/v1/services?office=THE1&lang=el").json
    codes = [s["code"] for s in body["services"]]
    assert "parking-permit" in codes and "ehic" not in codes
    assert len(client.get("/api/v1/services?limit=3").json["services"]) == 3


@pytest.mark.parametrize("query, field, message", [
    ("lang=%3Cscript%3E", "lang", "Δώστε κωδικό γλώσσας, π.χ. el ή en."),
    ("limit=0", "limit", "Δώστε ακέραιο αριθμό από 1 έως 200."),
    ("limit=abc", "limit", "Δώστε ακέραιο αριθμό από 1 έως 200."),
    ("limit=5.0", "limit", "Δώστε ακέραιο αριθμό από 1 έως 200."),
    ("office=NOPE", "office", "Δεν υπάρχει γραφείο με αυτόν τον κωδικό."),
    ("office=..%2F", "office", "Δεν υπάρχει γραφείο με αυτόν τον κωδικό."),
    ("q=" + "x" * 201, "q", "Συμπληρώστε έως 200 χαρακτήρες."),
])
def test_bad_parameters_are_422_naming_the_field(demo, client, query, field, message):
    response = client.get("/api/v1/services?" + query)
    assert response.status_code == 422
    assert response.json["error"]["field"] == field
    assert response.json["error"]["message"] == message
    assert response.json["errors"] == {field: message}


def test_every_bad_parameter_is_listed_in_english(demo, client):
    response = client.get("/api/v1/services?lang=en&limit=999&office=NOPE&q=" + "x" * 201)
    assert response.status_code == 422
    assert response.json["errors"] == {
        "limit": "Give a whole number from 1 to 200.",
        "office": "There is no office with this code.",
        "q": "Enter at most 200 characters.",
    }
    assert "field" not in response.json["error"]


def test_empty_and_unknown_parameters_are_ignored(demo, client):
    body = client.get("/api/v1/services?lang=&limit=&office=&q=&utm_source=x").json
    assert body["language"] == "el"
    assert body["count"] == client.get("/api/v1/services").json["count"] > 3
    assert client.get("/api/v1/offices?lang=EN&page=2").json["language"] == "en"


def test_offices_refuse_a_bad_language(demo, client):
    for path in ("/api/v1/offices", "/api/v1/offices/ATH1"):
        response = client.get(path + "?lang=english")
        assert response.status_code == 422
        assert response.json["errors"] == {"lang": "Δώστε κωδικό γλώσσας, π.χ. el ή en."}


def test_offices_list_and_detail(demo, client):
    offices = client.get("/api/v1/offices?lang=en").json["offices"]
    assert [o["code"] for o in offices] == ["ATH1", "THE1"]
    assert offices[0]["timezone"] == "Europe/Athens"
    body = client.get("/api/v1/offices/ATH1?lang=en").json
    assert body["address"] == "22 Liosion Street, 104 38 Athens"
    assert {r["start_time"] for r in body["opening_rules"]} == {"08:00", "13:00", "17:00"}
    counter = body["counters"][0]
    assert set(counter) >= {"id", "label", "services"} and counter["label"] == "Counter 1"
    assert "family-status" in counter["services"]
    assert all("date" in c and "reason" in c for c in body["closures"])


def test_unknown_office_is_a_json_404(demo, client):
    response = client.get("/api/v1/offices/NOPE?lang=el")
    assert response.status_code == 404
    assert response.json["error"]["message"] == "Δεν υπάρχει γραφείο με αυτόν τον κωδικό."


def test_cached_search_follows_catalog_changes(demo, client):
    url = "/api/v1/services?q=αμκα&lang=el"
    assert [s["code"] for s in client.get(url).json["services"]] == ["amka-issue"]
    with demo.app_context():
        from citizen_desk.catalog import service_operations as service_ops
        from citizen_desk.catalog.queries import service_by_code
        service_ops.retire_service(service_by_code("amka-issue"))
        db.session.commit()
    assert client.get(url).json["services"] == []


def test_another_process_sees_a_change_once_its_cache_expires(demo, client, database_url):
    from citizen_desk import create_app
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                        "CATALOG_CACHE_SECONDS": 0})
    other_client = other.test_client()
    url = "/api/v1/services?q=ehic&lang=en"
    assert len(other_client.get(url).json["services"]) == 1
    with demo.app_context():
        from citizen_desk.catalog import service_operations as service_ops
        from citizen_desk.catalog.queries import service_by_code
        service_ops.retire_service(service_by_code("ehic"))
        db.session.commit()
    assert other_client.get(url).json["services"] == []
    with other.app_context():
        db.engine.dispose()
