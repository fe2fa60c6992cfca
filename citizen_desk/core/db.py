"""Database set-up shared by every capability.

- ``Model``: the declarative base with a constraint naming convention, so
  that Alembic migrations get stable names on both engines.
- ``UTCDateTime``: aware UTC datetimes in and out, whatever the engine.
- ``configure_engine``: per-dialect engine options and, for SQLite, the
  connection pragmas and ``BEGIN IMMEDIATE`` for write transactions (SQLite
  ignores ``FOR UPDATE``, and a deferred transaction that later writes fails
  with ``SQLITE_BUSY`` at once instead of waiting).
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from datetime import datetime, timezone

from flask import g, has_request_context, request
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Model(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC that is always aware in Python.

    Naive datetimes are refused: a naive local time stored as UTC is the
    classic off-by-two-hours bug of an office in Athens.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_write_intent: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "citizen_desk_write_intent", default=None)


def wants_write() -> bool:
    """Whether the transaction about to begin may write.

    Requests with unsafe methods write; a GET that must write (say, a
    device token's last-use time) calls ``declare_write()`` first. Outside
    requests (CLI, tests, jobs) every transaction is treated as a writer.
    """
    forced = _write_intent.get()
    if forced is not None:
        return forced
    if has_request_context():
        return bool(g.get("_citizen_desk_write")) or request.method not in SAFE_METHODS
    return True


def declare_write():
    """Mark the current request as writing; call before its first query."""
    if has_request_context():
        g._citizen_desk_write = True
    else:
        _write_intent.set(True)


@contextmanager
def write_intent(value: bool = True):
    """Force transactions begun inside the block to be (or not be) writers."""
    token = _write_intent.set(value)
    try:
        yield
    finally:
        _write_intent.reset(token)


def engine_options(url: str, config) -> dict:
    """Engine options per dialect (``SQLALCHEMY_ENGINE_OPTIONS``)."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": config.get("SQLITE_BUSY_TIMEOUT", 15),
                                 "check_same_thread": False}}
    # A database restart costs at most the requests in flight.
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10,
            "pool_recycle": 1800}


def configure_engine(engine, config):
    """Attach the per-dialect connection behaviour to ``engine``."""
    if engine.dialect.name != "sqlite":
        return
    busy_ms = int(float(config.get("SQLITE_BUSY_TIMEOUT", 15)) * 1000)

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, connection_record):
        # Let SQLAlchemy's "begin" event, not pysqlite, emit BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if wants_write() else "BEGIN DEFERRED")

