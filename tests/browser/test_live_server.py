"""The browser tests' live server ends what it served before the ``app`` fixture disposes
the app's engine: an event stream whose browser is still connected, and the app's event
listener. No Chromium needed: a raw socket plays a screen that never reads."""
from __future__ import annotations

import socket
import threading

from citizen_desk.core import events, uow
from citizen_desk.extensions import db
from citizen_desk.staff.models import TokenPurpose
from tests.browser.conftest import serve
from tests.factories import create_office, create_token


def test_stopping_ends_a_connected_event_stream_and_the_apps_listener(app):
    with app.app_context():
        def work():
            office = create_office()
            return office.code, create_token(TokenPurpose.display, office)[1]
        code, secret = uow.run(work)
        db.session.remove()
    before = set(threading.enumerate())

    with serve(app) as server:
        screen = socket.create_connection(("127.0.0.1", server.server_port), timeout=10)
        screen.sendall(f"GET /offices/{code}/display/events HTTP/1.1\r\n"
                       f"Host: 127.0.0.1\r\nAuthorization: Bearer {secret}\r\n\r\n".encode())
        received = screen.recv(4096)
        while b"retry: 3000" not in received:
            received += screen.recv(4096)
        assert received.startswith(b"HTTP/1.1 200")
        with app.app_context():
            assert events.notifier().wait_listening(5)
        listeners = [thread for thread in set(threading.enumerate()) - before
                     if thread.name == "citizen-desk-events"]
        assert len(listeners) == 1
        assert len(server.connections) == 1

    # The screen never hung up, yet its stream has ended and the server closed the connection.
    assert not server.connections
    while chunk := screen.recv(4096):
        received += chunk
    screen.close()
    assert not listeners[0].is_alive()
