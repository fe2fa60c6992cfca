"""Staff screens for an office's opening rules, closures and counters.

Managers of the office and administrators only (``manager_of("office")``);
the rule, closure or counter must belong to the office in the URL, else 404.
Rules and closures are configuration and can be removed; counters are
taken out of use, never deleted (tickets remember where they were called).
"""
from __future__ import annotations

from flask import abort, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from citizen_desk.catalog import operations as ops
from citizen_desk.catalog.admin.blueprint import bp, get_office
from citizen_desk.catalog.admin.forms import (ClosureForm, CounterForm, OpeningRuleForm,
                                             closure_data, counter_data, rule_data,
                                             service_choices)
from citizen_desk.catalog.models import Closure, Counter, OpeningRule, Service
from citizen_desk.offices.models import Office
from citizen_desk.core.access import permission
from citizen_desk.core.forms import ActionForm, action, save
from citizen_desk.core.i18n import current_language, format_local
from citizen_desk.extensions import db
from citizen_desk.staff.permissions import manager_of

MANAGER = manager_of("office")


def _part_of(office: Office, model, object_id: int):
    obj = db.session.get(model, object_id)
    if obj is None or obj.office_id != office.id:
        abort(404)
    return obj


def _office_services(office: Office, form) -> dict:
    """Offer the office's services as choices of ``form.services``; return them by id."""
    services = db.session.scalars(select(Service).where(Service.offices.contains(office))
                                  .order_by(Service.code)).all()
    form.services.choices = service_choices(services, current_language())
    return {s.id: s for s in services}


def _back(office: Office, anchor: str) -> str:
    return url_for("catalog_admin.office", office=office.code, _anchor=anchor)


def _confirm(office: Office, anchor: str, **context):
    """The "are you sure?" page of a remove or a retire (``staff/confirm.html``)."""
    return render_template("staff/confirm.html", action_form=ActionForm(),
                           caption=office.display_name(current_language()),
                           cancel_url=_back(office, anchor), **context)


# -- opening rules ---------------------------------------------------------------------------

@bp.route("/offices/<office>/rules/new", methods=["GET", "POST"])
@permission(MANAGER)
def new_rule(office):
    """Add opening hours (a weekly session, with seats per pool) to an office."""
    found = get_office(office)
    form = OpeningRuleForm()
    services = _office_services(found, form)
    return save(form, lambda: ops.add_rule(found, **form.values(services)),
                _("The opening hours have been added."), _back(found, "rules"),
                "catalog/admin/rule_form.html", office=found, rule=None)


@bp.route("/offices/<office>/rules/<int:rule_id>/edit", methods=["GET", "POST"])
@permission(MANAGER)
def edit_rule(office, rule_id):
    """Change opening hours."""
    found = get_office(office)
    rule = _part_of(found, OpeningRule, rule_id)
    form = OpeningRuleForm(data=rule_data(rule))
    services = _office_services(found, form)
    return save(form, lambda: ops.update_rule(rule, **form.values(services)),
                _("The opening hours have been saved."), _back(found, "rules"),
                "catalog/admin/rule_form.html", office=found, rule=rule,
                current=rule, data=rule_data)


@bp.get("/offices/<office>/rules/<int:rule_id>/remove")
@permission(MANAGER)
def confirm_remove_rule(office, rule_id):
    """Ask before removing opening hours."""
    found = get_office(office)
    rule = _part_of(found, OpeningRule, rule_id)
    hours = f"{rule.start_time:%H:%M}–{rule.end_time:%H:%M}"
    return _confirm(found, "rules", heading=_("Remove the opening hours %(hours)s?", hours=hours),
                    button=_("Remove the opening hours"),
                    warning=_("Citizens will no longer be able to book in these hours."),
                    consequences=[_("Appointments already booked are not touched."),
                                  _("To undo this, add the opening hours again.")],
                    action_url=url_for("catalog_admin.remove_rule", office=found.code,
                                       rule_id=rule.id))


@bp.post("/offices/<office>/rules/<int:rule_id>/remove")
@permission(MANAGER)
def remove_rule(office, rule_id):
    """Remove opening hours (bookings already made are not touched)."""
    found = get_office(office)
    rule = _part_of(found, OpeningRule, rule_id)
    return action(lambda: ops.remove_rule(rule), _("The opening hours have been removed."),
                  _back(found, "rules"))


# -- closures --------------------------------------------------------------------------------

@bp.route("/offices/<office>/closures/new", methods=["GET", "POST"])
@permission(MANAGER)
def new_closure(office):
    """Close the office for some days, or part of a day, with a reason for citizens."""
    found = get_office(office)
    form = ClosureForm()
    return save(form, lambda: ops.add_closure(found, **form.values()),
                _("The closure has been added."), _back(found, "closures"),
                "catalog/admin/closure_form.html", office=found, closure=None)


@bp.route("/offices/<office>/closures/<int:closure_id>/edit", methods=["GET", "POST"])
@permission(MANAGER)
def edit_closure(office, closure_id):
    """Change a closure."""
    found = get_office(office)
    closure = _part_of(found, Closure, closure_id)
    form = ClosureForm(data=closure_data(closure))
    return save(form, lambda: ops.update_closure(closure, **form.values()),
                _("The closure has been saved."), _back(found, "closures"),
                "catalog/admin/closure_form.html", office=found, closure=closure,
                current=closure, data=closure_data)


@bp.get("/offices/<office>/closures/<int:closure_id>/remove")
@permission(MANAGER)
def confirm_remove_closure(office, closure_id):
    """Ask before removing a closure."""
    found = get_office(office)
    closure = _part_of(found, Closure, closure_id)
    dates = format_local(closure.start_date, "short")
    if closure.end_date != closure.start_date:
        dates = f"{dates} – {format_local(closure.end_date, 'short')}"
    return _confirm(found, "closures", heading=_("Remove the closure of %(dates)s?", dates=dates),
                    button=_("Remove the closure"),
                    warning=_("The office will be open on these days again."),
                    consequences=[_("Citizens can book in the office's opening hours on these days."),
                                  _("To undo this, add the closure again.")],
                    action_url=url_for("catalog_admin.remove_closure", office=found.code,
                                       closure_id=closure.id))


@bp.post("/offices/<office>/closures/<int:closure_id>/remove")
@permission(MANAGER)
def remove_closure(office, closure_id):
    """Remove a closure: the office opens on those days again."""
    found = get_office(office)
    closure = _part_of(found, Closure, closure_id)
    return action(lambda: ops.remove_closure(closure), _("The closure has been removed."),
                  _back(found, "closures"))


# -- counters --------------------------------------------------------------------------------

@bp.route("/offices/<office>/counters/new", methods=["GET", "POST"])
@permission(MANAGER)
def new_counter(office):
    """Add a counter, with its label on the display and the services it serves."""
    found = get_office(office)
    form = CounterForm()
    services = _office_services(found, form)
    return save(form, lambda: ops.add_counter(found, **form.values(services)),
                _("The counter has been added."), _back(found, "counters"),
                "catalog/admin/counter_form.html", office=found, counter=None)


@bp.route("/offices/<office>/counters/<int:counter_id>/edit", methods=["GET", "POST"])
@permission(MANAGER)
def edit_counter(office, counter_id):
    """Change a counter (or put it back into use)."""
    found = get_office(office)
    counter = _part_of(found, Counter, counter_id)
    form = CounterForm(data=counter_data(counter))
    services = _office_services(found, form)
    return save(form, lambda: ops.update_counter(counter, **form.values(services)),
                _("The counter has been saved."), _back(found, "counters"),
                "catalog/admin/counter_form.html", office=found, counter=counter,
                current=counter, data=counter_data)


@bp.get("/offices/<office>/counters/<int:counter_id>/retire")
@permission(MANAGER)
def confirm_retire_counter(office, counter_id):
    """Ask before taking a counter out of use."""
    found = get_office(office)
    counter = _part_of(found, Counter, counter_id)
    return _confirm(found, "counters",
                    heading=_("Take “%(label)s” out of use?",
                              label=counter.display_label(current_language())),
                    button=_("Take out of use"),
                    warning=_("Clerks will no longer call tickets at this counter."),
                    consequences=[_("Tickets it called keep it in their history."),
                                  _("You can put it back into use by changing the counter.")],
                    action_url=url_for("catalog_admin.retire_counter", office=found.code,
                                       counter_id=counter.id))


@bp.post("/offices/<office>/counters/<int:counter_id>/retire")
@permission(MANAGER)
def retire_counter(office, counter_id):
    """Take a counter out of use; its tickets' history keeps it."""
    found = get_office(office)
    counter = _part_of(found, Counter, counter_id)
    return action(lambda: ops.retire_counter(counter),
                  _("The counter has been taken out of use."), _back(found, "counters"))
