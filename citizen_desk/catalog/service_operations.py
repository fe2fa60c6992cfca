"""Operations on services and their categories (see ``operations.py`` for the conventions).

A change to a service is audited once per office offering it, so that each
office's managers see it in their log.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from citizen_desk.catalog import validation as v
from citizen_desk.catalog.models import PERSONAL_FIELDS, Category, Service
from citizen_desk.catalog.search.index import index_service
from citizen_desk.core import audit
from citizen_desk.core.i18n import current_language
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db

SERVICE_DEFAULTS = dict(duration_minutes=15, category=None, bookable_online=True,
                        walk_in=True, required_fields=(), summary=None, description=None,
                        documents=None, fees=None, link=None, synonyms=None, offices=())
SERVICE_FIELDS = ("code", "ticket_prefix", "duration_minutes", "category", "bookable_online",
                  "walk_in", "required_fields", "name", "summary", "description", "documents",
                  "fees", "link", "synonyms")

audit.describe({
    "catalog.service.create": _l("Service created"),
    "catalog.service.update": _l("Service changed"),
    "catalog.service.retire": _l("Service retired"),
    "catalog.service.reinstate": _l("Service brought back into use"),
}, {"service": _l("Service")})


def _name_services(ids) -> dict:
    """The services' names in the reader's language, for the audit log (one query)."""
    language = current_language()
    rows = db.session.scalars(select(Service).where(Service.id.in_(audit.numeric_ids(ids))))
    return {str(s.id): s.display_name(language) for s in rows}


audit.describe(namers={"service": _name_services})


def may_edit_service(actor, service: Service) -> bool:
    """Administrators; managers only when every office offering the service is theirs."""
    if actor.is_admin:
        return True
    return bool(service.offices) and all(actor.manages(o.code) for o in service.offices)


def _record(action: str, service: Service, offices, **details):
    """One entry per office concerned, so each office's managers see it."""
    for office_id in sorted({o.id for o in offices}) or [None]:
        audit.record(action, service, office_id=office_id, code=service.code, **details)


def ensure_category(code: str, name: dict, position: int = 0) -> Category:
    """The category ``code``, created or updated with ``name``."""
    code = v.check_code(code)
    name = v.check_text(name, "name", "name", required=True)
    position = v.check_int(position, "position", 0, 10000)
    category = db.session.scalar(select(Category).where(Category.code == code))
    if category is None:
        category = Category(code=code, name=name, position=position)
        db.session.add(category)
    else:
        if category.name != name:
            category.name = name
        if category.position != position:
            category.position = position
    db.session.flush()
    return category


def _service_values(values: dict, service: Service | None) -> dict:
    code = v.check_code(values["code"])
    clash = db.session.scalar(select(Service.id).where(Service.code == code))
    if clash and (service is None or clash != service.id):
        raise ValidationError.at("code", _l("Another service already has this code."))
    prefix = v.check_prefix(values["ticket_prefix"])
    duration = v.check_int(values["duration_minutes"], "duration_minutes", 1, 480)
    offices = list(values["offices"] or [])
    for office in offices:
        if duration % office.slot_minutes:
            raise ValidationError.at("duration_minutes", _l(
                "At %(office)s appointments last a multiple of %(minutes)d minutes.",
                office=office.code, minutes=office.slot_minutes))
    _check_prefix_clash(prefix, offices, service)
    category = values["category"]
    if category is not None and not isinstance(category, Category):
        raise ValidationError.at("category", _l("Choose a category."))
    fields = values["required_fields"] or ()
    if not isinstance(fields, (list, tuple)) or any(f not in PERSONAL_FIELDS for f in fields):
        raise ValidationError.at("required_fields", _l(
            "Personal fields are among: %(fields)s.", fields=", ".join(PERSONAL_FIELDS)))
    return dict(
        code=code, ticket_prefix=prefix, duration_minutes=duration, category=category,
        bookable_online=bool(values["bookable_online"]), walk_in=bool(values["walk_in"]),
        required_fields=list(dict.fromkeys(fields)),
        name=v.check_text(values["name"], "name", "name", required=True),
        summary=v.check_text(values["summary"], "summary", "summary"),
        description=v.check_text(values["description"], "description", "description"),
        documents=v.check_text_lists(values["documents"], "documents", "document"),
        fees=v.check_text(values["fees"], "fees", "fees"),
        link=v.check_links(values["link"]),
        synonyms=v.check_text_lists(values["synonyms"], "synonyms", "synonym"),
        offices=offices,
    )


def _check_prefix_clash(prefix: str, offices, service: Service | None):
    """Two live services of one office cannot share a ticket prefix (``A001`` would be ambiguous)."""
    for office in offices:
        stmt = select(Service).where(Service.ticket_prefix == prefix,
                                     Service.retired.is_(False),
                                     Service.offices.contains(office))
        if service is not None and service.id is not None:
            stmt = stmt.where(Service.id != service.id)
        other = db.session.scalars(stmt.limit(1)).first()
        if other is not None:
            raise ValidationError.at("ticket_prefix", _l(
                "At %(office)s the prefix %(prefix)s is already used by %(service)s.",
                office=office.code, prefix=prefix, service=other.code))


def create_service(code: str, ticket_prefix: str, name: dict, **fields) -> Service:
    """A new service; ``fields`` as in ``SERVICE_DEFAULTS`` (``offices``: Office objects)."""
    values = _service_values({**v.merged("service", SERVICE_DEFAULTS, fields), "code": code,
                              "ticket_prefix": ticket_prefix, "name": name}, None)
    service = Service(**values)
    db.session.add(service)
    index_service(service)
    db.session.flush()
    _record("catalog.service.create", service, service.offices)
    return service


def update_service(service: Service, **changes) -> Service:
    current = {key: getattr(service, key) for key in SERVICE_DEFAULTS}
    current.update(code=service.code, ticket_prefix=service.ticket_prefix, name=service.name,
                   offices=list(service.offices))
    values = _service_values(v.merged("service", current, changes), service)
    before, offices_before = audit.snapshot(service, SERVICE_FIELDS), list(service.offices)
    offices = values.pop("offices")
    v.apply_values(service, values)
    if list(service.offices) != offices:
        service.offices = offices
    index_service(service)
    db.session.flush()
    changed = audit.changed(before, service)
    if set(offices_before) != set(service.offices):
        changed.append("offices")
    if changed:
        _record("catalog.service.update", service, {*offices_before, *service.offices},
                fields=changed)
    return service


def retire_service(service: Service, retired: bool = True):
    """Hide ``service`` from citizens (and free its ticket prefix); history stays."""
    if not retired and service.retired:
        _check_prefix_clash(service.ticket_prefix, service.offices, service)
    service.retired = retired
    db.session.flush()
    _record("catalog.service.retire" if retired else "catalog.service.reinstate", service,
            service.offices)
