"""Staff screens for offices: the list, an office's page, its details and the services it offers.

Administrators create and retire offices; an office's managers edit it.
"""
from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from citizen_desk.catalog import operations as ops
from citizen_desk.catalog import queries
from citizen_desk.catalog.admin.blueprint import bp, get_office
from citizen_desk.catalog.admin.forms import OfficeForm, OfficeServicesForm, service_choices
from citizen_desk.catalog.models import Service
from citizen_desk.catalog.service_operations import may_edit_service
from citizen_desk.core.access import permission
from citizen_desk.core.forms import ActionForm, action, save
from citizen_desk.core.i18n import current_language
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.staff.permissions import (admin, any_manager, current_actor, managed_offices,
                                           manager_of)


def to_office(office: Office) -> str:
    return url_for("catalog_admin.office", office=office.code)


@bp.get("/")
@permission(any_manager)
def index():
    """The catalog's staff home: the offices one manages and the services."""
    return redirect(url_for("catalog_admin.offices"))


@bp.get("/offices")
@permission(any_manager)
def offices():
    """Offices: all of them for administrators, their own for managers."""
    return render_template("catalog/admin/offices.html",
                           offices=managed_offices(current_actor(), include_retired=True),
                           is_admin=current_actor().is_admin)


@bp.route("/offices/new", methods=["GET", "POST"])
@permission(admin)
def new_office():
    """Create an office (administrators only)."""
    form = OfficeForm()
    return save(form, lambda: ops.create_office(**form.values()),
                _("The office has been created."), to_office,
                "catalog/admin/office_form.html", office=None)


@bp.get("/offices/<office>")
@permission(manager_of("office"))
def office(office):
    """One office as its managers see it: details, hours, closures, counters, services."""
    found = queries.office_by_code(office, with_details=True)
    if found is None:
        found = get_office(office)  # a retired office
    services = db.session.scalars(select(Service).where(Service.offices.contains(found))
                                  .order_by(Service.code)).all()
    return render_template("catalog/admin/office.html", office=found, services=services,
                           action_form=ActionForm(), is_admin=current_actor().is_admin)


@bp.route("/offices/<office>/edit", methods=["GET", "POST"])
@permission(manager_of("office"))
def edit_office(office):
    """Change an office's details and their translations."""
    found = get_office(office)
    form = OfficeForm(obj=found)
    if not current_actor().is_admin:
        # Codes are used in URLs, staff roles and device scopes: administrators change them.
        form.code.data = found.code
    return save(form, lambda: ops.update_office(found, **form.values()),
                _("The office has been saved."), to_office,
                "catalog/admin/office_form.html", office=found, current=found)


@bp.get("/offices/<office>/retire")
@permission(admin)
def confirm_retire_office(office):
    """Ask before retiring an office: what it means, the button that does it, a way back."""
    found = get_office(office)
    name = found.display_name(current_language())
    return render_template(
        "staff/confirm.html", action_form=ActionForm(), caption=_("Office %(code)s", code=found.code),
        heading=_("Retire “%(name)s”?", name=name), button=_("Retire the office"),
        warning=_("Citizens will no longer see this office."),
        consequences=[_("It disappears from the list of offices, from search and from booking."),
                      _("Its appointments, tickets, counters, staff roles and history are kept."),
                      _("You can bring it back into use later.")],
        action_url=url_for("catalog_admin.retire_office", office=found.code),
        cancel_url=url_for("catalog_admin.office", office=found.code))


@bp.post("/offices/<office>/retire")
@permission(admin)
def retire_office(office):
    """Retire an office: hidden from citizens, its history kept."""
    found = get_office(office)
    return action(lambda: ops.retire_office(found), _("The office has been retired."),
                  url_for("catalog_admin.office", office=office))


@bp.post("/offices/<office>/reinstate")
@permission(admin)
def reinstate_office(office):
    """Bring a retired office back into use."""
    found = get_office(office)
    return action(lambda: ops.retire_office(found, False),
                  _("The office is in use again."), url_for("catalog_admin.office", office=office))


@bp.route("/offices/<office>/services", methods=["GET", "POST"])
@permission(manager_of("office"))
def office_services(office):
    """Choose which of the catalog's live services this office offers.

    Managers are shown the services offered here and those they may edit; the
    operation checks again (see ``set_office_services``).
    """
    found, actor = get_office(office), current_actor()
    services = db.session.scalars(select(Service).where(Service.retired.is_(False))
                                  .options(selectinload(Service.offices))
                                  .order_by(Service.code)).all()
    services = [s for s in services if found in s.offices or may_edit_service(actor, s)]
    form = OfficeServicesForm(data={"services": [s.id for s in services
                                                 if found in s.offices]})
    form.services.choices = service_choices(services, current_language())
    by_id = {s.id: s for s in services}
    return save(form, lambda: ops.set_office_services(
                    found, [by_id[i] for i in form.services.data], services, actor=actor),
                _("The services of the office have been saved."),
                url_for("catalog_admin.office", office=office),
                "catalog/admin/office_services.html", office=found)

