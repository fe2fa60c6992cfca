"""Database set-up: SQLite for several writers, UTC columns, migrations agree with models."""
import os
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text

from citizen_desk import create_app
from citizen_desk.core.db import UTCDateTime
from citizen_desk.extensions import db
from tests.conftest import TEST_DATABASE_URL, normalise_url


def test_sqlite_uses_wal_and_a_busy_timeout(app_ctx, dialect):
    if dialect != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_sqlite_write_transactions_begin_immediate(app_ctx, dialect):
    if dialect != "sqlite":
        pytest.skip("SQLite only")
    statements = []
    from sqlalchemy import event

    def record(conn, cursor, statement, *args):
        statements.append(statement)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with app_ctx.test_request_context("/", method="POST"):
            db.session.execute(text("SELECT 1"))
            db.session.rollback()
        with app_ctx.test_request_context("/", method="GET"):
            db.session.execute(text("SELECT 1"))
            db.session.rollback()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    begins = [s for s in statements if s.startswith("BEGIN")]
    assert begins == ["BEGIN IMMEDIATE", "BEGIN DEFERRED"]


def test_utc_column_round_trips_aware_datetimes(app_ctx):
    column_type = UTCDateTime()
    athens = timezone(timedelta(hours=2))
    value = datetime(2026, 11, 26, 10, 0, tzinfo=athens)
    stored = column_type.process_bind_param(value, db.engine.dialect)
    loaded = column_type.process_result_value(stored, db.engine.dialect)
    assert loaded == value and loaded.tzinfo == timezone.utc
    with pytest.raises(ValueError):
        column_type.process_bind_param(datetime(2026, 1, 1), db.engine.dialect)


@pytest.fixture
def empty_database(tmp_path):
    """A database with nothing in it, on the engine under test."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    base = normalise_url(TEST_DATABASE_URL)
    name = f"citizen_desk_migrations_{os.getpid()}"
    server = create_engine(base.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + "/" + name
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def test_migrations_build_the_schema_the_models_describe(empty_database):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        downgrade(revision="base")
        upgrade()
        db.engine.dispose()


def test_the_search_words_migration_indexes_existing_services(empty_database):
    """Services saved before revision 0005 are found by search right after the upgrade."""
    from sqlalchemy import JSON, column, table

    from citizen_desk.catalog.queries import find_services
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database})
    service = table("service", *[column(name) for name in (
        "code", "ticket_prefix", "required_fields", "created_dt")],
        *[column(name, JSON) for name in ("name", "summary", "description", "documents",
                                          "fees", "link", "synonyms")])
    with app.app_context():
        upgrade(revision="0004")
        db.session.execute(service.insert(), [dict(
            code="family", ticket_prefix="A", required_fields="[]",
            created_dt=datetime(2026, 1, 1, tzinfo=timezone.utc),
            name={"el": "Πιστοποιητικό Οικογενειακής Κατάστασης",
                  "en": "Certificate of family status"},
            summary={"el": "Για τα μέλη της οικογένειας."}, description={},
            documents={}, fees={}, link={}, synonyms={"el": ["οικογενειακή μερίδα"]})])
        db.session.commit()
        upgrade()
        assert [s.code for s in find_services("ΠΙΣΤΟΠΟΙΗΤΙΚΟ οικογ", "el")] == ["family"]
        assert [s.code for s in find_services("μεριδ", "el")] == ["family"]
        assert [s.code for s in find_services("famil", "en")] == ["family"]
        db.session.rollback()
        downgrade(revision="0004")
        texts = db.session.execute(text(
            "SELECT language, rank, text FROM service_search_text ORDER BY language, rank")).all()
        assert [tuple(row) for row in texts] == [
            ("el", 0, "πιστοποιητικο οικογενειακησ καταστασησ"),
            ("el", 1, "οικογενειακη μεριδα"), ("el", 2, "για τα μελη τησ οικογενειασ"),
            ("el", 9, "πιστοποιητικο οικογενειακησ καταστασησ οικογενειακη μεριδα "
                      "για τα μελη τησ οικογενειασ"),
            ("en", 0, "certificate of family status"), ("en", 9, "certificate of family status")]
        db.session.rollback()
        db.engine.dispose()
