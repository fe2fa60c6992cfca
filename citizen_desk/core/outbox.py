"""Outgoing mail: rows written in the unit's transaction, sent after it committed.

An operation that must tell someone something calls ``queue_mail(...)``: the
mail becomes an ``OutboxMail`` row in the same transaction as the change
that caused it, so a unit that rolls back sends nothing. The unit's
after-commit effect then sends the mails it queued (``send_due(ids=...)``);
whatever that could not send (the SMTP server is down) stays queued for
``flask --app citizen_desk outbox send``, run every minute or so by cron or a
systemd timer.

The sender may run in many processes at once. Each mail is *claimed* in a
short transaction of its own: a guarded ``UPDATE … WHERE status = 'queued'
AND next_attempt_dt <= now`` that counts the attempt and pushes
``next_attempt_dt`` a lease (``CLAIM_SECONDS``) ahead, so no other sender
takes it while it is being sent (``FOR UPDATE SKIP LOCKED`` only saves
PostgreSQL a wait; SQLite ignores it and serialises the claims with
``BEGIN IMMEDIATE``). The mail is sent outside any transaction, then marked
sent in another one.

Delivery is *at least once*: a process that dies after the server accepted
the mail and before it was marked sent leaves it queued, and it is sent
again when its lease ends. Every copy carries the same ``Message-ID``, which
lets mail clients drop the duplicate.

Text messages (``queue_sms``) are rows of the same table with ``channel =
'sms'``: the phone number as the recipient, the text as the body. They are
claimed, retried, given up and purged exactly like mails, and carried by
the sender ``SMS_SENDER`` names (``core/sms.py``). A channel whose server is
down stops for the run; the other goes on.
"""
from __future__ import annotations

import base64
import enum
import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import (JSON, CheckConstraint, Enum, Index, Integer, String, Text, delete, func,
                        select, update)
from sqlalchemy.orm import Mapped, mapped_column

from citizen_desk.core import mail as transport
from citizen_desk.core import sms as sms_transport
from citizen_desk.core import uow
from citizen_desk.core.db import UTCDateTime, utcnow, write_intent
from citizen_desk.extensions import db

log = logging.getLogger("citizen_desk.mail")

#: How long a claimed mail is left to the sender that claimed it. Longer than
#: any one SMTP conversation; after it, a sender that died is presumed dead.
CLAIM_SECONDS = 300
#: The longest wait between two tries of one mail.
MAX_RETRY_SECONDS = 6 * 3600
SUBJECT_LENGTH = 400


class MailStatus(str, enum.Enum):
    queued = "queued"    # waiting to be sent (first time or again)
    sent = "sent"        # accepted by the SMTP server (or logged, without one)
    failed = "failed"    # given up: a permanent refusal or too many attempts


#: How a row is carried: ``mail`` (SMTP) or ``sms`` (``core/sms.py``).
CHANNELS = ("mail", "sms")


class OutboxMail(db.Model):
    """A mail to send once the transaction that wrote it has committed."""

    __tablename__ = "outbox_mail"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'failed')", name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_positive"),
        CheckConstraint("(status = 'sent') = (sent_dt IS NOT NULL)", name="sent_dt_when_sent"),
        CheckConstraint("channel IN ('mail', 'sms')", name="channel_known"),
        # The sender's question: which queued mails are due?
        Index("ix_outbox_mail_due", "status", "next_attempt_dt"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: ``mail``, or ``sms``: one phone number (E.164) in ``recipients``, the text in
    #: ``text_body``, an empty subject.
    channel: Mapped[str] = mapped_column(String(8), default="mail", server_default="mail")
    #: A list of addresses.
    recipients: Mapped[list] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(SUBJECT_LENGTH))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    #: ``[{filename, content_type, content (base64)}]`` or None.
    attachments: Mapped[list | None] = mapped_column(JSON)
    status: Mapped[MailStatus] = mapped_column(
        Enum(MailStatus, name="outbox_status", native_enum=False, length=20,
             values_callable=lambda e: [m.value for m in e], validate_strings=True),
        default=MailStatus.queued, server_default=MailStatus.queued.value)
    #: Tries so far, counted when a sender claims the mail.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Not before then: the next retry, or the end of a sender's claim.
    next_attempt_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def message_id(self) -> str:
        """The same on every copy of this mail, so that a re-sent one can be recognised."""
        domain = current_app.config.get("SMTP_FROM", "").rpartition("@")[2].strip("> ")
        return f"<outbox.{self.id}.{self.created_dt:%Y%m%d%H%M%S}@{domain or 'localhost'}>"

    def __repr__(self):
        return f"<OutboxMail {self.id} {self.status.value}>"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST"
    content: bytes | str  # text is encoded as UTF-8


def queue_mail(to: str | list[str], subject: str, text: str, html: str | None = None,
               attachments=(), *, send_after_commit: bool = True) -> OutboxMail:
    """Write a mail to the outbox in the current transaction and send it after the commit.

    ``attachments``: ``Attachment``s or mappings with the same keys. With
    ``send_after_commit=False`` the mail waits for the next ``outbox send``.
    """
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise ValueError("a mail needs at least one recipient")
    for value in (*recipients, subject):
        if "\n" in value or "\r" in value:
            raise ValueError(f"line break in a mail header: {value!r}")
    if len(subject) > SUBJECT_LENGTH:
        raise ValueError(f"subject longer than {SUBJECT_LENGTH} characters")
    stored = [_stored_attachment(a) for a in attachments]
    mail = OutboxMail(recipients=recipients, subject=subject, text_body=text, html_body=html,
                      attachments=stored or None, next_attempt_dt=utcnow())
    db.session.add(mail)
    db.session.flush()
    if send_after_commit:
        uow.after_commit(functools.partial(_send_after_commit, mail.id))
    return mail


def queue_sms(to: str, text: str, *, send_after_commit: bool = True) -> OutboxMail:
    """Write a text message to ``to`` (E.164) in the current transaction; send it after commit."""
    if not isinstance(to, str) or not to.startswith("+") or not to[1:].isdigit():
        raise ValueError(f"not a phone number in E.164 form: {to!r}")
    if not text:
        raise ValueError("an SMS needs a text")
    message = OutboxMail(channel="sms", recipients=[to], subject="", text_body=text,
                         next_attempt_dt=utcnow())
    db.session.add(message)
    db.session.flush()
    if send_after_commit:
        uow.after_commit(functools.partial(_send_after_commit, message.id))
    return message


def _stored_attachment(attachment) -> dict:
    if not isinstance(attachment, Attachment):
        attachment = Attachment(**attachment)
    content = attachment.content
    if isinstance(content, str):
        content = content.encode("utf-8")
    return {"filename": attachment.filename, "content_type": attachment.content_type,
            "content": base64.b64encode(content).decode("ascii")}


def _send_after_commit(mail_id: int):
    # Only the mails of this unit: a request never pays for the backlog.
    send_due(ids=[mail_id])


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0      # given up in this run
    retrying: int = 0    # failed in this run, will be tried again
    queued: int = 0      # still queued after the run (retrying ones included)
    due: int = 0         # of those, due now (beyond the limit, or the server was down)


def send_due(limit: int = 100, ids: list[int] | None = None) -> SendReport:
    """Send up to ``limit`` due mails (only those in ``ids`` if given); safe to run anywhere.

    Runs its own short transactions, so call it outside a unit (from a
    command, or as an after-commit effect). If the SMTP server (or the SMS
    gateway) cannot be reached, the run stops sending on that channel after
    the first failure so that the others are not charged an attempt.
    """
    report = SendReport()
    sender = transport.transport_for(current_app.config)
    sms_sender = None
    down: set[str] = set()  # channels whose server failed in this run
    # A claim writes: on SQLite it must take the write lock when it begins,
    # even when the effect runs at the end of a GET request.
    with write_intent(True):
        try:
            for _ in range(limit):
                claimed = uow.run(functools.partial(_claim, ids, frozenset(down)))
                if claimed is None:
                    break
                sms = claimed["channel"] == "sms"
                kind = sms_transport if sms else transport
                try:
                    if sms:
                        sms_sender = sms_sender or sms_transport.sender_for(current_app.config)
                        sms_sender.send(**claimed["sms"])
                    else:
                        sender.send(transport.build_message(
                            sender=current_app.config["SMTP_FROM"], **claimed["message"]))
                except Exception as exc:
                    if not sms:
                        sender.reset()
                    given_up = uow.run(functools.partial(
                        _record_failure, claimed["id"], claimed["attempts"], exc,
                        kind.is_permanent(exc)))
                    if given_up:
                        report.failed += 1
                    else:
                        report.retrying += 1
                    if kind.is_connection_error(exc):
                        down.add(claimed["channel"])
                else:
                    uow.run(functools.partial(_mark_sent, claimed["id"]))
                    report.sent += 1
        finally:
            sender.close()
        report.queued, report.due = uow.run(functools.partial(_count_queued, ids))
    return report


def _due(now, ids, skip_channels=frozenset()):
    query = select(OutboxMail.id).where(OutboxMail.status == MailStatus.queued,
                                        OutboxMail.next_attempt_dt <= now)
    if ids is not None:
        query = query.where(OutboxMail.id.in_(ids))
    if skip_channels:
        query = query.where(OutboxMail.channel.not_in(sorted(skip_channels)))
    return query


def _claim(ids, skip_channels=frozenset()) -> dict | None:
    """Take the next due mail for this sender; its fields, or None when nothing is due."""
    now = utcnow()
    candidates = db.session.scalars(
        _due(now, ids, skip_channels).order_by(OutboxMail.next_attempt_dt, OutboxMail.id)
        .limit(5).with_for_update(skip_locked=True)).all()
    for mail_id in candidates:
        # The guard, not the SELECT, decides: another sender may have claimed it since.
        claimed = db.session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail_id, OutboxMail.status == MailStatus.queued,
                   OutboxMail.next_attempt_dt <= now)
            .values(attempts=OutboxMail.attempts + 1,
                    next_attempt_dt=now + timedelta(seconds=CLAIM_SECONDS))
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        mail = db.session.get(OutboxMail, mail_id, populate_existing=True)
        if mail.channel == "sms":
            return {"id": mail.id, "attempts": mail.attempts, "channel": "sms", "sms": dict(
                to=mail.recipients[0], text=mail.text_body, reference=f"outbox.{mail.id}")}
        return {"id": mail.id, "attempts": mail.attempts, "channel": "mail", "message": dict(
            recipients=list(mail.recipients), subject=mail.subject, text=mail.text_body,
            html=mail.html_body, attachments=mail.attachments or (),
            message_id=mail.message_id, date=mail.created_dt)}
    return None


def _record_failure(mail_id: int, attempts: int, exc: Exception, permanent: bool) -> bool:
    """Keep the mail for a later try, or give it up; whether it was given up."""
    now = utcnow()
    error = transport.describe(exc)
    given_up = permanent or attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]
    if given_up:
        values = {"status": MailStatus.failed, "next_attempt_dt": now}
        log.error("outbox mail %d failed after %d attempt(s), giving up: %s",
                  mail_id, attempts, error)
    else:
        delay = min(MAX_RETRY_SECONDS,
                    current_app.config["OUTBOX_RETRY_SECONDS"] * 2 ** (attempts - 1))
        values = {"next_attempt_dt": now + timedelta(seconds=delay)}
        log.warning("outbox mail %d not sent (attempt %d), next try in %d s: %s",
                    mail_id, attempts, delay, error)
    db.session.execute(update(OutboxMail)
                       .where(OutboxMail.id == mail_id, OutboxMail.status == MailStatus.queued)
                       .values(last_error=error, **values)
                       .execution_options(synchronize_session=False))
    return given_up


def _mark_sent(mail_id: int):
    db.session.execute(update(OutboxMail)
                       .where(OutboxMail.id == mail_id, OutboxMail.status == MailStatus.queued)
                       .values(status=MailStatus.sent, sent_dt=utcnow(), last_error=None)
                       .execution_options(synchronize_session=False))


def _count_queued(ids) -> tuple[int, int]:
    queued = select(func.count()).select_from(OutboxMail).where(
        OutboxMail.status == MailStatus.queued)
    if ids is not None:
        queued = queued.where(OutboxMail.id.in_(ids))
    due = select(func.count()).select_from(_due(utcnow(), ids).subquery())
    return db.session.scalar(queued), db.session.scalar(due)


def purge(before: datetime) -> int:
    """Delete the sent and failed mails created before ``before``: they hold personal data."""
    result = db.session.execute(
        delete(OutboxMail).where(OutboxMail.status != MailStatus.queued,
                                 OutboxMail.created_dt < before)
        .execution_options(synchronize_session=False))
    return result.rowcount


outbox = AppGroup("outbox", help="Outgoing mail and text messages.")


@outbox.command("send")
@click.option("--limit", default=500, show_default=True, help="Send at most this many mails.")
def send_command(limit):
    """Send the mails and text messages that are due (run it every minute or so)."""
    report = send_due(limit=limit)
    click.echo(f"sent {report.sent}, failed {report.failed}, "
               f"left {report.queued} ({report.due} due now)")


@outbox.command("purge")
@click.option("--days", default=30, show_default=True,
              help="Keep sent and failed mails this many days.")
def purge_command(days):
    """Delete sent and failed mails and text messages older than DAYS."""
    deleted = uow.run(lambda: purge(utcnow() - timedelta(days=days)))
    click.echo(f"deleted {deleted} mail(s)")


def init_app(app):
    """Register the outbox's command (the after-commit sending is registered by ``queue_mail``)."""
    app.cli.add_command(outbox)
