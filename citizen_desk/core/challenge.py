"""Proof of work (ALTCHA) on the final submit, for the offices that switch it on.

No picture to read, no puzzle: the citizen's browser spends about a second
finding a number that the server hid in a signed challenge, and sends the
solution with the form. A bot that wants a thousand slots pays a thousand
of those seconds, and each solution is good for one submit only.

- ``GET /api/v1/challenge`` (``new_challenge()``) hands out a challenge,
  signed with ``ALTCHA_HMAC_KEY`` (by default derived from ``SECRET_KEY``),
  valid for ``ALTCHA_EXPIRE_MINUTES``; its work is a secret number below
  ``ALTCHA_MAX_NUMBER`` (ALTCHA's v2 protocol, SHA-256, in deterministic
  mode: the browser tries numbers from 0 until one gives the signed prefix).
- The template macro ``challenge_field`` (``templates/core/_challenge.html``)
  puts ALTCHA's widget in a form; the widget fetches a challenge, solves it
  in a Web Worker and posts the solution as the form field ``altcha``.
- The view passes that field to ``check(payload)``, which raises a
  ``ValidationError`` on the field ``altcha`` unless ``verify(payload)``:
  the solution is right, the signature ours, the challenge not expired and
  not used before.

Each solution is used once: its challenge's signature is written to
``used_challenge`` (primary key) in the request's own transaction, with
``INSERT … ON CONFLICT DO NOTHING RETURNING``. Two submits of one solution, even at
the same instant on two hosts, find the row of the first (PostgreSQL makes
the second wait for the first's commit; SQLite serialises writers), and a
unit that rolls back frees its solution again. A table rather than Redis:
the database is there on every deployment, shared by every worker and host,
and transactional with the booking; ``memory://`` would be per process, and
Flask-Limiter's Redis fails open. Rows are deleted once their challenge has
expired (after the commit, in a connection of their own).

The widget needs JavaScript: without it the field stays empty and the form
comes back with the message of ``check``. An office that switches proof of
work on (``Office.proof_of_work``) requires JavaScript for the final submit
of its bookings; staff booking for a caller are not asked.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import datetime, timedelta, timezone

import altcha
from flask import Blueprint, current_app, jsonify
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from citizen_desk.core import limits, uow
from citizen_desk.core.access import permission, public
from citizen_desk.core.db import UTCDateTime, utcnow, write_intent
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db

log = logging.getLogger(__name__)

#: The widget's key derivation, bundled with it (``dist/workers/sha.js``), and
#: its rounds per number tried: the work is set by ``ALTCHA_MAX_NUMBER`` alone.
ALGORITHM = "SHA-256"
COST = 1
#: The form field that carries the solution (the widget's ``name``).
FIELD = "altcha"
#: A payload is a base64 JSON of a few hundred bytes; anything far longer is not one.
MAX_PAYLOAD_LENGTH = 4096

# i18n: shown when the browser did not prove it is not a robot (no JavaScript, expired, reused).
INVALID_MESSAGE = _l("Please confirm that you are not a robot: tick “I am not a robot” and "
                     "wait for the check to finish, then send again. This step needs "
                     "JavaScript to be switched on in your browser.")


class UsedChallenge(db.Model):
    """A solved challenge, spent: its signature may not be presented again."""

    __tablename__ = "used_challenge"

    #: The challenge's HMAC signature (hex; SHA-256: 64 characters).
    signature: Mapped[str] = mapped_column(String(128), primary_key=True)
    #: When the challenge expires; after it the row has no use.
    expires_dt: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def hmac_key() -> str:
    """The key that signs challenges: ``ALTCHA_HMAC_KEY``, or one derived from ``SECRET_KEY``."""
    key = current_app.config.get("ALTCHA_HMAC_KEY")
    if key:
        return key
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"citizen_desk altcha challenge", hashlib.sha256).hexdigest()


def new_challenge() -> dict:
    """A fresh, signed challenge, as the widget expects it (``{"parameters", "signature"}``)."""
    config = current_app.config
    expires = int(time.time()) + int(config["ALTCHA_EXPIRE_MINUTES"]) * 60
    challenge = altcha.create_challenge(
        ALGORITHM, COST,
        counter=secrets.randbelow(max(1, int(config["ALTCHA_MAX_NUMBER"]))),
        expires_at=expires, hmac_secret=hmac_key())
    return challenge.to_dict()


def _signed_expiry(payload: str) -> tuple[str, int] | None:
    """The challenge's signature and expiry (Unix seconds) in a payload already verified."""
    try:
        data = json.loads(base64.b64decode(payload))
        signature = data["challenge"]["signature"]
        expires = data["challenge"]["parameters"]["expiresAt"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if not isinstance(signature, str) or type(expires) is not int:
        return None
    return signature.lower(), expires


def verify(payload: str | None) -> bool:
    """Whether ``payload`` (the form field) is a right, unexpired, unused solution of ours.

    A right one is marked used in the current transaction: it verifies once.
    """
    if not isinstance(payload, str) or not payload or len(payload) > MAX_PAYLOAD_LENGTH:
        return False
    try:
        result = altcha.verify_solution(payload, hmac_key())
    except Exception:  # whatever a forged payload makes the library trip on
        log.info("malformed proof-of-work payload refused", exc_info=True)
        return False
    if not result.verified:
        return False
    signed = _signed_expiry(payload)
    if signed is None:  # we always sign an expiry: one without is not ours
        return False
    signature, expires = signed
    return _spend(signature, datetime.fromtimestamp(expires, timezone.utc))


def _spend(signature: str, expires_dt: datetime) -> bool:
    """Record ``signature`` as used; ``False`` when it already was."""
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(UsedChallenge)
    spent = db.session.execute(
        insert.values(signature=signature, expires_dt=expires_dt)
        .on_conflict_do_nothing(index_elements=["signature"])
        .returning(UsedChallenge.signature)).scalar_one_or_none()
    if spent is None:
        log.info("a proof-of-work solution was presented again")
        return False
    uow.after_commit(purge_expired)
    return True


def check(payload: str | None, field: str = FIELD) -> None:
    """Raise ``ValidationError({field: …})`` (translated) unless ``verify(payload)``."""
    if not verify(payload):
        raise ValidationError.at(field, INVALID_MESSAGE)


def required_for(office) -> bool:
    """Whether the office asks the public for proof of work on the final submit."""
    return bool(getattr(office, "proof_of_work", False))


def purge_expired() -> int:
    """Delete spent challenges that have expired, in a transaction of their own.

    Best effort: a failure (a lock, the database away) is logged and left to the next time.
    """
    try:
        with write_intent(True), db.engine.begin() as conn:
            return conn.execute(delete(UsedChallenge).where(
                UsedChallenge.expires_dt < utcnow() - timedelta(minutes=1))).rowcount
    except SQLAlchemyError:
        log.warning("spent challenges could not be purged", exc_info=True)
        return 0


api = Blueprint("core_api", __name__)


@api.get("/challenge")
@permission(public)
@limits.booking
def challenge():
    """A new proof-of-work challenge for ALTCHA's widget; never cached."""
    response = jsonify(new_challenge())
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app):
    app.register_blueprint(api, url_prefix="/api/v1")
    from citizen_desk.extensions import csrf
    csrf.exempt(api)
