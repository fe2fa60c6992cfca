"""Text messages: the log sender, the HTTP gateway adapter against a real HTTP server on
loopback (accepted, refused for good, failing, too slow), and SMS through the outbox —
queued in the unit, sent after its commit, retried, given up and purged like mails."""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from citizen_desk.core import sms, uow
from citizen_desk.core.db import utcnow
from citizen_desk.core.outbox import MailStatus, OutboxMail, queue_mail, queue_sms, send_due
from citizen_desk.extensions import db

PHONE = "+306912345678"
GREEK = "A012: είναι η σειρά σας. Θυρίδα 3"


class Gateway:
    """A loopback HTTP gateway: answers each POST with ``status`` after ``delay`` seconds."""

    def __init__(self):
        self.status, self.delay, self.received = 200, 0.0, []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                gateway.received.append({"path": self.path, "headers": dict(self.headers),
                                         "json": json.loads(body)})
                time.sleep(gateway.delay)
                try:
                    self.send_response(gateway.status)
                    if gateway.status in (301, 302, 307):
                        self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"id": "m-1"}')
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    served = Gateway()
    yield served
    served.close()


def http_config(gateway, **extra):
    return {"SMS_SENDER": "http", "SMS_GATEWAY_URL": gateway.url,
            "SMS_GATEWAY_TOKEN": "gateway-secret", "SMS_SENDER_ID": "KEP-ATH",
            "SMS_GATEWAY_TIMEOUT": 1, **extra}


# -- the senders -----------------------------------------------------------------------------

def test_the_log_sender_is_the_default_and_logs_the_message(caplog):
    sender = sms.sender_for({})
    assert isinstance(sender, sms.LogSender)
    with caplog.at_level(logging.INFO, logger="citizen_desk.sms"):
        sender.send(PHONE, GREEK, "outbox.1")
    assert PHONE in caplog.text and GREEK in caplog.text and "ucs2, 1 part" in caplog.text


def test_the_http_sender_posts_json_with_the_bearer_token(gateway):
    sms.sender_for(http_config(gateway)).send(PHONE, GREEK, "outbox.7")
    [request] = gateway.received
    assert request["path"] == "/send"
    assert request["headers"]["Authorization"] == "Bearer gateway-secret"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["json"] == {"to": PHONE, "text": GREEK, "sender": "KEP-ATH",
                               "reference": "outbox.7"}


@pytest.mark.parametrize("status", [400, 404, 422])
def test_a_4xx_answer_refuses_the_message_for_good(gateway, status):
    gateway.status = status
    with pytest.raises(sms.SmsRefused) as refused:
        sms.sender_for(http_config(gateway)).send(PHONE, "hi", "outbox.1")
    assert sms.is_permanent(refused.value) and not sms.is_connection_error(refused.value)


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408, 302])
def test_a_5xx_busy_or_redirect_answer_is_tried_again_later(gateway, status):
    gateway.status = status
    with pytest.raises(sms.SmsGatewayDown) as failed:
        sms.sender_for(http_config(gateway)).send(PHONE, "hi", "outbox.1")
    assert not sms.is_permanent(failed.value) and sms.is_connection_error(failed.value)
    assert len(gateway.received) == 1  # a redirect is not followed with the token


def test_a_gateway_that_does_not_answer_in_time_is_tried_again_later(gateway):
    gateway.delay = 2.5
    started = time.monotonic()
    with pytest.raises(OSError) as slow:
        sms.sender_for(http_config(gateway, SMS_GATEWAY_TIMEOUT=0.5)).send(PHONE, "hi", "o.1")
    assert time.monotonic() - started < 2
    assert not sms.is_permanent(slow.value) and sms.is_connection_error(slow.value)


def test_no_gateway_listening_is_tried_again_later():
    config = {"SMS_SENDER": "http", "SMS_GATEWAY_URL": "http://127.0.0.1:9/send"}
    with pytest.raises(OSError) as refused:
        sms.sender_for(config).send(PHONE, "hi", "outbox.1")
    assert sms.is_connection_error(refused.value) and not sms.is_permanent(refused.value)


def test_a_gateway_address_that_is_not_http_is_never_opened(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("x")
    with pytest.raises(sms.SmsGatewayDown):
        sms.sender_for({"SMS_SENDER": "http", "SMS_GATEWAY_URL": f"file://{secret}"}).send(
            PHONE, "hi", "outbox.1")


@pytest.mark.parametrize("text, expected", [
    ("A012: your turn is near. Please come back to the waiting area.", ("gsm7", 1)),
    ("x" * 160, ("gsm7", 1)), ("x" * 161, ("gsm7", 2)), ("€" * 80, ("gsm7", 1)),
    (GREEK, ("ucs2", 1)), ("α" * 70, ("ucs2", 1)), ("α" * 71, ("ucs2", 2)),
    ("α" * 134, ("ucs2", 2)), ("α" * 135, ("ucs2", 3)),
])
def test_segments_count_parts_as_phone_networks_do(text, expected):
    assert sms.segments(text) == expected


# -- through the outbox ----------------------------------------------------------------------

def sms_rows():
    db.session.expire_all()
    return db.session.scalars(select(OutboxMail).where(OutboxMail.channel == "sms")
                              .order_by(OutboxMail.id)).all()


def test_an_sms_queued_in_a_committed_unit_is_sent_after_the_commit(app_ctx, gateway):
    app_ctx.config.update(http_config(gateway))
    seen_during_unit = []

    def work():
        queue_sms(PHONE, GREEK)
        seen_during_unit.append(len(gateway.received))
    uow.run(work)
    assert seen_during_unit == [0]
    assert [r["json"]["text"] for r in gateway.received] == [GREEK]
    [row] = sms_rows()
    assert row.status == MailStatus.sent and row.recipients == [PHONE] and row.attempts == 1


def test_an_sms_of_a_unit_that_rolls_back_is_never_sent(app_ctx, gateway):
    app_ctx.config.update(http_config(gateway))

    def work():
        queue_sms(PHONE, GREEK)
        raise RuntimeError("the call failed")
    with pytest.raises(RuntimeError):
        uow.run(work)
    assert gateway.received == [] and sms_rows() == []


def test_a_failing_gateway_keeps_the_sms_and_the_next_run_sends_it(app_ctx, gateway):
    app_ctx.config.update(http_config(gateway))
    gateway.status = 503
    uow.run(lambda: queue_sms(PHONE, "one"))
    [row] = sms_rows()
    assert row.status == MailStatus.queued and "503" in row.last_error
    assert row.next_attempt_dt > utcnow()
    gateway.status = 200
    uow.run(lambda: db.session.execute(update(OutboxMail).values(next_attempt_dt=utcnow())))
    report = send_due()
    assert report.sent == 1 and sms_rows()[0].status == MailStatus.sent
    assert [r["json"]["reference"] for r in gateway.received] == [f"outbox.{row.id}"] * 2


def test_a_refused_sms_is_given_up_at_once(app_ctx, gateway):
    app_ctx.config.update(http_config(gateway))
    gateway.status = 400
    uow.run(lambda: queue_sms(PHONE, "one"))
    [row] = sms_rows()
    assert row.status == MailStatus.failed and row.attempts == 1


def test_a_dead_gateway_stops_the_sms_but_not_the_mails(app_ctx, gateway, caplog):
    app_ctx.config.update(http_config(gateway))
    gateway.status = 500

    def work():
        for n in range(3):
            queue_sms(PHONE, f"sms {n}", send_after_commit=False)
            queue_mail("citizen@example.org", f"mail {n}", "body", send_after_commit=False)
    uow.run(work)
    with caplog.at_level(logging.INFO, logger="citizen_desk.mail"):
        report = send_due()
    assert len(gateway.received) == 1, "one failure stops the channel for the run"
    assert report.sent == 3 and report.retrying == 1
    attempts = [row.attempts for row in sms_rows()]
    assert sorted(attempts) == [0, 0, 1]


def test_sms_rows_are_purged_like_mails(app_ctx):
    def work():
        queue_sms(PHONE, "old", send_after_commit=False)
        queue_sms(PHONE, "waiting", send_after_commit=False)
    uow.run(work)
    old, waiting = sms_rows()
    uow.run(lambda: db.session.execute(
        update(OutboxMail).where(OutboxMail.id == old.id).values(
            status=MailStatus.sent, sent_dt=utcnow(), created_dt=utcnow() - timedelta(days=40))))
    result = app_ctx.test_cli_runner().invoke(args=["outbox", "purge", "--days", "30"])
    assert "deleted 1" in result.output
    assert [row.text_body for row in sms_rows()] == ["waiting"]


@pytest.mark.parametrize("to", ["6912345678", "+30 691", "", "+30691234567a"])
def test_queue_sms_refuses_what_is_not_an_e164_number(app_ctx, to):
    with pytest.raises(ValueError):
        queue_sms(to, "text")
