"""What can be done to staff accounts, organisations and tokens.

Plain functions over the session: they validate, change, ``flush()`` and
write the audit entry; the caller (a request, a CLI command) commits once.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from citizen_desk.core.db import utcnow, write_intent
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from citizen_desk.core import audit
from citizen_desk.staff.models import (AccessToken, Organisation, Role, RoleAssignment,
                                       StaffUser, TokenPurpose)
from citizen_desk.staff.permissions import require_account_rights
from citizen_desk.staff.passwords import (hash_password, needs_rehash, policy_errors,
                                          verify_password)


def normalise_email(email: str) -> str:
    try:
        return validate_email((email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationError({"email": _("Enter an e-mail address like name@example.gr.")})


def find_user(email: str) -> StaffUser | None:
    email = (email or "").strip().lower()
    return db.session.scalar(select(StaffUser).where(StaffUser.email == email))


def _check_role(role: Role, office_id, organisation_id):
    if role in (Role.manager, Role.clerk) and office_id is None:
        raise ValidationError({"office": _("Choose the office for this role.")})
    if role in (Role.admin, Role.ngo) and office_id is not None:
        raise ValidationError({"office": _("This role is not tied to an office.")})
    if role == Role.ngo and organisation_id is None:
        raise ValidationError({"organisation": _("Choose the organisation of this NGO worker.")})


def create_user(*, email: str, display_name: str, role: Role, office_id: int | None = None,
                organisation_id: int | None = None, password: str | None = None,
                locale: str = "el") -> StaffUser:
    """A new account with one role. Without a password it cannot sign in until reset."""
    email = normalise_email(email)
    display_name = (display_name or "").strip()
    if not display_name:
        raise ValidationError({"display_name": _("Enter the person's name.")})
    if len(display_name) > 200:
        raise ValidationError({"display_name": _("Use at most %(n)d characters.", n=200)})
    if find_user(email) is not None:
        raise ValidationError({"email": _("There is already an account with this e-mail address.")})
    role = Role(role)
    _check_role(role, office_id, organisation_id)
    require_account_rights(None, role, office_id)
    if locale not in current_app.config["LANGUAGES"]:
        raise ValidationError({"locale": _("Choose one of the offered languages.")})
    user = StaffUser(email=email, display_name=display_name, locale=locale,
                     organisation_id=organisation_id)
    if password is not None:
        _set_password(user, password)
    user.roles.append(RoleAssignment(role=role, office_id=office_id))
    db.session.add(user)
    db.session.flush()
    audit.record("staff.create", user, office_id=office_id, role=role.value)
    return user


def grant_role(user: StaffUser, role: Role, office_id: int | None = None) -> RoleAssignment:
    role = Role(role)
    require_account_rights(user, role, office_id)
    _check_role(role, office_id, user.organisation_id)
    if user.has_role(role, office_id) and (office_id is not None or role in (Role.admin, Role.ngo)):
        raise ValidationError({"role": _("The person already has this role.")})
    assignment = RoleAssignment(role=role, office_id=office_id)
    user.roles.append(assignment)
    db.session.flush()
    audit.record("staff.grant_role", user, office_id=office_id, role=role.value)
    return assignment


def revoke_role(user: StaffUser, assignment: RoleAssignment):
    require_account_rights(user, assignment.role, assignment.office_id)
    user.roles.remove(assignment)
    db.session.flush()
    audit.record("staff.revoke_role", user, office_id=assignment.office_id,
                 role=assignment.role.value)


def update_profile(user: StaffUser, *, display_name: str, locale: str):
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 200:
        raise ValidationError({"display_name": _("Enter the person's name.")})
    if locale not in current_app.config["LANGUAGES"]:
        raise ValidationError({"locale": _("Choose one of the offered languages.")})
    user.display_name, user.locale = display_name, locale
    db.session.flush()
    audit.record("staff.update", user)


def _set_password(user: StaffUser, password: str, field: str = "password"):
    errors = policy_errors(password, email=user.email, name=user.display_name)
    if errors:
        raise ValidationError({field: " ".join(errors)})
    user.password_hash = hash_password(password)


def change_password(user: StaffUser, current: str, new: str):
    """The user's own change: proves the current password, then revokes other sessions."""
    if not verify_password(user.password_hash, current):
        raise ValidationError({"current_password": _("The current password is not correct.")})
    if current == new:
        raise ValidationError({"new_password": _("Choose a password different from the current one.")})
    _set_password(user, new, field="new_password")
    user.must_change_password = False
    user.rotate_session_nonce()
    audit.record("staff.change_password", user)


def reset_password(user: StaffUser) -> str:
    """An administrator's reset: a temporary password, to be changed at next sign-in."""
    require_account_rights(user)
    temporary = "-".join(secrets.token_urlsafe(6) for _ in range(3))
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    user.failed_logins, user.locked_until_dt = 0, None
    user.rotate_session_nonce()
    _record_per_office("staff.reset_password", user)
    return temporary


def set_active(user: StaffUser, active: bool):
    require_account_rights(user)
    user.active = active
    if not active:
        user.rotate_session_nonce()
        for token in db.session.scalars(select(AccessToken).where(
                AccessToken.user_id == user.id, AccessToken.revoked_dt.is_(None))):
            token.revoke()
    _record_per_office("staff.enable" if active else "staff.disable", user)


def _record_per_office(action: str, user: StaffUser, **details):
    """One entry per office of the account's roles (one without office if none), so that
    each office's managers see what was done to their people."""
    for office_id in sorted(user.office_ids()) or [None]:
        audit.record(action, user, office_id=office_id, **details)


def authenticate(email: str, password: str) -> StaffUser | None:
    """The account for these credentials, or ``None`` — for every kind of failure alike.

    After ``LOGIN_MAX_FAILURES`` failures in a row the account is locked for
    ``LOGIN_LOCKOUT_MINUTES``; the message stays the same, so that nobody
    learns which accounts exist or are locked.

    Parallel requests must not lose a failure nor slip past a lock, so the
    counter and the lock are read and written by the database, not in
    Python: a failure is ``failed_logins = failed_logins + 1 … RETURNING``
    on an unlocked row, and the statement that locks it follows under the
    same row lock (PostgreSQL holds it until the commit; on SQLite the
    request's ``BEGIN IMMEDIATE`` serialises writers). A correct password
    signs in only through a guarded ``UPDATE … WHERE`` the row is not locked,
    evaluated against the latest committed row.
    """
    if not email or len(email) > 254:
        verify_password(None, password or "")  # the same effort as for an account
        return None
    stored = _stored_hash(email)
    ok = verify_password(stored, password or "")
    user = find_user(email)  # the unit's own (write) transaction begins here
    if user is None:
        return None
    if ok and user.password_hash != stored:  # changed while we were checking
        ok = verify_password(user.password_hash, password or "")
    now = utcnow()
    if not ok:
        _count_failure(user, now)
        return None
    if not user.active or not _admit(user, now):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record("staff.login", user, actor_user=user)
    return user


def _stored_hash(email: str) -> str | None:
    """The account's password hash, read on a side connection that is closed at once.

    argon2 takes a noticeable time by design; on SQLite the unit's write
    transaction (``BEGIN IMMEDIATE``) holds the database, so the password is
    checked before that transaction begins, not inside it: a burst of
    sign-ins then does not queue every hash behind one lock.
    """
    with write_intent(False), db.engine.connect() as connection:
        return connection.scalar(select(StaffUser.password_hash).where(
            StaffUser.email == email.strip().lower()))


def _unlocked(now):
    return or_(StaffUser.locked_until_dt.is_(None), StaffUser.locked_until_dt <= now)


def _count_failure(user: StaffUser, now) -> None:
    """One more failure of ``user``, counted in the database; lock the account at the limit.

    A locked account's failures are not counted (the lock is not extended).
    """
    failures = db.session.execute(
        update(StaffUser).where(StaffUser.id == user.id, _unlocked(now))
        .values(failed_logins=StaffUser.failed_logins + 1)
        .returning(StaffUser.failed_logins)
        .execution_options(synchronize_session=False)).scalar_one_or_none()
    if failures is not None and failures >= current_app.config["LOGIN_MAX_FAILURES"]:
        # This transaction holds the row since the increment: nobody counts in between.
        db.session.execute(
            update(StaffUser).where(StaffUser.id == user.id)
            .values(failed_logins=0, locked_until_dt=now + timedelta(
                minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"]))
            .execution_options(synchronize_session=False))
        audit.record("staff.locked", user, actor_user=user)
    db.session.expire(user, ["failed_logins", "locked_until_dt"])


def _admit(user: StaffUser, now) -> bool:
    """Clear the failures and note the sign-in, unless the account is locked (in the database)."""
    admitted = db.session.execute(
        update(StaffUser).where(StaffUser.id == user.id, _unlocked(now))
        .values(failed_logins=0, locked_until_dt=None, last_login_dt=now)
        .returning(StaffUser.id)
        .execution_options(synchronize_session=False)).scalar_one_or_none()
    db.session.expire(user, ["failed_logins", "locked_until_dt", "last_login_dt"])
    return admitted is not None


def create_organisation(*, name: str, contact_name: str = "", contact_email: str = "",
                        contact_phone: str = "") -> Organisation:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError({"name": _("Enter the organisation's name.")})
    # Compared in Python: SQLite's lower() does not fold Greek letters.
    taken = {existing.casefold() for existing in db.session.scalars(select(Organisation.name))}
    if name.casefold() in taken:
        raise ValidationError({"name": _("There is already an organisation with this name.")})
    if contact_email:
        try:
            contact_email = validate_email(contact_email.strip(),
                                           check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValidationError({"contact_email": _("Enter an e-mail address like name@example.gr.")})
    organisation = Organisation(name=name, contact_name=(contact_name or "").strip() or None,
                                contact_email=contact_email or None,
                                contact_phone=(contact_phone or "").strip() or None)
    db.session.add(organisation)
    db.session.flush()
    audit.record("organisation.create", organisation)
    return organisation


def issue_device_token(*, name: str, office_id: int, purpose: TokenPurpose,
                       created_by: StaffUser | None = None) -> tuple[AccessToken, str]:
    purpose = TokenPurpose(purpose)
    if purpose == TokenPurpose.integration:
        raise ValidationError({"purpose": _("Choose kiosk or display.")})
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError({"name": _("Give the device a name, e.g. “Display hall A”.")})
    token, secret = AccessToken.issue(name, purpose, office_id=office_id,
                                      created_by_id=created_by.id if created_by else None)
    db.session.add(token)
    db.session.flush()
    audit.record("token.issue", token, purpose=purpose.value)
    return token, secret


def issue_user_token(user: StaffUser, *, name: str = "",
                     created_by: StaffUser | None = None) -> tuple[AccessToken, str]:
    require_account_rights(user)
    if not user.active:
        raise ValidationError({"email": _("This account is disabled.")})
    token, secret = AccessToken.issue((name or "").strip() or user.email,
                                      TokenPurpose.integration, user_id=user.id,
                                      created_by_id=created_by.id if created_by else None)
    db.session.add(token)
    db.session.flush()
    audit.record("token.issue", token, purpose=TokenPurpose.integration.value)
    return token, secret


def revoke_token(token: AccessToken):
    token.revoke()
    audit.record("token.revoke", token)
