"""Pairing a browser with a device token: kiosks and display screens sign in by a cookie.

A kiosk or a waiting-room screen is a browser left running; it cannot send
a bearer header. Whoever sets it up opens the device page once with the
token in the address (``/offices/ATH1/kiosk?token=cd_…``, the secret that
``flask staff token --purpose kiosk --office ATH1`` printed). The page
stores the secret in a long-lived cookie (HttpOnly, SameSite=Lax, Secure
over HTTPS, 400 days — the longest browsers keep one) and redirects to the
same address without it, so the secret stays out of the address bar, the
history and the page. From then on, page requests from that browser
without a signed-in person act as the device (``permissions._resolve_actor``).

Only views marked ``@device_page`` read ``?token=`` (elsewhere the name is
the manage links' own), only on GET, and only kiosk and display tokens of
an office pair: an integration token, a revoked or unknown one, a token
of another office than the page's, or one in the address of a POST is
refused with 403 and sets nothing.
A cookie whose token was revoked since is ignored and cleared; the API
never looks at it.
"""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from flask import abort, current_app, g, redirect, request
from sqlalchemy import select
from werkzeug.datastructures import ImmutableMultiDict

from citizen_desk.extensions import db
from citizen_desk.staff.models import AccessToken, TokenPurpose, hash_token

COOKIE = "cd_device"
#: Browsers cap a cookie's life at 400 days (RFC 6265bis).
MAX_AGE = timedelta(days=400)
DEVICE_PURPOSES = (TokenPurpose.kiosk, TokenPurpose.display)
#: Longest secret looked up (ours are 46 characters).
MAX_SECRET = 200


def device_page(view):
    """Mark a view as a device's page: opening it with ``?token=`` pairs the browser."""
    view.device_page = True
    return view


def device_token(secret) -> AccessToken | None:
    """The live kiosk or display token of an office whose secret is ``secret``, else ``None``."""
    if not isinstance(secret, str) or not secret or len(secret) > MAX_SECRET:
        return None
    token = db.session.scalar(select(AccessToken).where(
        AccessToken.token_hash == hash_token(secret)))
    if (token is None or token.revoked or token.purpose not in DEVICE_PURPOSES
            or token.office_id is None or not token.matches(secret)):
        return None
    return token


def token_from_cookie() -> AccessToken | None:
    """The device this browser was paired with; a stale cookie is cleared after the request."""
    secret = request.cookies.get(COOKIE)
    if secret is None:
        return None
    token = device_token(secret)
    if token is None:
        g.citizen_desk_clear_device = True
    return token


def _is_device_page() -> bool:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "device_page", False)


def _pair():
    """``before_request`` (before the permission check): pair on ``?token=``, then redirect."""
    if "token" not in request.args or request.path.startswith("/api/") or not _is_device_page():
        return None
    from citizen_desk.core.access import policy_of
    from citizen_desk.staff.permissions import Actor
    secret = request.args.get("token")
    rest = [(key, value) for key, value in request.args.items(multi=True) if key != "token"]
    # Whatever follows (the refusal's page and its language links) never sees the secret.
    request.args = ImmutableMultiDict(rest)
    token = device_token(secret)
    policy = policy_of(request.endpoint)
    if (request.method not in ("GET", "HEAD") or token is None or policy is None
            or not policy.allows(Actor(token=token), request.view_args)):
        abort(403)
    response = redirect(request.path + ("?" + urlencode(rest) if rest else ""), code=303)
    response.set_cookie(COOKIE, secret, max_age=MAX_AGE, httponly=True,
                        samesite="Lax", secure=request.is_secure, path="/")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _clear_stale(response):
    if g.get("citizen_desk_clear_device"):
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Lax",
                               secure=request.is_secure)
    return response


def init_app(app):
    app.before_request(_pair)
    app.after_request(_clear_stale)
