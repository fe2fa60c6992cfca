"""Fixtures shared by the whole suite.

The suite runs on SQLite by default and on PostgreSQL when
``CITIZEN_DESK_TEST_DATABASE_URL`` is set. The schema is created once per
run; every test starts with empty tables.
"""
from __future__ import annotations

import os
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from citizen_desk import create_app
from citizen_desk.core import events
from citizen_desk.extensions import db

TEST_DATABASE_URL = os.environ.get("CITIZEN_DESK_TEST_DATABASE_URL")


def normalise_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """The URL of the test database, with a fresh schema built once per run."""
    if TEST_DATABASE_URL:
        url = normalise_url(TEST_DATABASE_URL)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return url


@pytest.fixture
def dialect(database_url):
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


@contextmanager
def app_for_tests(database_url, tmp_path, **config):
    """An application bound to the test database (``config`` added), emptied afterwards."""
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        **config,
    })
    app.instance_path = str(tmp_path / "instance")
    try:
        yield app
    finally:
        with app.app_context():
            # A stream test started the app's event listener (a thread with a connection of
            # its own): tell it to end, without waiting (it stops within a second), so that
            # a PostgreSQL run does not keep one listening connection per such test.
            events.notifier().stop(timeout=0)
            db.session.remove()
            _empty_tables()
            db.engine.dispose()


@pytest.fixture
def app(database_url, tmp_path):
    """An application bound to the test database, emptied after the test."""
    # No application context stays pushed: each test request gets its own, as
    # in production (a shared one would share ``g`` and the session between
    # requests). Tests that use the database directly take ``app_ctx``.
    with app_for_tests(database_url, tmp_path) as app:
        yield app


@pytest.fixture
def app_ctx(app):
    """An application context for tests that call operations directly.

    Don't make requests with ``client`` while it is pushed: they would share
    its ``g`` (cached locale, actor) instead of getting their own.
    """
    with app.app_context():
        yield app
        db.session.remove()


def _empty_tables():
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if not tables:
        return
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{name}"' for name in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
def make_app(database_url):
    """Build extra applications on the test database; their pools are closed afterwards."""
    made = []

    def make(**config):
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                          "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
                          **config})
        made.append(app)
        return app
    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
