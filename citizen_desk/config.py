"""Configuration: defaults, then the instance folder, then the environment.

Precedence (later wins): the defaults below, ``instance/config.py``,
environment variables (``SECRET_KEY``, ``DATABASE_URL``, ``REDIS_URL``,
``SMTP_*``, and any ``CITIZEN_DESK_*``), and finally the mapping passed to
``create_app(config)`` (used by the tests).
"""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

#: The secret key used in development; production refuses to start with it.
DEV_SECRET_KEY = "citizen-desk-development-key-do-not-use-in-production"

PACKAGE_ROOT = Path(__file__).resolve().parent
#: The checkout: the translation tools and the tests work from it.
PROJECT_ROOT = PACKAGE_ROOT.parent
#: Where ``templates/``, ``translations/`` and ``migrations/`` are: at the top of
#: a checkout, or inside the package when it was installed from a wheel (setup.py
#: copies them there at build time, the catalogs compiled).
RESOURCE_ROOT = PACKAGE_ROOT if (PACKAGE_ROOT / "templates").is_dir() else PROJECT_ROOT


class ConfigError(SystemExit):
    """A configuration problem that must stop the application from starting.

    A ``SystemExit``: the CLI, gunicorn and ``python -m`` print the message
    alone and exit with status 1, instead of burying it under a traceback.
    """

    def __init__(self, message: str):
        super().__init__(f"citizen_desk configuration error: {message}")


class DefaultConfig:
    #: ``production`` (the safe default), ``development`` or ``testing``.
    ENV = "production"
    SECRET_KEY = DEV_SECRET_KEY
    SQLALCHEMY_DATABASE_URI = None  # filled in with a file in the instance folder
    SQLALCHEMY_RECORD_QUERIES = False
    #: Seconds SQLite waits for a lock held by another writer.
    SQLITE_BUSY_TIMEOUT = 15
    REDIS_URL = None
    #: How many times a request, command or job runs when it loses a race in the
    #: database (serialisation failure, deadlock, SQLite lock) before giving up.
    UNIT_OF_WORK_ATTEMPTS = 5

    LANGUAGES = ("el", "en")
    BABEL_DEFAULT_LOCALE = "el"
    BABEL_DEFAULT_TIMEZONE = "Europe/Athens"
    BABEL_TRANSLATION_DIRECTORIES = str(RESOURCE_ROOT / "translations")
    DEFAULT_TIMEZONE = "Europe/Athens"

    SERVICE_NAME = None  # defaults to the translated product name

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    WTF_CSRF_TIME_LIMIT = None  # kiosk pages stay open all day; the token is bound to the session

    #: Sign-out after this many seconds without a request (clerks: a working day).
    IDLE_TIMEOUT = 8 * 3600
    #: Failed sign-ins in a row before an account is locked, and for how long.
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCKOUT_MINUTES = 15
    #: Failed sign-ins allowed from one IP address (Flask-Limiter syntax).
    LOGIN_RATE_LIMIT = "20 per 15 minutes"
    #: Reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    PROXY_COUNT = 0
    #: Redirect plain HTTP to HTTPS in the app (usually the proxy does it).
    FORCE_HTTPS = False
    #: Largest request body in bytes: a larger one gets 413 before it is read
    #: (with or without a Content-Length). A view that takes an upload declares
    #: its own limit with ``@body_limit(20 * 2**20)`` (``core/errors.py``).
    MAX_CONTENT_LENGTH = 2**20
    #: Largest text field of a multipart form kept in memory, and most parts in one form.
    MAX_FORM_MEMORY_SIZE = 2**20
    MAX_FORM_PARTS = 1000

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    #: Rate limits on; ``RATELIMIT_ENABLED=false`` in the environment turns them off (load tests).
    RATELIMIT_ENABLED = True
    #: Requests one IP address may send to the booking pages and API (availability
    #: included), and look-ups by appointment code or manage token; each kind is one
    #: budget shared by its views (``core/limits.py``; Flask-Limiter syntax).
    BOOKING_RATE_LIMIT = "60 per minute"
    LOOKUP_RATE_LIMIT = "10 per minute"
    #: Requests for one ticket's tracking page and API from one address: a phone polls
    #: every 5 seconds, and a whole waiting room shares the office Wi-Fi's one address.
    TRACKING_RATE_LIMIT = "60 per minute"
    #: Proof of work on the final submit of offices that ask for it (``core/challenge.py``):
    #: the key that signs challenges (``None``: derived from ``SECRET_KEY``), the
    #: largest secret number (the work: ~50,000 hashes take a phone about a second)
    #: and the minutes a challenge may be solved and sent in.
    ALTCHA_HMAC_KEY = None
    ALTCHA_MAX_NUMBER = 50_000
    ALTCHA_EXPIRE_MINUTES = 20

    SMTP_HOST = None
    SMTP_PORT = 587
    SMTP_USER = None
    SMTP_PASSWORD = None
    SMTP_FROM = "citizen-desk@localhost"
    SMTP_TLS = True
    #: Seconds an SMTP connection or reply may take: mail is sent right after a
    #: request's commit, so a dead server must not hold the request for long.
    SMTP_TIMEOUT = 5
    #: Tries before an outbox mail is marked failed; the first retry waits
    #: OUTBOX_RETRY_SECONDS, each next one twice as long.
    OUTBOX_MAX_ATTEMPTS = 8
    OUTBOX_RETRY_SECONDS = 60
    #: Text messages ("leave and come back" notices; ``core/sms.py``): ``log`` writes them
    #: to the log, ``http`` posts them to the gateway at SMS_GATEWAY_URL with the bearer
    #: SMS_GATEWAY_TOKEN, as SMS_SENDER_ID, waiting at most SMS_GATEWAY_TIMEOUT seconds.
    SMS_SENDER = "log"
    SMS_GATEWAY_URL = None
    SMS_GATEWAY_TOKEN = None
    SMS_SENDER_ID = None
    SMS_GATEWAY_TIMEOUT = 5
    #: The site's address as citizens reach it (``https://desk.example.gr``): links in
    #: mails are built under it. Unset, they take the request's host (a command: localhost).
    PUBLIC_URL = None

    #: On SQLite, how often (seconds) a process looks for new events while someone
    #: waits for them; PostgreSQL wakes waiters with LISTEN/NOTIFY instead.
    EVENTS_POLL_INTERVAL = 0.25

    #: Minutes a chosen time stays held for the citizen filling in the form.
    BOOKING_HOLD_MINUTES = 10
    #: Minutes before a cancelled or left public seat can be booked again (stops slot trading).
    BOOKING_RELEASE_MINUTES = 15
    #: Minutes a double opt-in booking waits for its e-mailed link to be opened.
    BOOKING_CONFIRM_MINUTES = 30
    #: Future bookings one citizen (e-mail, phone or identifier) may hold per service and pool.
    BOOKING_CAP_PER_CITIZEN = 1
    #: The longest window (days) one availability request may ask for.
    AVAILABILITY_MAX_DAYS = 62
    #: How often (seconds) a kept availability answer looks at its office's seats again:
    #: another process's booking shows within this time, this process's at once.
    AVAILABILITY_CACHE_SECONDS = 1.0

    #: Recalls before a called ticket counts as a no-show are each office's queue setting
    #: (default 3); ``QUEUE_MAX_RECALLS`` set here would override every office's.


#: Environment variables read without the ``CITIZEN_DESK_`` prefix.
PLAIN_ENV = ("SECRET_KEY", "REDIS_URL", "SMTP_HOST", "SMTP_PORT", "SMTP_USER",
             "SMTP_PASSWORD", "SMTP_FROM", "SMTP_TLS", "RATELIMIT_ENABLED")


def load(app, overrides=None):
    """Fill ``app.config`` in order of precedence and check the result."""
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    for name in PLAIN_ENV:
        if name in os.environ:
            app.config[name] = os.environ[name]
    if "DATABASE_URL" in os.environ:
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app.config.from_prefixed_env("CITIZEN_DESK")
    if overrides:
        app.config.update(overrides)
    if app.config.get("TESTING"):
        app.config["ENV"] = "testing"
    if app.config["ENV"] != "production":
        app.config["SESSION_COOKIE_SECURE"] = False
    if app.config.get("SMTP_PORT"):
        app.config["SMTP_PORT"] = int(app.config["SMTP_PORT"])
    for name in ("SMTP_TLS", "RATELIMIT_ENABLED"):  # SMTP_TLS=false from the environment
        if isinstance(app.config.get(name), str):
            app.config[name] = app.config[name].strip().lower() not in (
                "0", "false", "no", "off", "")
    if app.config.get("REDIS_URL") and app.config["RATELIMIT_STORAGE_URI"] == "memory://":
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app)
    check(app)


def database_url(app):
    """Return a SQLAlchemy URL for the configured database.

    ``postgres://`` and ``postgresql://`` (as hosting platforms write them)
    are mapped to the psycopg 3 driver; no URL means a SQLite file in the
    instance folder.
    """
    raw = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not raw:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{Path(app.instance_path) / 'citizen_desk.sqlite'}"
    raw = str(raw).strip()
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            raw = "postgresql+psycopg://" + raw[len(prefix):]
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(
            f"DATABASE_URL is not a database URL: {raw!r}. Use e.g. "
            "postgresql://user@host/dbname or sqlite:////path/to/file.sqlite") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"DATABASE_URL names {url.get_backend_name()!r}; citizen_desk runs on "
            "PostgreSQL or SQLite")
    return raw


def check(app):
    """Refuse configurations that are unsafe or cannot work."""
    if app.config["ENV"] not in ("production", "development", "testing"):
        raise ConfigError("CITIZEN_DESK_ENV must be production, development or testing, "
                          f"not {app.config['ENV']!r}")
    if app.config["ENV"] == "production":
        key = app.config.get("SECRET_KEY") or ""
        if key == DEV_SECRET_KEY or len(key) < 32:
            raise ConfigError(
                "Refusing to start in production with the default or a short SECRET_KEY. "
                "Set SECRET_KEY to a random value of at least 32 characters, e.g. the "
                "output of: python -c 'import secrets; print(secrets.token_urlsafe(48))'. "
                "For a local trial set CITIZEN_DESK_ENV=development instead.")
