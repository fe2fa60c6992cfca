"""Route permissions: every view declares a policy, and a route without one is refused.

The mechanism lives here so that every capability can mark its views; who
the actor is (person, device, integration) is decided by the staff
capability, which registers ``app.extensions["citizen_desk.actor"]`` and
``app.extensions["citizen_desk.unauthorised"]``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from flask import abort, current_app, request

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    """A named rule: ``check(actor, view_args) -> bool``."""

    name: str
    check: Callable[[object, dict], bool] = field(compare=False)

    def allows(self, actor, view_args: dict | None = None) -> bool:
        return bool(self.check(actor, view_args or {}))


public = Policy("public", lambda actor, kw: True)


def permission(policy: Policy):
    """Declare the policy of a view. Views without one are refused."""
    def decorate(view):
        view.permission = policy
        return view
    return decorate


def policy_of(endpoint: str) -> Policy | None:
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "permission", None)


def enforce():
    """``before_request``: refuse what the view's policy does not allow."""
    if request.endpoint is None or request.endpoint == "static":
        return None  # a 404 or a static file
    policy = policy_of(request.endpoint)
    if policy is None:
        log.error("route %s declares no permission; refused", request.endpoint)
        abort(403)
    resolve = current_app.extensions.get("citizen_desk.actor")
    actor = resolve() if resolve else None
    if getattr(actor, "bad_token", False):
        return current_app.extensions["citizen_desk.unauthorised"]()
    if policy.allows(actor, request.view_args):
        return None
    if actor is None or getattr(actor, "is_anonymous", True):
        handler = current_app.extensions.get("citizen_desk.unauthorised")
        return handler() if handler else abort(401)
    abort(403)


def init_app(app):
    app.before_request(enforce)
