"""Who may watch an office's waiting-room display.

- the office's display device: its bearer token, or the cookie of a browser
  paired by opening the display page once with ``?token=`` (``staff/devices.py``);
- the office's staff (and administrators);
- on the event stream only, ``?token=<the office's display token>`` as well:
  a browser's ``EventSource`` cannot send a header, and a screen that was
  never paired (or whose cookie a kiosk-mode browser drops) still streams;
- anyone, when the office turned on ``public_display`` (numbers only).

Another office's display token is refused (403), whatever the office's flag:
a screen set up for the wrong office should say so, not show another queue.
"""
from __future__ import annotations

from flask import abort, request
from sqlalchemy import select

from citizen_desk.core.access import Policy
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.staff import devices
from citizen_desk.staff.models import TokenPurpose


def _public(code) -> bool:
    if not isinstance(code, str) or len(code) > 32:
        return False
    return bool(db.session.scalar(select(Office.public_display).where(
        Office.code == code, Office.retired.is_(False))))


def _foreign_device(actor, code) -> bool:
    token = getattr(actor, "token", None)
    return (token is not None and token.is_device and token.office is not None
            and token.office.code != code)


def display_viewer(arg: str = "office", *, query_token: bool = False) -> Policy:
    """The display of office ``arg``: its display device, its staff, or anyone if public.

    ``query_token``: a display token of the office in ``?token=`` counts too.
    """
    def check(actor, kw):
        code = kw.get(arg)
        if actor.is_device_of(TokenPurpose.display, code) or actor.works_at(code):
            return True
        if _foreign_device(actor, code):
            return False
        if query_token and "token" in request.args:
            token = devices.device_token(request.args.get("token"))
            if (token is None or token.purpose != TokenPurpose.display
                    or token.office.code != code):
                # A wrong token is a screen set up wrongly: say so, don't send it to sign in.
                abort(403)
            return True
        return _public(code)
    name = f"display of <{arg}>" + (" (or ?token=)" if query_token else "")
    return Policy(name, check)
