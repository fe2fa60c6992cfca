"""The audit log: who did what to which object, when and from where.

One convention: the operation that makes a change records it, with
``audit.record(action, obj, …)``, in the session of the change — so the
entry is committed in the same transaction or not at all. (The catalog
importer calls the same operations, so an import leaves one entry per
object it changed, plus one summary entry.) Entries never hold citizens'
personal data: objects are named by type and id only.

The actor (a staff member or a device token) defaults to whoever the
current request acts for (``g.citizen_desk_actor``, set by staff). The
table points at ``staff_user``, ``access_token`` and ``office`` by foreign
key only; staff attaches the ``actor_user``/``actor_token`` relationships
from above, so that core imports no capability.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Callable

from flask import g, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from citizen_desk.core.db import UTCDateTime, utcnow
from citizen_desk.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    actor_token_id: Mapped[int | None] = mapped_column(ForeignKey("access_token.id"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    #: The office the object belongs to, so that managers see their offices' entries.
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"), index=True)
    ip: Mapped[str | None] = mapped_column(String(45))
    details: Mapped[dict] = mapped_column(JSON, default=dict)


def record(action: str, obj=None, *, object_type: str | None = None, object_id=None,
           office_id: int | None = None, actor_user=None, actor_token=None,
           **details) -> AuditEntry:
    """Add an audit entry for ``action`` on ``obj`` to the current session.

    The actor defaults to whoever the current request is authenticated as
    (see ``permissions.current_actor``); the CLI passes ``actor_user``.
    """
    if obj is not None:
        if getattr(obj, "id", 0) is None:
            db.session.flush()  # a new object gets its id
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
        if office_id is None:
            office_id = getattr(obj, "office_id", None)
    actor = g.get("citizen_desk_actor") if has_request_context() else None
    if actor is not None:
        actor_user = actor_user or actor.user
        actor_token = actor_token or actor.token
    entry = AuditEntry(
        action=action, object_type=object_type or "", office_id=office_id,
        object_id=None if object_id is None else str(object_id),
        actor_user_id=actor_user.id if actor_user else None,
        actor_token_id=actor_token.id if actor_token else None,
        ip=request.remote_addr if has_request_context() else None,
        details={k: v for k, v in details.items() if v is not None},
    )
    db.session.add(entry)
    return entry


def snapshot(obj, fields) -> dict:
    """The values of ``fields`` of ``obj``, to compare with ``changed`` after a change."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def changed(before: dict, obj) -> list[str]:
    """The names of the fields of ``obj`` that differ from the ``snapshot``."""
    return sorted(name for name, value in before.items() if _plain(getattr(obj, name)) != value)


def _plain(value):
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


#: How actions and object types are shown; each capability adds its own with ``describe``.
ACTION_LABELS = {
    "staff.login": _l("Signed in"),
    "staff.locked": _l("Account locked after failed sign-ins"),
    "staff.create": _l("Account created"),
    "staff.update": _l("Account details changed"),
    "staff.grant_role": _l("Role given"),
    "staff.revoke_role": _l("Role taken away"),
    "staff.change_password": _l("Password changed"),
    "staff.reset_password": _l("Password reset"),
    "staff.disable": _l("Account disabled"),
    "staff.enable": _l("Account enabled"),
    "organisation.create": _l("Organisation registered"),
    "token.issue": _l("Token issued"),
    "token.revoke": _l("Token revoked"),
}
OBJECT_LABELS = {
    "staff_user": _l("Staff account"),
    "organisation": _l("Organisation"),
    "access_token": _l("Token"),
}


#: object type -> ``namer(ids) -> {id: name}``: names the objects of that type, all at once.
NAMERS: dict[str, Callable[[list[str]], dict]] = {}


def describe(actions: dict | None = None, objects: dict | None = None,
             namers: dict | None = None):
    """Register translated labels for a capability's audit actions and object types.

    ``namers`` maps an object type to a function that is given the ids (as text) of
    objects of that type and answers ``{id: name}`` with one query for all of them;
    the audit log shows these names instead of ids. Core imports no capability:
    each capability names its own objects.
    """
    ACTION_LABELS.update(actions or {})
    OBJECT_LABELS.update(objects or {})
    NAMERS.update(namers or {})


def object_names(entries) -> dict[tuple[str, str], str]:
    """``{(object_type, object_id): name}`` for the objects ``entries`` point at.

    One call of the type's namer per object type (so one query per type, not one per
    row); objects that no longer exist, or whose type has no namer, are left out.
    """
    wanted: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        if entry.object_id and entry.object_type in NAMERS:
            wanted[entry.object_type].add(entry.object_id)
    names: dict[tuple[str, str], str] = {}
    for object_type, ids in wanted.items():
        for object_id, name in NAMERS[object_type](sorted(ids)).items():
            if name:
                names[(object_type, str(object_id))] = str(name)
    return names


def numeric_ids(ids) -> list[int]:
    """The ids that are whole numbers (object ids are stored as text), for a namer's query."""
    return [int(i) for i in ids if str(i).isascii() and str(i).isdigit() and len(str(i)) < 19]


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def object_label(object_type: str) -> str:
    return str(OBJECT_LABELS.get(object_type, object_type))
