"""Rate limits per IP address for the public booking pages and API.

Two budgets, each shared by every view that carries its decorator (one
counter per address and kind, whichever of those views is asked):

- ``@limits.booking``: booking steps, availability, the proof-of-work
  challenge — ``BOOKING_RATE_LIMIT`` (default ``60 per minute``);
- ``@limits.lookup``: a look-up by appointment code or manage token, where
  guessing is the threat — ``LOOKUP_RATE_LIMIT`` (default ``10 per minute``).

A view takes the decorator below its ``@permission(...)``::

    @bp.get("/offices/<office>/services/<service>/availability")
    @permission(public)
    @limits.booking
    def availability(office, service): ...

The limits are read from the configuration at each request, so an
instance's ``config.py`` or ``CITIZEN_DESK_BOOKING_RATE_LIMIT`` changes them
without a code change (Flask-Limiter syntax: ``"30 per minute"``,
``"100/hour;10/minute"``). ``RATELIMIT_ENABLED=false`` in the environment
switches every limit off (load tests); they are on by default.

Signed-in staff and device or integration tokens are not counted: a front
office's clerks and its lobby kiosk share one public address, and what they
do is theirs to answer for (the audit log), not a bot's. An invalid token
counts as anonymous.

A refused request gets ``429`` with ``Retry-After``: a translated page, or
``{"error": {…, "retry_after": seconds}}`` under ``/api/`` (``core/errors.py``).
The counters live in Redis when ``REDIS_URL`` is set, in the process's memory
otherwise; with several workers set ``REDIS_URL``, as ``memory://`` counts per
process. Flask-Limiter lets requests through when Redis cannot be reached (it
fails open): the limits slow bots down, the caps that matter (bookings per
citizen) are enforced in the database.
"""
from __future__ import annotations

from flask import current_app, has_request_context

from citizen_desk.extensions import limiter

#: The configuration key of each kind of limit.
CONFIG_KEYS = {"booking": "BOOKING_RATE_LIMIT", "lookup": "LOOKUP_RATE_LIMIT"}


def _limit_of(kind: str):
    key = CONFIG_KEYS[kind]

    def limit_value() -> str:
        return current_app.config[key]
    return limit_value


def staff_or_device() -> bool:
    """Whether the request acts for signed-in staff or a valid device or integration token."""
    if not has_request_context():
        return False
    resolve = current_app.extensions.get("citizen_desk.actor")
    actor = resolve() if resolve else None
    return not getattr(actor, "is_anonymous", True)  # an invalid token is anonymous


def _shared(kind: str):
    return limiter.shared_limit(_limit_of(kind), scope=kind, exempt_when=staff_or_device)


#: Decorator: the view counts against the address's booking budget.
booking = _shared("booking")
#: Decorator: the view counts against the address's look-up budget (codes, tokens).
lookup = _shared("lookup")
