"""Who is asking, and may they? Enforced on the server for every route.

Every view declares a policy with ``@permission(policy)`` (the mechanism is
in ``core/access.py``); a route without one is refused, and
``tests/test_permissions.py`` walks every registered route with every kind
of actor. This module says who the actor is and defines the staff policies.

Actors: an anonymous visitor, a signed-in person (session cookie, pages
only), a device (kiosk or display bearer token, scoped to one office) and an
integration (a bearer token acting as its staff member). The JSON API under
``/api/`` never looks at cookies, so it needs no CSRF protection.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import abort, g, has_request_context, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from citizen_desk.core.access import Policy
from citizen_desk.core.db import SAFE_METHODS, utcnow, write_intent
from citizen_desk.core.errors import error_response
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.staff import devices
from citizen_desk.staff.models import AccessToken, Role, StaffUser, TokenPurpose, hash_token

log = logging.getLogger(__name__)

#: How stale a token's last-used time may get before it is written again.
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass
class Actor:
    """The one on whose behalf the current request acts."""

    user: StaffUser | None = None
    token: AccessToken | None = None
    #: Set when a bearer token was sent but is not valid.
    bad_token: bool = False

    @property
    def kind(self) -> str:
        if self.token is not None:
            return "device" if self.token.is_device else "integration"
        return "user" if self.user is not None else "anonymous"

    @property
    def is_anonymous(self) -> bool:
        return self.user is None and self.token is None

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.is_admin

    def office_codes(self, *roles: Role) -> set[str]:
        """Codes of the offices where the person holds one of ``roles``."""
        if self.user is None:
            return set()
        return {r.office.code for r in self.user.roles
                if r.office is not None and (not roles or r.role in roles)}

    def manages(self, office_code: str | None) -> bool:
        return self.is_admin or (office_code is not None
                                 and office_code in self.office_codes(Role.manager))

    def works_at(self, office_code: str | None) -> bool:
        """Admin, or manager or clerk of the office."""
        return self.is_admin or (office_code is not None and office_code in
                                 self.office_codes(Role.manager, Role.clerk))

    def is_device_of(self, purpose: TokenPurpose, office_code: str | None) -> bool:
        return (self.token is not None and self.token.purpose == purpose
                and self.token.office is not None and self.token.office.code == office_code)

    @property
    def organisation_id(self) -> int | None:
        if self.user is not None and self.user.has_role(Role.ngo):
            return self.user.organisation_id
        return None


signed_in = Policy("signed in", lambda actor, kw: actor.user is not None)
admin = Policy("admin", lambda actor, kw: actor.is_admin)
any_manager = Policy("any manager", lambda actor, kw: actor.is_admin or bool(
    actor.office_codes(Role.manager)))
any_office_staff = Policy("any office staff", lambda actor, kw: actor.is_admin or bool(
    actor.office_codes(Role.manager, Role.clerk)))
ngo_staff = Policy("NGO staff", lambda actor, kw: actor.organisation_id is not None)


def manager_of(arg: str = "office") -> Policy:
    """Admin, or manager of the office whose code is the view argument ``arg``."""
    return Policy(f"manager of <{arg}>", lambda actor, kw: actor.manages(kw.get(arg)))


def staff_of(arg: str = "office") -> Policy:
    """Admin, manager or clerk of the office whose code is ``arg``."""
    return Policy(f"staff of <{arg}>", lambda actor, kw: actor.works_at(kw.get(arg)))


def device_of(purpose: TokenPurpose, arg: str = "office", *, staff_too: bool = True) -> Policy:
    """A ``purpose`` device of the office ``arg`` (and that office's staff, unless told not)."""
    def check(actor, kw):
        office = kw.get(arg)
        return actor.is_device_of(purpose, office) or (staff_too and actor.works_at(office))
    return Policy(f"{purpose.value} of <{arg}>", check)


def current_actor() -> Actor:
    actor = g.get("citizen_desk_actor")
    if actor is None:
        actor = g.citizen_desk_actor = _resolve_actor()
    return actor


def _resolve_actor() -> Actor:
    header = request.headers.get("Authorization")
    if header is not None:
        return _actor_from_bearer(header)
    if request.path.startswith("/api/"):
        return Actor()  # the API ignores cookies
    user = current_user._get_current_object()
    if getattr(user, "is_authenticated", False):
        return Actor(user=user)
    device = devices.token_from_cookie()  # a kiosk or display paired by its cookie
    if device is not None:
        _touch(device)
        return Actor(token=device)
    return Actor()


def _actor_from_bearer(header: str) -> Actor:
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or len(secret) > 200:
        return Actor(bad_token=True)
    token = db.session.scalar(select(AccessToken).where(
        AccessToken.token_hash == hash_token(secret)))
    if token is None or token.revoked or not token.matches(secret):
        return Actor(bad_token=True)
    if token.purpose == TokenPurpose.integration:
        # An integration acts as its staff member, through the API only.
        if token.user is None or not token.user.active or not request.path.startswith("/api/"):
            return Actor(bad_token=True)
        _touch(token)
        return Actor(user=token.user, token=token)
    _touch(token)
    return Actor(token=token)


def _touch(token: AccessToken):
    """Note when a token was last used, at most once a minute, never failing the request."""
    now = utcnow()
    if token.last_used_dt is not None and now - token.last_used_dt < TOUCH_INTERVAL:
        return
    if request.method not in SAFE_METHODS:
        token.last_used_dt = now  # committed with the request's own write
        return
    # A reading request: write on a side connection so the request stays a reader.
    try:
        with write_intent(True), db.engine.begin() as conn:
            conn.execute(update(AccessToken).where(AccessToken.id == token.id)
                         .values(last_used_dt=now))
    except OperationalError:
        log.warning("could not record last use of token %s", token.id)


def unauthorised():
    from flask_babel import gettext as _
    if request.path.startswith("/api/") or request.headers.get("Authorization"):
        body, status = error_response(401, _("A valid access token is required."))
        return body, status, {"WWW-Authenticate": 'Bearer realm="citizen_desk"'}
    if request.method in SAFE_METHODS:
        return redirect(url_for("staff.login", next=request.full_path.rstrip("?")))
    abort(401)


def managed_offices(actor: Actor, *, include_retired: bool = False) -> list[Office]:
    """The offices ``actor`` manages: every office for an administrator, else their own."""
    query = select(Office).order_by(Office.code)
    if not include_retired:
        query = query.where(Office.retired.is_(False))
    if not actor.is_admin:
        query = query.where(Office.code.in_(actor.office_codes(Role.manager)))
    return list(db.session.scalars(query))


def require(condition: bool):
    """Object-level check inside a view: 403 unless ``condition``."""
    if not condition:
        abort(403)


def may_manage_account(actor: Actor, user: StaffUser) -> bool:
    """Whether ``actor`` may change ``user``'s account: reset, disable, enable, roles, tokens.

    Administrators manage every account. An office manager manages the
    clerks of the offices they manage, and nobody else: not themselves, not
    a fellow manager, an administrator or an NGO worker (those are the
    administrators' to manage), nor a clerk who also works in an office
    they do not manage.
    """
    if actor.is_admin:
        return True
    if actor.user is None or user.id == actor.user.id or not user.roles:
        return False
    managed = {office.id for office in managed_offices(actor)}
    return all(r.role == Role.clerk and r.office_id in managed for r in user.roles)


def may_grant_role(actor: Actor, role: Role, office_id: int | None) -> bool:
    """Whether ``actor`` may give ``role`` (in ``office_id``): managers give clerk roles only."""
    if actor.is_admin:
        return True
    return (role == Role.clerk and office_id is not None
            and office_id in {office.id for office in managed_offices(actor)})


def require_account_rights(user: StaffUser | None, role: Role | None = None,
                           office_id: int | None = None):
    """In a request, 403 unless its actor may manage ``user`` (if given) and give ``role``.

    The operations call it as a second line behind the views' own checks;
    outside a request (the CLI, jobs) it checks nothing.
    """
    if not has_request_context() or g.get("citizen_desk_actor") is None:
        return
    actor = current_actor()
    if actor.is_admin:
        return
    if (user is not None and not may_manage_account(actor, user)) or (
            role is not None and not may_grant_role(actor, role, office_id)):
        abort(403)
