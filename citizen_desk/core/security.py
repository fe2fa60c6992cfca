"""Security headers on every response, and trust in the reverse proxy.

Flask-Talisman sets the Content-Security-Policy (this origin only, no inline
script, ``object-src``, ``base-uri`` and ``frame-ancestors`` closed),
``X-Content-Type-Options``, ``Referrer-Policy``, ``X-Frame-Options`` and,
for requests that arrived over HTTPS, ``Strict-Transport-Security``. Its own
defaults lack ``base-uri`` and ``frame-ancestors``, hence the explicit policy.
"""
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


def init_app(app):
    proxies = int(app.config.get("PROXY_COUNT", 0) or 0)
    if proxies:
        # Behind nginx: trust X-Forwarded-For/-Proto/-Host from that many hops.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    talisman.init_app(
        app,
        force_https=bool(app.config.get("FORCE_HTTPS")),
        strict_transport_security=True,
        strict_transport_security_max_age=31536000,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy="strict-origin-when-cross-origin",
        frame_options="DENY",
    )
