"""The application factory, configuration and the health check."""
import pytest

from citizen_desk import ConfigError, create_app


def test_home_page_is_greek_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="el" dir="ltr">' in html
    assert "Μετάβαση στο κύριο περιεχόμενο" in html
    assert "vendor/digigov.css" in html


def test_health_reports_database(client, dialect):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "dialect": dialect}


def test_health_reports_unreachable_database_as_503(tmp_path):
    app = create_app({"TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    response = app.test_client().get("/api/v1/health")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def test_production_refuses_the_default_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("CITIZEN_DESK_ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_starts_with_a_real_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("CITIZEN_DESK_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/prod.sqlite")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("prod.sqlite")


@pytest.mark.parametrize("url", ["not a url", "mysql://root@localhost/x", "://"])
def test_bad_database_url_gives_a_clear_message(monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        create_app({"TESTING": True})


def test_postgres_urls_use_psycopg3(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/cd")
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/cd"


def test_default_database_is_a_file_in_the_instance_folder(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == (
        f"sqlite:///{app.instance_path}/citizen_desk.sqlite")


def test_prefixed_environment_variables_are_read(monkeypatch):
    monkeypatch.setenv("CITIZEN_DESK_DEFAULT_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("SMTP_PORT", "2525")
    app = create_app({"TESTING": True})
    assert app.config["DEFAULT_TIMEZONE"] == "Europe/Berlin"
    assert app.config["SMTP_PORT"] == 2525


def test_unknown_environment_name_is_refused(monkeypatch):
    monkeypatch.setenv("CITIZEN_DESK_ENV", "staging")
    with pytest.raises(ConfigError, match="CITIZEN_DESK_ENV"):
        create_app()
