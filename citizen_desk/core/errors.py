"""The one error model: translated error pages, and JSON errors for the API.

- ``ValidationError({field: message})`` (``core/validation.py``) that a view
  does not catch: 422, JSON ``{"errors": {field: message}, "error": {…}}``
  under ``/api/``, a page listing the problems elsewhere. Form views catch it
  inside ``uow.savepoint()`` and show the form again with an error summary.
- ``Conflict(message)`` and a unique or foreign-key constraint that a
  concurrent request won (``IntegrityError``): 409; so is an UPDATE that
  found its row changed by another transaction (``StaleDataError``, the
  row versions of ``core/versions.py``).
- Unknown objects: ``abort(404)``.
- A database that cannot be reached: 503 "try again shortly".
- A request body larger than ``MAX_CONTENT_LENGTH`` (or the view's own
  ``@body_limit``): 413, before anything reads it.
- A rate limit (``core/limits.py``, the sign-in limit): 429 with
  ``Retry-After`` and a message that says how long to wait; the JSON error
  carries it as ``retry_after`` (seconds).

Every error a user can meet gets a page in their language, never a traceback.
"""
from __future__ import annotations

import io
import logging
import math
import time

from flask import current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge
from werkzeug.wsgi import get_content_length

from citizen_desk.core.validation import ValidationError

log = logging.getLogger(__name__)

TITLES = {
    400: _l("The request could not be understood"),
    401: _l("Please sign in"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("This action is not allowed here"),
    409: _l("This conflicts with the current state"),
    413: _l("What you sent is too large"),
    422: _l("Some of the information is not valid"),
    429: _l("Too many requests"),
    500: _l("Sorry, there is a problem with the service"),
    503: _l("The service is temporarily unavailable"),
}
MESSAGES = {
    400: _l("Check what you entered and try again."),
    401: _l("You need to sign in to see this page."),
    403: _l("If you think you should have access, ask your office manager."),
    404: _l("If you typed the web address, check it is correct. "
            "If you pasted it, check you copied the whole address."),
    405: _l("Go back and try again from the previous page."),
    409: _l("Reload the page and try again."),
    413: _l("Send less at a time and try again."),
    422: _l("Check what you entered and try again."),
    429: _l("Wait a moment and try again."),
    500: _l("Try again later. Nothing you entered has been saved."),
    503: _l("Try again in a few minutes. Nothing you entered has been saved."),
}
CSRF_MESSAGE = _l("The form had expired. Go back, reload the page and try again.")


class Conflict(Exception):
    """The change conflicts with the current state (409); ``message`` says how, translated."""

    def __init__(self, message=None):
        super().__init__(message)
        self.message = message


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json")


def error_response(code: int, message=None, errors: dict | None = None, **extra):
    """Render an error as JSON (API) or as a translated page.

    ``errors`` maps fields to their messages (a validation error): the JSON
    body carries them as ``errors`` and the page lists them.
    """
    title = TITLES.get(code, TITLES[500])
    message = message or MESSAGES.get(code, MESSAGES[500])
    if wants_json():
        body = {"error": {"status": code, "title": str(title), "message": str(message)}}
        body["error"].update(extra)
        if errors is not None:
            body["errors"] = {field: str(text) for field, text in errors.items()}
        return jsonify(body), code
    try:
        return render_template("errors/error.html", code=code, title=title,
                               message=message, errors=errors), code
    except Exception:  # the page itself failed: still never show a traceback
        log.exception("error page %s could not be rendered", code)
        return f"<!doctype html><title>{code}</title><h1>{code}</h1>", code


def _handle_http(exc: HTTPException):
    code = exc.code or 500
    if isinstance(exc, CSRFError):
        return error_response(400, CSRF_MESSAGE)
    if code == 429:
        return _too_many_requests()
    response = error_response(code if code in TITLES else 500)
    if code == 405 and getattr(exc, "valid_methods", None):
        body, status = response
        return body, status, {"Allow": ", ".join(exc.valid_methods)}
    return response


def _retry_after() -> int | None:
    """Seconds until the rate limit that refused this request lets it through again."""
    from citizen_desk.extensions import limiter
    try:
        current = limiter.current_limit
        # As Flask-Limiter's own Retry-After: its reset time is already rounded up.
        return max(1, int(current.reset_at - time.time())) if current else None
    except Exception:  # the storage went away meanwhile: say nothing rather than fail
        log.warning("could not read the breached rate limit's reset time", exc_info=True)
        return None


def _too_many_requests():
    seconds = _retry_after()
    if seconds is None:
        return error_response(429)
    if seconds < 120:
        message = ngettext("You have sent too many requests in a short time. "
                           "Wait %(num)d second and try again.",
                           "You have sent too many requests in a short time. "
                           "Wait %(num)d seconds and try again.", seconds)
    else:
        message = ngettext("You have sent too many requests in a short time. "
                           "Wait %(num)d minute and try again.",
                           "You have sent too many requests in a short time. "
                           "Wait %(num)d minutes and try again.", math.ceil(seconds / 60))
    body, status = error_response(429, message, retry_after=seconds)
    return body, status, {"Retry-After": str(seconds)}


def _handle_validation(exc: ValidationError):
    from citizen_desk.extensions import db
    db.session.rollback()
    if len(exc.errors) == 1:
        (field, text), = exc.errors.items()
        return error_response(422, text, errors=exc.errors, **({"field": field} if field else {}))
    return error_response(422, errors=exc.errors)


def _handle_conflict(exc: Conflict):
    from citizen_desk.extensions import db
    db.session.rollback()
    return error_response(409, exc.message)


def _handle_integrity(exc: IntegrityError):
    # A unique or foreign-key constraint that a concurrent request satisfied first.
    log.info("integrity error answered with 409: %s", exc.orig)
    from citizen_desk.extensions import db
    db.session.rollback()
    return error_response(409)


def _handle_stale(exc: StaleDataError):
    # Another transaction changed (or removed) the row between our read and our write.
    log.info("stale row answered with 409: %s", exc)
    from citizen_desk.core.versions import STALE_MESSAGE
    from citizen_desk.extensions import db
    db.session.rollback()
    return error_response(409, STALE_MESSAGE)


def _handle_database_down(exc):
    log.error("database unreachable: %s", exc)
    from citizen_desk.extensions import db
    db.session.rollback()
    return error_response(503)


def _handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _handle_http(exc)
    original = getattr(exc, "original_exception", None)
    if isinstance(original, (OperationalError, InterfaceError)):
        return _handle_database_down(original)
    return error_response(500)


def body_limit(max_bytes: int):
    """Let one view take a body of up to ``max_bytes`` (an upload) instead of MAX_CONTENT_LENGTH.

    ``@bp.post(…)`` then ``@permission(…)`` then ``@body_limit(20 * 2**20)``: the
    limit must be known before anything (the CSRF check) reads the form, so
    setting ``request.max_content_length`` inside the view would be too late.
    """
    def decorate(view):
        view.max_content_length = max_bytes
        return view
    return decorate


def _refuse_large_bodies():
    """``before_request``, first of all: 413 for a declared body over the view's limit.

    Nothing has read the body yet (a view that ignores its body would not
    look at it at all). A body sent without Content-Length (chunked) is read
    here up to the limit: Werkzeug would silently cut it at the limit and
    parse the rest as if it were all.
    """
    limit = getattr(current_app.view_functions.get(request.endpoint), "max_content_length", None)
    if limit is not None:
        request.max_content_length = limit
    limit = request.max_content_length
    if limit is None:
        return
    environ = request.environ
    length = get_content_length(environ)  # None when chunked
    if length is None and environ.get("wsgi.input_terminated"):
        length = _buffer_unsized_body(environ, limit)
    if (length or 0) > limit:
        raise RequestEntityTooLarge()


def _buffer_unsized_body(environ, limit: int):
    """Read a chunked body whole (in memory, at most ``limit`` bytes), or refuse it."""
    body, size = io.BytesIO(), 0
    while size <= limit:
        chunk = environ["wsgi.input"].read(min(2**16, limit + 1 - size))
        if not chunk:
            break
        body.write(chunk)
        size += len(chunk)
    if size > limit:
        raise RequestEntityTooLarge()
    body.seek(0)
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = body, str(size)
    environ.pop("HTTP_TRANSFER_ENCODING", None)  # no longer chunked
    return size


def init_app(app):
    # Before the CSRF check and the rate limiter, which read the form.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_large_bodies)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(ValidationError, _handle_validation)
    app.register_error_handler(Conflict, _handle_conflict)
    app.register_error_handler(IntegrityError, _handle_integrity)
    app.register_error_handler(StaleDataError, _handle_stale)
    app.register_error_handler(OperationalError, _handle_database_down)
    app.register_error_handler(InterfaceError, _handle_database_down)
    app.register_error_handler(InternalServerError, _handle_unexpected)
