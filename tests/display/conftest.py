"""A desk (``tests/tickets``), display tokens of its office and of another, and a stream reader.

Streams in these tests live ``DISPLAY_STREAM_SECONDS`` (1.5 s) and beat every
0.3 s: reading one to its end is bounded, so a failing test never hangs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from citizen_desk.core import uow
from citizen_desk.extensions import db
from citizen_desk.staff.models import Role, TokenPurpose
from tests.conftest import app_for_tests
from tests.factories import create_office, create_token, create_user
from tests.tickets.conftest import Desk, set_up_desk

STREAM_SECONDS = 1.5
HEARTBEAT_SECONDS = 0.3


@pytest.fixture
def app(database_url, tmp_path):
    """The suite's app, with short-lived streams."""
    with app_for_tests(database_url, tmp_path, DISPLAY_STREAM_SECONDS=STREAM_SECONDS,
                       DISPLAY_HEARTBEAT_SECONDS=HEARTBEAT_SECONDS, DISPLAY_STATE_MAX_AGE=0,
                       EVENTS_POLL_INTERVAL=0.05) as app:
        yield app


@dataclass
class Screens:
    desk: Desk
    office_code: str
    other_code: str
    #: Secrets: the display of the desk's office, of another office, the desk's kiosk.
    display: str
    other_display: str
    kiosk: str
    admin_token: str


@pytest.fixture
def screens(app) -> Screens:
    with app.app_context():
        def build():
            desk = set_up_desk()
            from citizen_desk.offices.models import Office
            office = db.session.get(Office, desk.office_id)
            other = create_office()
            admin = create_user(role=Role.admin)
            return Screens(
                desk, office.code, other.code,
                display=create_token(TokenPurpose.display, office)[1],
                other_display=create_token(TokenPurpose.display, other)[1],
                kiosk=create_token(TokenPurpose.kiosk, office)[1],
                admin_token=create_token(TokenPurpose.integration, user=admin)[1])
        found = uow.run(build)
        db.session.remove()
    return found


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def parse_messages(text: str) -> list[dict]:
    """SSE text → messages ``{"id", "event", "data", "comment"}`` (data JSON-decoded)."""
    messages = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        message = {"id": None, "event": "message", "data": None, "comment": None}
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "":
                message["comment"] = value
            elif field == "id":
                message["id"] = int(value)
            elif field == "event":
                message["event"] = value
            elif field == "data":
                message["data"] = json.loads(value)
            elif field == "retry":
                message["event"] = "retry"
        messages.append(message)
    return messages


def read_stream(client, url: str, headers: dict | None = None) -> tuple[object, list[dict]]:
    """Open a stream, read it to its (bounded) end; the response and its messages."""
    response = client.get(url, headers=headers or {}, buffered=False)
    if response.status_code != 200:
        return response, []
    text = b"".join(response.response).decode()
    response.close()
    return response, parse_messages(text)


def ticket_events(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["id"] is not None]
