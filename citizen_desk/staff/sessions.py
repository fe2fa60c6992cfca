"""Signed-in sessions: loading the user, idle time-out, forced password change.

A Flask session is a signed cookie and cannot be revoked by itself, so the
user id in it carries the user's session nonce; signing out (or a password
change, or disabling the account) changes the nonce and every cookie
holding the old one stops working.
"""
from __future__ import annotations

import hmac
import time
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from citizen_desk.extensions import db, login_manager
from citizen_desk.staff.models import StaffUser

#: Endpoints a user who must change the password may still reach.
PASSWORD_CHANGE_ENDPOINTS = {"staff.password", "staff.logout", "static"}


@login_manager.user_loader
def load_user(user_id: str):
    if request.path.startswith("/api/"):
        return None  # the API authenticates by bearer token only
    user_pk, _sep, nonce = (user_id or "").partition(":")
    if not user_pk.isdigit() or not nonce:
        return None
    user = db.session.get(StaffUser, int(user_pk))
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(user.session_nonce.encode(), nonce.encode()):
        return None
    return user


def check_session():
    """``before_request``: sign out idle sessions; send users who must, to change the password."""
    if request.endpoint == "static" or request.path.startswith("/api/"):
        return None
    if not current_user.is_authenticated:
        return None
    now = int(time.time())
    seen = session.get("seen", 0)
    if now - int(seen) > current_app.config["IDLE_TIMEOUT"]:
        language = session.get("lang")
        logout_user()
        session.clear()
        if language:
            session["lang"] = language
        flash(_("You were signed out after a period of inactivity. Sign in again."), "info")
        return redirect(url_for("staff.login", next=_local_path(request.full_path)))
    if now - int(seen) > 60:
        session["seen"] = now
    if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        flash(_("Choose a new password before you continue."), "info")
        return redirect(url_for("staff.password"))
    return None


def no_store(response):
    """``after_request``: keep staff pages and every answer to a staff member out of caches.

    They hold what must not outlive the visit in a browser's or a proxy's
    cache: a temporary password or a new token shown once, people's data.
    So every page under ``/staff``, and any answer to a signed-in person or
    to a bearer token, is ``Cache-Control: no-store`` (``Pragma: no-cache``
    for HTTP/1.0 caches). Static files and the public pages seen by a
    visitor keep their own caching.
    """
    if request.endpoint == "static" and not request.path.startswith("/staff"):
        return response
    if (request.path.startswith("/staff") or "Authorization" in request.headers
            or getattr(current_user, "is_authenticated", False)):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def start_session(user: StaffUser):
    """Rotate the session and sign ``user`` in."""
    from flask_login import login_user
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    login_user(user)
    session.permanent = True
    session["seen"] = int(time.time())


def end_session(user: StaffUser):
    """Sign out and revoke every session of ``user`` on the server."""
    user.rotate_session_nonce()
    language = session.get("lang")
    logout_user()
    session.clear()
    if language:
        session["lang"] = language


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    return _local_path(target) or default


def _local_path(target: str | None) -> str | None:
    if not target or not isinstance(target, str) or len(target) > 2000:
        return None
    target = target.strip().rstrip("?")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return None
    return target


def init_app(app):
    login_manager.init_app(app)
    login_manager.login_view = "staff.login"
    login_manager.login_message = _l("Sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # the nonce revokes; "strong" breaks behind NAT
    app.before_request(check_session)
    app.after_request(no_store)

    def user_locale():
        user = current_user._get_current_object()
        return user.locale if getattr(user, "is_authenticated", False) else None
    app.extensions["citizen_desk.user_locale"] = user_locale
