"""Error pages are translated and never show a traceback."""
from sqlalchemy.exc import OperationalError

from citizen_desk.core.access import permission, public


def test_unknown_page_is_a_translated_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Η σελίδα δεν βρέθηκε" in html
    assert "Traceback" not in html


def test_unknown_page_in_english(client):
    response = client.get("/no/such/page?lang=en")
    assert "Page not found" in response.get_data(as_text=True)


def test_api_errors_are_json(client):
    response = client.get("/api/v1/no-such-endpoint", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.json["error"]["status"] == 404
    assert response.json["error"]["title"] == "Page not found"


def test_method_not_allowed_is_translated_and_names_allowed_methods(client):
    response = client.post("/api/v1/health")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_unexpected_exception_is_a_translated_500(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    @permission(public)
    def boom():
        raise RuntimeError("boom")

    response = client.get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Λυπούμαστε, υπάρχει πρόβλημα με την υπηρεσία" in html
    assert "RuntimeError" not in html


def test_database_outage_is_a_translated_503(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/db-down")
    @permission(public)
    def db_down():
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    response = client.get("/db-down")
    assert response.status_code == 503
    assert "Η υπηρεσία δεν είναι προσωρινά διαθέσιμη" in response.get_data(as_text=True)


def test_a_route_without_a_declared_permission_is_refused(app, client):
    @app.get("/undeclared")
    def undeclared():
        return "secret"

    assert client.get("/undeclared").status_code == 403
