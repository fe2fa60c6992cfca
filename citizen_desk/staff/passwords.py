"""Password hashing (argon2id) and the password policy.

werkzeug's default ``scrypt:32768:8:1`` is below the OWASP ASVS 5.0 floor;
argon2-cffi's defaults (argon2id, RFC 9106 low-memory profile) are not.
Common passwords are refused with zxcvbn's list of the 30,000 most common
passwords and its guessability estimate.
"""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 256  # argon2 hashes anything, but a 1 MB "password" is a denial of service

_hasher = PasswordHasher()
_COMMON = frozenset(FREQUENCY_LISTS["passwords"])
#: A hash to verify against when the account does not exist, so that timing
#: does not reveal which e-mail addresses have accounts.
_DUMMY_HASH = _hasher.hash("citizen-desk-no-such-account")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant-effort check; an unknown account still costs one argon2 verification."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def policy_errors(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Why ``password`` is not acceptable, as translated sentences (empty if it is)."""
    errors = []
    if len(password) < MIN_LENGTH:
        errors.append(_("Use at least %(n)d characters.", n=MIN_LENGTH))
        return errors
    if len(password) > MAX_LENGTH:
        errors.append(_("Use at most %(n)d characters.", n=MAX_LENGTH))
        return errors
    lowered = password.lower()
    local_part = email.split("@")[0].lower() if email else ""
    if lowered in _COMMON or (len(local_part) >= 3 and local_part in lowered):
        errors.append(_("This password is too common or too easy to guess. "
                        "Choose another one, for example three or four unrelated words."))
        return errors
    inputs = [value for value in (email, local_part, name) if value]
    if zxcvbn(password[:100], user_inputs=inputs)["score"] < 3:
        errors.append(_("This password is too easy to guess. "
                        "Choose another one, for example three or four unrelated words."))
    return errors
