"""The audit log page: filtered and paged; managers see their offices' entries."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import render_template, request
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from citizen_desk.core.access import permission
from citizen_desk.core import audit
from citizen_desk.core.audit import AuditEntry
from citizen_desk.core.i18n import format_local, zone
from citizen_desk.core.paging import page_count, requested_page
from citizen_desk.extensions import db
from citizen_desk.staff.models import AccessToken, Organisation, StaffUser
from citizen_desk.staff.permissions import any_manager, current_actor, managed_offices
from citizen_desk.staff.views import bp

PAGE_SIZE = 50


#: The dates the filters accept: as the page shows them (27/11/2026, also 27-11-2026 or
#: 27.11.2026) and ISO 8601 (2026-11-27, what a browser's date picker sends).
_DAY_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d")
#: An example in the format the page shows its dates in (``format_local(…, "short")``).
_EXAMPLE_DAY = date(2026, 11, 27)
#: The days the filters accept: any log's, and no further, so that the day after the
#: last and the first's local midnight in UTC still exist (0001-01-01 and 9999-12-31
#: overflowed).
_FIRST_DAY, _LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)


def _parse_day(value: str):
    for fmt in _DAY_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def _date(value: str | None, errors: list, label: str):
    if not value:
        return None
    try:
        day = _parse_day(value)
    except ValueError:
        errors.append(_("%(field)s must be a date like %(example)s.", field=label,
                        example=format_local(_EXAMPLE_DAY, "short")))
        return None
    if not _FIRST_DAY <= day <= _LAST_DAY:
        errors.append(_("%(field)s must be a date from %(first)s to %(last)s.", field=label,
                        first=format_local(_FIRST_DAY, "short"),
                        last=format_local(_LAST_DAY, "short")))
        return None
    return day


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
    entries = db.session.scalars(
        query.options(selectinload(AuditEntry.actor_user), selectinload(AuditEntry.actor_token))
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    actions = db.session.scalars(select(AuditEntry.action).where(*scope).distinct().order_by(
        AuditEntry.action)).all()
    pages = page_count(total, PAGE_SIZE)
    # The filters show their dates as the table does (27/11/2026), however they were typed.
    shown = {key: format_local(day, "short") if day else args.get(key, "")
             for key, day in (("from", start), ("to", end))}
    return render_template("staff/audit.html", entries=entries, actions=actions, page=page,
                           pages=pages, total=total, errors=errors,
                           names=audit.object_names(entries), named_types=set(audit.NAMERS),
                           shown=shown,
                           example_day=format_local(_EXAMPLE_DAY, "short"),
                           args=request.args.to_dict())


def _names(model, attribute: str):
    """A namer for the audit log: ``{id: name}`` of ``model`` rows, one query."""
    def namer(ids) -> dict:
        rows = db.session.execute(select(model.id, getattr(model, attribute)).where(
            model.id.in_(audit.numeric_ids(ids))))
        return {str(row_id): name for row_id, name in rows}
    return namer


audit.describe(namers={"staff_user": _names(StaffUser, "display_name"),
                       "organisation": _names(Organisation, "name"),
                       "access_token": _names(AccessToken, "name")})
