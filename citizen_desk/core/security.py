"""Security headers on every response, and trust in the reverse proxy.

Flask-Talisman sets the Content-Security-Policy (this origin only, no inline
script, ``object-src``, ``base-uri`` and ``frame-ancestors`` closed),
``X-Content-Type-Options``, ``Referrer-Policy`` and ``X-Frame-Options``. Its own
defaults lack ``base-uri`` and ``frame-ancestors``, hence the explicit policy.

``Strict-Transport-Security`` (and the ``FORCE_HTTPS`` redirect) follow
``request.is_secure``: HTTPS as seen through the ``PROXY_COUNT`` trusted
proxies (``ProxyFix``). Talisman's own versions also believe any client's
``X-Forwarded-Proto: https``, so that a plain-HTTP request could claim to
be secure when no proxy is trusted; they are switched off here.
"""
from flask import current_app, redirect, request
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    # The design system's stylesheet draws its icons from data: URIs.
    "img-src": ["'self'", "data:"],
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}

talisman = Talisman()

#: One year, subdomains included (Talisman's value).
HSTS = "max-age=31536000; includeSubDomains"


def _redirect_to_https():
    if not request.is_secure and request.url.startswith("http://"):
        return redirect(request.url.replace("http://", "https://", 1), code=302)
    return None


def _hsts(response):
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    return response


def no_referrer(view):
    """Send ``Referrer-Policy: no-referrer`` from this view: its address is the secret
    (a ticket's tracking page), so not even this site's own pages get it as a Referer."""
    view.referrer_policy = "no-referrer"
    return view


def _view_referrer_policy(response):
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    policy = getattr(view, "referrer_policy", None)
    if policy:
        response.headers["Referrer-Policy"] = policy
    return response


def init_app(app):
    # Registered before Talisman's: Flask runs after-request functions last-registered
    # first, so a view's own policy replaces Talisman's site-wide one.
    app.after_request(_view_referrer_policy)
    proxies = int(app.config.get("PROXY_COUNT", 0) or 0)
    if proxies:
        # Behind nginx: trust X-Forwarded-For/-Proto/-Host from that many hops.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    talisman.init_app(
        app,
        force_https=False,  # below, by request.is_secure
        strict_transport_security=False,  # below, by request.is_secure
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy="strict-origin-when-cross-origin",
        frame_options="DENY",
    )
    if app.config.get("FORCE_HTTPS") and not app.debug:
        app.before_request(_redirect_to_https)
    app.after_request(_hsts)
