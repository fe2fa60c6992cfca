"""Sending one mail: the MIME message of an outbox row and the connection that carries it.

``build_message`` turns stored fields into an ``EmailMessage``: UTF-8
headers and bodies (Greek subjects are RFC 2047 encoded, bodies base64 when
they are not ASCII, so no 8-bit support is assumed of the server), a plain
text part, an optional HTML alternative, and attachments.

``transport_for(config)`` gives an ``SMTPTransport`` that keeps one
connection open across the mails of a sending run, or, when no
``SMTP_HOST`` is configured (the demo, development), a ``LogTransport`` that
writes each mail to the ``citizen_desk.mail`` log instead.

The outbox (``core/outbox.py``) decides what to send and when; this module
knows nothing about the database.
"""
from __future__ import annotations

import base64
import email.policy
import logging
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

log = logging.getLogger("citizen_desk.mail")

#: UTF-8 headers, CRLF lines and no bare 8-bit bodies: what any SMTP server accepts.
POLICY = email.policy.SMTP.clone(cte_type="7bit")

#: Failures that say nothing about the mail but about the server or our settings:
#: the run stops instead of charging an attempt to every queued mail.
_CONNECTION_ERRORS = (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected,
                      smtplib.SMTPHeloError, smtplib.SMTPAuthenticationError,
                      smtplib.SMTPNotSupportedError, smtplib.SMTPSenderRefused)


def build_message(*, sender: str, recipients: list[str], subject: str, text: str,
                  html: str | None = None, attachments=(), message_id: str | None = None,
                  date: datetime | None = None) -> EmailMessage:
    """The MIME message; ``attachments`` as stored: ``{filename, content_type, content}``
    with ``content`` in base64."""
    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    if date is not None:
        message["Date"] = format_datetime(date)
    if message_id:
        message["Message-ID"] = message_id
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for attachment in attachments or ():
        content_type, _, parameters = attachment["content_type"].partition(";")
        maintype, _, subtype = content_type.strip().partition("/")
        params = {}
        for parameter in parameters.split(";"):
            key, _, value = parameter.partition("=")
            if key.strip():
                params[key.strip()] = value.strip().strip('"')
        if maintype == "text":  # stored text is UTF-8 (an .ics with Greek in it)
            params.setdefault("charset", "utf-8")
        message.add_attachment(base64.b64decode(attachment["content"]), maintype=maintype,
                               subtype=subtype, filename=attachment["filename"],
                               params=params)
    return message


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` is about the server or the settings rather than this one mail."""
    if isinstance(exc, _CONNECTION_ERRORS):
        return True
    # Refused connections, timeouts, TLS failures; smtplib's own errors are OSErrors too.
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


def is_permanent(exc: BaseException) -> bool:
    """Whether sending this mail again cannot succeed (a 5xx for it, a message we cannot build)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return isinstance(exc, (ValueError, TypeError, KeyError))


def describe(exc: BaseException, length: int = 300) -> str:
    """A short description of a failure, for the outbox row and the log (no settings in it)."""
    return f"{type(exc).__name__}: {exc}"[:length]


def _flag(value) -> bool:
    # SMTP_TLS may come from the environment as a string.
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class SMTPTransport:
    """One SMTP connection, opened on the first mail and reused by the next ones."""

    def __init__(self, config):
        self.host = config["SMTP_HOST"]
        self.port = int(config.get("SMTP_PORT") or 587)
        self.user = config.get("SMTP_USER")
        self.password = config.get("SMTP_PASSWORD")
        self.tls = _flag(config.get("SMTP_TLS", True))
        self.timeout = float(config.get("SMTP_TIMEOUT") or 5)
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self.port == 465:  # implicit TLS ("SMTPS")
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.tls:
                smtp.starttls(context=ssl.create_default_context())
        try:
            if self.user:
                smtp.login(self.user, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        refused = self._smtp.send_message(message)
        if refused:  # some recipients accepted: the mail counts as sent
            log.warning("mail %s: some recipients refused: %s", message["Message-ID"],
                        {address: code for address, (code, _) in refused.items()})

    def reset(self) -> None:
        """Drop the connection after a failure; the next mail opens a new one."""
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.reset()


class LogTransport:
    """No SMTP server configured: each mail goes to the log (INFO) and counts as sent."""

    def send(self, message: EmailMessage) -> None:
        body = message.get_body(("plain",))
        attachments = [part.get_filename() for part in message.iter_attachments()]
        log.info("mail to %s: %s%s\n%s", message["To"], message["Subject"],
                 f" (attached: {', '.join(attachments)})" if attachments else "",
                 body.get_content() if body is not None else "")

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


def transport_for(config):
    """The transport the settings ask for."""
    return SMTPTransport(config) if config.get("SMTP_HOST") else LogTransport()
