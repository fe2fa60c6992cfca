"""Staff screens for services: the list, one service, create, edit, retire.

Administrators change any service. A manager creates services offered at
their offices, and edits or retires a service only when every office
offering it is one they manage; a service shared with another office is
read-only for them. Services are retired, never deleted.
"""
from __future__ import annotations

from flask import abort, current_app, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from citizen_desk.catalog import service_operations as ops
from citizen_desk.catalog import queries
from citizen_desk.catalog.admin.blueprint import bp
from citizen_desk.catalog.admin.forms import ServiceEditForm, choices, service_data
from citizen_desk.catalog.models import Category, Service
from citizen_desk.core.validation import ValidationError
from citizen_desk.core.access import permission
from citizen_desk.core.forms import ActionForm, action, save
from citizen_desk.core.i18n import current_language
from citizen_desk.extensions import db
from citizen_desk.catalog.service_operations import may_edit_service
from citizen_desk.staff.permissions import any_manager, current_actor, managed_offices, require


def _service(code: str) -> Service:
    service = db.session.scalar(select(Service).where(Service.code == code)
                                .options(selectinload(Service.offices)))
    if service is None:
        abort(404)
    return service


def _editable(code: str) -> Service:
    service = _service(code)
    require(may_edit_service(current_actor(), service))
    return service


def _prepare(form: ServiceEditForm):
    """Set the choices; return the values for the operation (offices by id, category)."""
    actor = current_actor()
    offices = managed_offices(actor, include_retired=True)
    form.offices.choices = choices((o.id, f"{o.display_name(current_language())} ({o.code})")
                                   for o in offices)
    form.set_category_choices(queries.categories(), current_language())

    def values() -> dict:
        by_id = {o.id: o for o in offices}
        chosen = [by_id[i] for i in form.offices.data]
        if not chosen and not actor.is_admin:
            raise ValidationError.at("offices", _l("Choose at least one of your offices."))
        category = (db.session.get(Category, int(form.category.data))
                    if form.category.data else None)
        return form.values(by_id, category)
    return values


def _to_service(service: Service) -> str:
    return url_for("catalog_admin.service", code=service.code)


@bp.get("/services")
@permission(any_manager)
def services():
    """Every service, with which of them the current person may change."""
    rows = db.session.scalars(select(Service).options(selectinload(Service.offices))
                              .order_by(Service.retired, Service.code)).all()
    actor = current_actor()
    return render_template("catalog/admin/services.html", services=rows,
                           editable={s.id for s in rows if may_edit_service(actor, s)})


@bp.route("/services/new", methods=["GET", "POST"])
@permission(any_manager)
def new_service():
    """Create a service offered at one's offices, with every translation."""
    form = ServiceEditForm()
    values = _prepare(form)
    return save(form, lambda: ops.create_service(**values()),
                _("The service has been created."), _to_service,
                "catalog/admin/service_form.html", service=None)


@bp.get("/services/<code>")
@permission(any_manager)
def service(code):
    """One service as staff see it, with its translations (read-only where not theirs)."""
    found = _service(code)
    return render_template("catalog/admin/service.html", service=found,
                           editable=may_edit_service(current_actor(), found),
                           languages=list(current_app.config["LANGUAGES"]),
                           action_form=ActionForm())


@bp.route("/services/<code>/edit", methods=["GET", "POST"])
@permission(any_manager)
def edit_service(code):
    """Change a service and its translations."""
    found = _editable(code)
    form = ServiceEditForm(data=service_data(found))
    values = _prepare(form)
    return save(form, lambda: ops.update_service(found, **values()),
                _("The service has been saved."), _to_service,
                "catalog/admin/service_form.html", service=found,
                current=found, data=service_data)


@bp.get("/services/<code>/retire")
@permission(any_manager)
def confirm_retire_service(code):
    """Ask before retiring a service: what it means, the button that does it, a way back."""
    found = _editable(code)
    return render_template(
        "staff/confirm.html", action_form=ActionForm(),
        caption=_("Service %(code)s", code=found.code),
        heading=_("Retire “%(name)s”?", name=found.display_name(current_language())),
        button=_("Retire the service"),
        warning=_("Citizens will no longer see or book this service."),
        consequences=[_("Appointments and tickets already made keep it."),
                      _("You can bring it back into use later, if its ticket prefix is still free.")],
        action_url=url_for("catalog_admin.retire_service", code=found.code),
        cancel_url=_to_service(found))


@bp.post("/services/<code>/retire")
@permission(any_manager)
def retire_service(code):
    """Retire a service: citizens no longer see it; bookings and tickets keep it."""
    found = _editable(code)
    return action(lambda: ops.retire_service(found), _("The service has been retired."),
                  _to_service(found))


@bp.post("/services/<code>/reinstate")
@permission(any_manager)
def reinstate_service(code):
    """Bring a retired service back (its ticket prefix must still be free)."""
    found = _editable(code)
    return action(lambda: ops.retire_service(found, False),
                  _("The service is in use again."), _to_service(found))
