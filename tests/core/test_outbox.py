"""The outbox: mail written in the unit's transaction, delivered after its commit through a
real SMTP server on loopback, retried while the server is down, never sent twice by
concurrent senders."""
from __future__ import annotations

import email
import email.policy
import logging
import socket
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from citizen_desk.core import uow
from citizen_desk.core.db import utcnow
from citizen_desk.core.outbox import Attachment, MailStatus, OutboxMail, queue_mail, send_due
from citizen_desk.extensions import db

SUBJECT = "Επιβεβαίωση ραντεβού — Πιστοποιητικό οικογενειακής κατάστασης"
BODY = "Καλημέρα σας,\nτο ραντεβού σας κλείστηκε για την Τρίτη στις 10:30.\nΚωδικός: ΑΒΓ-123\n"
ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Ραντεβού στο ΚΕΠ\r\n"
       "END:VEVENT\r\nEND:VCALENDAR\r\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Collector:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages = []
        self.raw = []
        self.refused = set()  # addresses answered with a permanent 550
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), parsed))
            self.raw.append(envelope.original_content)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 and a free port; ``.messages`` holds what it received."""
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    collector.port = controller.port
    yield collector
    controller.stop()


def mail_config(port, **extra):
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_TLS": False,
            "SMTP_TIMEOUT": 5, "SMTP_FROM": "Γραφείο Δήμου <desk@example.gr>", **extra}


@pytest.fixture
def mail_app(app, smtp_server):
    app.config.update(mail_config(smtp_server.port))
    with app.app_context():
        yield app
        db.session.remove()


def rows():
    db.session.rollback()
    return db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()


def make_due():
    """Pretend the back-off is over."""
    uow.run(lambda: db.session.execute(
        update(OutboxMail).values(next_attempt_dt=utcnow() - timedelta(seconds=1))))


def test_mail_queued_in_a_committed_unit_is_delivered_after_the_commit(mail_app, smtp_server):
    def work():
        queue_mail("citizen@example.gr", SUBJECT, BODY, html="<p>Καλημέρα σας</p>",
                   attachments=[Attachment("ραντεβού.ics", "text/calendar; method=PUBLISH", ICS)])
        # Nothing leaves before the commit.
        assert smtp_server.messages == []
    uow.run(work)

    assert len(smtp_server.messages) == 1
    # 7-bit clean: no server is assumed to accept 8BITMIME.
    assert smtp_server.raw[0].isascii()
    recipients, message = smtp_server.messages[0]
    assert recipients == ["citizen@example.gr"]
    assert message["Subject"] == SUBJECT
    assert message["From"].addresses[0].display_name == "Γραφείο Δήμου"
    # Text in base64 carries MIME's canonical CRLF line ends.
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == BODY
    assert message.get_body(("html",)).get_content().strip() == "<p>Καλημέρα σας</p>"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "ραντεβού.ics"
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_content() == ICS
    [row] = rows()
    assert (row.status, row.attempts, row.last_error) == (MailStatus.sent, 1, None)
    assert row.sent_dt is not None and message["Message-ID"] == row.message_id


def test_mail_queued_in_a_unit_that_rolls_back_is_never_sent(mail_app, smtp_server):
    def work():
        queue_mail("citizen@example.gr", SUBJECT, BODY)
        raise RuntimeError("the booking failed after the mail was queued")
    with pytest.raises(RuntimeError):
        uow.run(work)

    report = send_due()
    assert (report.sent, report.queued) == (0, 0)
    assert rows() == [] and smtp_server.messages == []


def test_mail_queued_in_an_undone_savepoint_is_not_sent_while_the_unit_commits(mail_app,
                                                                             smtp_server):
    def work():
        with pytest.raises(RuntimeError), uow.savepoint():
            queue_mail("first@example.gr", "refused step", BODY)
            raise RuntimeError
        queue_mail("second@example.gr", "kept step", BODY)
    uow.run(work)

    assert [m["Subject"] for _, m in smtp_server.messages] == ["kept step"]
    assert [r.subject for r in rows()] == ["kept step"]


def test_mail_waits_while_the_server_is_down_and_is_sent_once_when_it_is_back(
        mail_app, smtp_server):
    mail_app.config["SMTP_PORT"] = free_port()  # nothing listens there
    before = utcnow()
    uow.run(lambda: queue_mail("citizen@example.gr", SUBJECT, BODY))

    [row] = rows()
    assert (row.status, row.attempts, row.sent_dt) == (MailStatus.queued, 1, None)
    assert "ConnectionRefusedError" in row.last_error
    # The first retry waits OUTBOX_RETRY_SECONDS (60 s by default).
    assert before + timedelta(seconds=59) < row.next_attempt_dt < utcnow() + timedelta(seconds=61)
    assert send_due().sent == 0  # not due yet: nothing is tried
    assert rows()[0].attempts == 1

    mail_app.config["SMTP_PORT"] = smtp_server.port
    make_due()
    report = send_due()
    assert (report.sent, report.failed, report.queued) == (1, 0, 0)
    make_due()
    assert send_due().sent == 0
    assert [m["Subject"] for _, m in smtp_server.messages] == [SUBJECT]
    [row] = rows()
    assert (row.status, row.attempts, row.last_error) == (MailStatus.sent, 2, None)


def test_a_dead_server_costs_one_attempt_per_run_not_one_per_mail(mail_app):
    mail_app.config["SMTP_PORT"] = free_port()
    uow.run(lambda: [queue_mail(f"c{i}@example.gr", "s", "b", send_after_commit=False)
                     for i in range(3)])
    report = send_due()
    assert (report.sent, report.retrying, report.queued, report.due) == (0, 1, 3, 2)
    assert sorted(r.attempts for r in rows()) == [0, 0, 1]


def test_mail_is_given_up_after_the_last_attempt(mail_app, caplog):
    mail_app.config.update(SMTP_PORT=free_port(), OUTBOX_MAX_ATTEMPTS=3)
    uow.run(lambda: queue_mail("citizen@example.gr", SUBJECT, BODY))
    first = rows()[0].next_attempt_dt
    make_due()
    started = utcnow()
    assert send_due().retrying == 1
    [row] = rows()
    # Back-off doubles: 60 s after the first attempt, 120 s after the second.
    assert row.attempts == 2 and row.next_attempt_dt > started + timedelta(seconds=119)
    assert first < row.next_attempt_dt

    make_due()
    with caplog.at_level(logging.ERROR, logger="citizen_desk.mail"):
        report = send_due()
    assert (report.failed, report.queued) == (1, 0)
    [row] = rows()
    assert (row.status, row.attempts, row.sent_dt) == (MailStatus.failed, 3, None)
    assert f"outbox mail {row.id} failed after 3 attempt(s)" in caplog.text
    make_due()
    assert send_due().failed == 0 and rows()[0].attempts == 3


def test_a_mailbox_refused_for_good_is_not_retried(mail_app, smtp_server):
    smtp_server.refused.add("nobody@example.gr")
    uow.run(lambda: queue_mail("nobody@example.gr", SUBJECT, BODY))
    [row] = rows()
    assert (row.status, row.attempts) == (MailStatus.failed, 1)
    assert "550" in row.last_error and smtp_server.messages == []


def test_two_senders_at_once_deliver_each_mail_exactly_once(app_ctx, smtp_server, make_app):
    count = 40
    uow.run(lambda: [queue_mail(f"c{i}@example.gr", f"mail {i}", "b", send_after_commit=False)
                     for i in range(count)])
    senders = [make_app(**mail_config(smtp_server.port)) for _ in range(2)]
    start = threading.Barrier(len(senders))
    reports, errors = [], []

    def run(sender_app):
        try:
            with sender_app.app_context():
                start.wait(timeout=10)
                reports.append(send_due(limit=count))
        except Exception as exc:  # reported below: an exception in a thread is easy to miss
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(a,)) for a in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    subjects = sorted(m["Subject"] for _, m in smtp_server.messages)
    assert subjects == sorted(f"mail {i}" for i in range(count))
    assert sum(r.sent for r in reports) == count
    assert all(r.sent for r in reports), "one sender did everything: no race was tested"
    assert {(r.status, r.attempts) for r in rows()} == {(MailStatus.sent, 1)}


def test_outbox_send_command(mail_app, smtp_server, runner):
    uow.run(lambda: [queue_mail(f"c{i}@example.gr", f"mail {i}", "b", send_after_commit=False)
                     for i in range(3)])
    result = runner.invoke(args=["outbox", "send", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert result.output == "sent 2, failed 0, left 1 (1 due now)\n"
    result = runner.invoke(args=["outbox", "send"])
    assert result.output == "sent 1, failed 0, left 0 (0 due now)\n"
    assert sorted(m["Subject"] for _, m in smtp_server.messages) == ["mail 0", "mail 1", "mail 2"]


def test_outbox_purge_command_deletes_old_sent_mail_only(mail_app, runner):
    uow.run(lambda: [queue_mail("a@example.gr", subject, "b", send_after_commit=False)
                     for subject in ("old sent", "old queued", "new sent")])
    long_ago = utcnow() - timedelta(days=40)
    uow.run(lambda: db.session.execute(
        update(OutboxMail).where(OutboxMail.subject.like("old%")).values(created_dt=long_ago)))
    uow.run(lambda: db.session.execute(
        update(OutboxMail).where(OutboxMail.subject.like("% sent"))
        .values(status=MailStatus.sent, sent_dt=utcnow())))
    result = runner.invoke(args=["outbox", "purge", "--days", "30"])
    assert result.output == "deleted 1 mail(s)\n"
    assert [r.subject for r in rows()] == ["old queued", "new sent"]


def test_without_an_smtp_server_mail_is_logged_and_marked_sent(app_ctx, caplog):
    app_ctx.config["SMTP_HOST"] = None
    with caplog.at_level(logging.INFO, logger="citizen_desk.mail"):
        uow.run(lambda: queue_mail("citizen@example.gr", SUBJECT, BODY, attachments=[
            {"filename": "ραντεβού.ics", "content_type": "text/calendar", "content": ICS}]))
    [record] = [r for r in caplog.records if r.name == "citizen_desk.mail"]
    assert record.levelno == logging.INFO
    text = record.getMessage()
    assert "citizen@example.gr" in text and SUBJECT in text and "ραντεβού.ics" in text
    assert BODY.strip() in text.replace("\r\n", "\n")
    [row] = rows()
    assert (row.status, row.attempts) == (MailStatus.sent, 1) and row.sent_dt is not None


@pytest.mark.parametrize("to, subject", [
    ([], "s"), ("a@example.gr\r\nBcc: x@example.gr", "s"), ("a@example.gr", "s\nBcc: x"),
    ("a@example.gr", "σ" * 401)])
def test_queue_mail_refuses_what_cannot_become_a_mail(app_ctx, to, subject):
    with pytest.raises(ValueError):
        queue_mail(to, subject, "b")
    db.session.rollback()
