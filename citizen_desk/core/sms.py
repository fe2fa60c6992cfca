"""Sending one SMS: a pluggable sender chosen by ``SMS_SENDER``.

The outbox (``core/outbox.py``) decides what to send and when, like a
mail; this module only carries one message to the phone company's gateway
and says what a failure means:

- ``log`` (the default): writes the message to the ``citizen_desk.sms``
  log and counts it as sent. For the demo, development and the tests.
- ``http``: ``POST SMS_GATEWAY_URL`` with a JSON body::

      {"to": "+306912345678", "text": "A012: …", "sender": "<SMS_SENDER_ID>",
       "reference": "outbox.42"}

  and ``Authorization: Bearer <SMS_GATEWAY_TOKEN>``. Any 2xx answer means
  accepted. A 4xx answer refuses this message for good (a wrong number, a
  text the gateway will not take): it is not tried again — except 408 and
  429, which ask to come back later. A 5xx answer, a redirect, a timeout
  (``SMS_GATEWAY_TIMEOUT`` seconds) or no connection: the message stays
  queued for a later try, and the run stops sending SMS (the gateway is
  down or misconfigured; the other messages are not charged an attempt).
  ``reference`` is the same on every try of one message, so a gateway that
  keeps it can drop a duplicate (delivery is at least once, as for mail).
  A commercial gateway with another request shape gets a small adapter in
  front of it, or a class here with the same ``send``.

A sender has ``send(to, text, reference)``; the functions ``is_permanent``
and ``is_connection_error`` classify what it raised.
"""
from __future__ import annotations

import json
import logging
import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit

log = logging.getLogger("citizen_desk.sms")

#: What one SMS part holds: 160 GSM-7 characters, or 70 UCS-2 ones (Greek with accents);
#: a longer text is sent in parts of 153 or 67.
GSM7_SINGLE, GSM7_PART, UCS2_SINGLE, UCS2_PART = 160, 153, 70, 67
_GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJ"
            "KLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
#: Characters of the GSM-7 extension table: they take two places each.
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


class SmsError(Exception):
    """The gateway did not take the message."""


class SmsRefused(SmsError):
    """The gateway refused this message for good (a 4xx): do not try it again."""


class SmsGatewayDown(SmsError):
    """The gateway failed (5xx, a redirect, a bad setting): try later, stop this run."""


def segments(text: str) -> tuple[str, int]:
    """The encoding a phone network uses for ``text`` and how many parts it takes."""
    if all(c in _GSM7 or c in _GSM7_EXTENDED for c in text):
        length = sum(2 if c in _GSM7_EXTENDED else 1 for c in text)
        return "gsm7", 1 if length <= GSM7_SINGLE else -(-length // GSM7_PART)
    length = len(text.encode("utf-16-le")) // 2
    return "ucs2", 1 if length <= UCS2_SINGLE else -(-length // UCS2_PART)


class LogSender:
    """No gateway: each SMS goes to the log (INFO) and counts as sent."""

    def send(self, to: str, text: str, reference: str) -> None:
        encoding, parts = segments(text)
        log.info("sms to %s (%s, %d part(s), %s): %s", to, encoding, parts, reference, text)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would carry the bearer token elsewhere (or turn the POST into a GET).
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class HttpSender:
    """The HTTP gateway adapter (see the module's documentation)."""

    def __init__(self, config):
        self.url = config.get("SMS_GATEWAY_URL") or ""
        self.token = config.get("SMS_GATEWAY_TOKEN") or ""
        self.sender_id = config.get("SMS_SENDER_ID") or ""
        self.timeout = float(config.get("SMS_GATEWAY_TIMEOUT") or 5)
        self._opener = urllib.request.build_opener(_NoRedirects)

    def send(self, to: str, text: str, reference: str) -> None:
        if urlsplit(self.url).scheme not in ("http", "https"):
            raise SmsGatewayDown("SMS_GATEWAY_URL is not an http(s) address")
        body = json.dumps({"to": to, "text": text, "sender": self.sender_id,
                           "reference": reference}).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Accept": "application/json",
            "Authorization": f"Bearer {self.token}"})
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                answer.read(4096)
        except urllib.error.HTTPError as exc:
            code = exc.code
            exc.close()
            if 400 <= code < 500 and code not in (408, 429):
                raise SmsRefused(f"gateway refused the message: HTTP {code}") from None
            raise SmsGatewayDown(f"gateway answered HTTP {code}") from None


def sender_for(config):
    """The sender ``SMS_SENDER`` names (``log`` or ``http``)."""
    name = (config.get("SMS_SENDER") or "log").strip().lower()
    if name == "http":
        return HttpSender(config)
    if name != "log":
        log.error("unknown SMS_SENDER %r: SMS are logged, not sent", name)
    return LogSender()


def is_permanent(exc: BaseException) -> bool:
    """Whether sending this message again cannot succeed."""
    return isinstance(exc, (SmsRefused, ValueError, TypeError, KeyError))


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` is about the gateway rather than this message (stop sending SMS now)."""
    return isinstance(exc, (SmsGatewayDown, urllib.error.URLError, socket.timeout, OSError))
