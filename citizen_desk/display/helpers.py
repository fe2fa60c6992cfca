"""Look-ups shared by the display's page, stream and API."""
from __future__ import annotations

import re

from flask import abort, current_app, request
from sqlalchemy import select

from citizen_desk.display import state as display_state
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office

_CODE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
_CACHE = "citizen_desk.display.cache"


def find_office(code) -> Office:
    """The office of ``code``, or 404 (unknown, malformed or retired alike)."""
    if not isinstance(code, str) or not _CODE.match(code):
        abort(404)
    office = db.session.scalar(select(Office).where(Office.code == code))
    if office is None or office.retired:
        abort(404)
    return office


def state_cache() -> display_state.StateCache:
    """This process's shared display states (made by ``display.init_app``)."""
    return current_app.extensions[_CACHE]


def codes(raw) -> list[str]:
    """``a,b,c`` (or the parameter repeated) as a list of well-formed codes, in order."""
    found = []
    for value in request.args.getlist(raw):
        for part in str(value).split(","):
            part = part.strip()
            if _CODE.match(part) and part not in found:
                found.append(part)
    return found[:50]
