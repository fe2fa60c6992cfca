"""The audit log page: filtered and paged; managers see their offices' entries."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import render_template, request
from flask_babel import gettext as _
from sqlalchemy import func, select

from citizen_desk.core.access import permission
from citizen_desk.core.audit import AuditEntry
from citizen_desk.core.i18n import zone
from citizen_desk.core.paging import page_count, requested_page
from citizen_desk.extensions import db
from citizen_desk.staff.models import StaffUser
from citizen_desk.staff.permissions import any_manager, current_actor, managed_offices
from citizen_desk.staff.views import bp

PAGE_SIZE = 50


def _date(value: str | None, errors: list, label: str):
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        errors.append(_("%(field)s must be a date like 2026-11-26.", field=label))
        return None


@bp.get("/audit")
@permission(any_manager)
def audit_log():
    """Who did what, when and from where — newest first."""
    args = request.args
    errors: list[str] = []
    scope = []
    actor = current_actor()
    if not actor.is_admin:
        scope.append(AuditEntry.office_id.in_([o.id for o in managed_offices(actor)]))
    query = select(AuditEntry).where(*scope).order_by(AuditEntry.dt.desc(), AuditEntry.id.desc())
    action = (args.get("action") or "").strip()[:64]
    if action:
        query = query.where(AuditEntry.action == action)
    object_type = (args.get("object_type") or "").strip()[:64]
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    actor = (args.get("actor") or "").strip().lower()[:254]
    if actor:
        query = query.where(AuditEntry.actor_user.has(StaffUser.email.contains(actor)))
    local = zone()
    start = _date(args.get("from"), errors, _("From"))
    end = _date(args.get("to"), errors, _("To"))
    if start:
        query = query.where(AuditEntry.dt >= datetime.combine(start, time(), local))
    if end:
        query = query.where(AuditEntry.dt < datetime.combine(end + timedelta(days=1), time(), local))
    page = requested_page()
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    entries = db.session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    actions = db.session.scalars(select(AuditEntry.action).where(*scope).distinct().order_by(
        AuditEntry.action)).all()
    pages = page_count(total, PAGE_SIZE)
    return render_template("staff/audit.html", entries=entries, actions=actions, page=page,
                           pages=pages, total=total, errors=errors,
                           args=request.args.to_dict())
