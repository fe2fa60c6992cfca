"""The yardstick: a bare Flask app served exactly like citizen_desk.

Every scenario's figures are reported as a ratio against this app's in the
same run, so that the numbers mean something on any machine.

``POST /write`` is a second reference, the *write floor*: the least a
request that issues a ticket could cost in this stack — one transaction of
three statements through SQLAlchemy Core (a numbering upsert, a row, an
event row) on the benchmark's database, and nothing else (no
authentication, no validation, no ORM, no answer to compute). Its ratio
shows how far above the GET baseline any write of this stack can reach on
the machine at hand.
"""
import os
import secrets
import threading

from flask import Flask, jsonify, render_template_string
from sqlalchemy import (BigInteger, Column, Integer, MetaData, String, Table, create_engine,
                        insert, text)

app = Flask(__name__)

PAGE = """<!doctype html><html lang="el"><head><meta charset="utf-8">
<title>{{ title }}</title></head><body><h1>{{ title }}</h1>
{% for item in items %}<p>{{ item }}</p>{% endfor %}</body></html>"""


@app.get("/")
def page():
    return render_template_string(PAGE, title="Αρχική", items=["ένα", "δύο", "τρία"])


@app.get("/json")
def small_json():
    return jsonify(status="ok", items=[{"code": i, "name": f"item {i}"} for i in range(10)])


_metadata = MetaData()
_sequence = Table("bench_floor_sequence", _metadata, Column("k", Integer, primary_key=True),
                  Column("last", Integer, nullable=False))
_ticket = Table("bench_floor_ticket", _metadata, Column("id", Integer, primary_key=True),
                Column("public_id", String(43), unique=True), Column("seq", Integer))
_event = Table("bench_floor_event", _metadata,
               Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
               Column("subject", Integer))
_engine = None
_engine_lock = threading.Lock()


def _url(database_url: str) -> str:
    return database_url.replace("postgresql://", "postgresql+psycopg://", 1)


def prepare(env: dict):
    """The harness's hook: create the write floor's tables before the servers start (two
    workers creating them at their first request would race for PostgreSQL's catalog)."""
    engine = create_engine(_url(env["DATABASE_URL"]))
    try:
        _metadata.create_all(engine)
    finally:
        engine.dispose()


def _database():
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = create_engine(_url(os.environ["DATABASE_URL"]), pool_size=10)
        return _engine


@app.post("/write")
def write_floor():
    with _database().begin() as connection:
        seq = connection.execute(text(
            "INSERT INTO bench_floor_sequence (k, last) VALUES (1, 1) "
            "ON CONFLICT (k) DO UPDATE SET last = bench_floor_sequence.last + 1 "
            "RETURNING last")).scalar_one()
        ticket = connection.execute(insert(_ticket).values(
            public_id=secrets.token_urlsafe(24), seq=seq).returning(_ticket.c.id)).scalar_one()
        connection.execute(insert(_event).values(subject=ticket))
    return jsonify(id=ticket, number=f"Q{seq:03d}"), 201
