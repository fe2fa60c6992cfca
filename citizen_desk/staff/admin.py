"""Administration of staff accounts, organisations and device tokens.

Administrators see and change everything. Office managers see the people
and devices of their offices and may only give roles in those offices.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms import SelectChoice

from citizen_desk.core import uow
from citizen_desk.core.access import permission
from citizen_desk.core.forms import ActionForm, action, attempt, save
from citizen_desk.core.i18n import current_language
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from citizen_desk.staff import operations
from citizen_desk.staff.forms import (PURPOSE_LABELS, ROLE_LABELS, DeviceTokenForm,
                                      OrganisationForm, RoleForm, StaffForm)
from citizen_desk.staff.models import (AccessToken, Organisation, Role, RoleAssignment,
                                       StaffUser, TokenPurpose)
from citizen_desk.staff.permissions import (admin, any_manager, current_actor, managed_offices,
                                           may_manage_account, require)
from citizen_desk.staff.views import bp


def _offices_managed():
    """The live offices the current actor manages (all, for admins)."""
    return managed_offices(current_actor())


def _office_label(office) -> str:
    """An office as a drop-down shows it: its name in the reader's language, then its code."""
    return f"{office.display_name(current_language())} ({office.code})"


def _office_choices():
    return [SelectChoice("", _("No office"))] + [
        SelectChoice(str(o.id), _office_label(o)) for o in _offices_managed()]


def _role_choices():
    roles = [Role.clerk]  # managers manage clerks; other roles are the administrators'
    if current_actor().is_admin:
        roles += [Role.manager, Role.admin, Role.ngo]
    return [SelectChoice(r.value, ROLE_LABELS[r]) for r in roles]


def can_manage(user: StaffUser) -> bool:
    """Whether the current actor may change ``user`` (managers: their offices' clerks only)."""
    return may_manage_account(current_actor(), user)


def _get_user(user_id: int) -> StaffUser:
    user = db.session.get(StaffUser, user_id)
    if user is None:
        abort(404)
    require(can_manage(user))
    return user


def _role_arguments(form) -> tuple[Role, int | None]:
    role = Role(form.role.data)
    office_id = int(form.office.data) if form.office.data else None
    if office_id is not None and office_id not in {o.id for o in _offices_managed()}:
        raise ValidationError({"office": _("You cannot give roles in this office.")})
    return role, office_id


@bp.get("/users")
@permission(any_manager)
def users():
    """Staff accounts: all of them for administrators, their offices' for managers."""
    query = select(StaffUser).order_by(StaffUser.display_name)
    if not current_actor().is_admin:
        managed = [o.id for o in _offices_managed()]
        query = query.where(StaffUser.roles.any(RoleAssignment.office_id.in_(managed)))
    return render_template("staff/users.html", users=db.session.scalars(query).all(),
                           role_labels=ROLE_LABELS, can_manage=can_manage)


@bp.route("/users/new", methods=["GET", "POST"])
@permission(any_manager)
def new_user():
    """Create an account with one role; it gets a temporary password shown once."""
    form = StaffForm()
    form.role.choices = _role_choices()
    form.office.choices = _office_choices()
    organisations = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    form.organisation.choices = [SelectChoice("", _("No organisation"))] + [
        SelectChoice(str(o.id), o.name) for o in organisations]
    def create():
        role, office_id = _role_arguments(form)
        if role != Role.clerk and not current_actor().is_admin:
            raise ValidationError({"role": _("Only administrators can give this role.")})
        user = operations.create_user(
            email=form.email.data, display_name=form.display_name.data, role=role,
            office_id=office_id, locale=form.locale.data,
            organisation_id=int(form.organisation.data) if form.organisation.data else None)
        return user, operations.reset_password(user)
    if form.validate_on_submit():
        ok, created = attempt(form, create)
        if ok:
            user, temporary = created
            return render_template("staff/password_issued.html", user=user, password=temporary)
    return render_template("staff/user_new.html", form=form)


@bp.get("/users/<int:user_id>")
@permission(any_manager)
def user(user_id):
    """One account: roles, status, and what can be done to it."""
    user = _get_user(user_id)
    role_form = RoleForm()
    role_form.role.choices = _role_choices()
    role_form.office.choices = _office_choices()
    tokens = db.session.scalars(select(AccessToken).where(AccessToken.user_id == user.id)
                                .order_by(AccessToken.created_dt.desc())).all()
    return render_template("staff/user.html", user=user, role_form=role_form,
                           action_form=ActionForm(), role_labels=ROLE_LABELS, tokens=tokens)


@bp.post("/users/<int:user_id>/tokens")
@permission(admin)
def new_integration_token(user_id):
    """Issue an API token that acts as this person (for an integration); shown once."""
    user = _get_user(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        with uow.savepoint():
            token, secret = operations.issue_user_token(user, created_by=current_actor().user)
    except ValidationError as exc:
        for message in exc.errors.values():
            flash(message, "error")
        return redirect(url_for("staff.user", user_id=user_id))
    return render_template("staff/token_issued.html", token=token, secret=secret,
                           purpose_labels=PURPOSE_LABELS)


@bp.post("/users/<int:user_id>/roles")
@permission(any_manager)
def add_role(user_id):
    """Give the account another role."""
    user = _get_user(user_id)
    form = RoleForm()
    form.role.choices = _role_choices()
    form.office.choices = _office_choices()
    if not form.validate_on_submit():
        abort(400)
    return action(lambda: operations.grant_role(user, *_role_arguments(form)),
                  _("The role has been added."), url_for("staff.user", user_id=user_id))


def _get_role(user: StaffUser, role_id: int) -> RoleAssignment:
    """One of ``user``'s roles, or 404."""
    assignment = next((r for r in user.roles if r.id == role_id), None)
    if assignment is None:
        abort(404)
    return assignment


@bp.get("/users/<int:user_id>/roles/<int:role_id>/delete")
@permission(any_manager)
def confirm_remove_role(user_id, role_id):
    """Ask before taking a role away."""
    user = _get_user(user_id)
    assignment = _get_role(user, role_id)
    role = str(ROLE_LABELS[assignment.role])
    if assignment.office is not None:
        role = _("%(role)s at %(office)s", role=role, office=assignment.office.code)
    return render_template(
        "staff/confirm.html", action_form=ActionForm(), caption=user.display_name,
        heading=_("Take away the role “%(role)s”?", role=role), button=_("Remove the role"),
        warning=_("%(name)s loses what this role allows at once.", name=user.display_name),
        consequences=[_("What they did with the role stays in the audit log."),
                      _("You can give the role again later.")],
        action_url=url_for("staff.remove_role", user_id=user.id, role_id=assignment.id),
        cancel_url=url_for("staff.user", user_id=user.id))


@bp.post("/users/<int:user_id>/roles/<int:role_id>/delete")
@permission(any_manager)
def remove_role(user_id, role_id):
    """Take a role away."""
    user = _get_user(user_id)
    assignment = _get_role(user, role_id)
    return action(lambda: operations.revoke_role(user, assignment),
                  _("The role has been removed."), url_for("staff.user", user_id=user_id))


def _set_active(user_id: int, active: bool):
    user = _get_user(user_id)
    return action(lambda: operations.set_active(user, active),
                  _("The account has been enabled.") if active
                  else _("The account has been disabled."),
                  url_for("staff.user", user_id=user_id))


@bp.post("/users/<int:user_id>/disable")
@permission(any_manager)
def disable_user(user_id):
    """Disable an account: its sessions and tokens stop working at once."""
    return _set_active(user_id, False)


@bp.post("/users/<int:user_id>/enable")
@permission(any_manager)
def enable_user(user_id):
    """Enable a disabled account again."""
    return _set_active(user_id, True)


@bp.post("/users/<int:user_id>/reset-password")
@permission(any_manager)
def reset_password(user_id):
    """Give the account a temporary password, shown once, to be changed at sign-in."""
    user = _get_user(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    temporary = operations.reset_password(user)
    return render_template("staff/password_issued.html", user=user, password=temporary)


@bp.get("/tokens")
@permission(any_manager)
def tokens():
    """Device tokens (kiosks, displays) of the offices the actor manages."""
    managed = {o.id: o.code for o in _offices_managed()}
    query = select(AccessToken).order_by(AccessToken.revoked_dt.is_not(None),
                                         AccessToken.created_dt.desc())
    if not current_actor().is_admin:
        query = query.where(AccessToken.office_id.in_(list(managed)))
    return render_template("staff/tokens.html", tokens=db.session.scalars(query).all(),
                           purpose_labels=PURPOSE_LABELS, action_form=ActionForm())


@bp.route("/tokens/new", methods=["GET", "POST"])
@permission(any_manager)
def new_token():
    """Create a device token for a kiosk or a display; the token is shown once."""
    form = DeviceTokenForm()
    form.office.choices = [SelectChoice(str(o.id), _office_label(o)) for o in _offices_managed()]
    if form.validate_on_submit():
        ok, issued = attempt(form, lambda: operations.issue_device_token(
            name=form.name.data, office_id=int(form.office.data),
            purpose=TokenPurpose(form.purpose.data), created_by=current_actor().user))
        if ok:
            token, secret = issued
            return render_template("staff/token_issued.html", token=token, secret=secret,
                                   purpose_labels=PURPOSE_LABELS)
    return render_template("staff/token_new.html", form=form)


@bp.post("/tokens/<int:token_id>/revoke")
@permission(any_manager)
def revoke_token(token_id):
    """Revoke a token: the device stops working at once."""
    token = db.session.get(AccessToken, token_id)
    if token is None:
        abort(404)
    actor = current_actor()
    allowed = actor.is_admin or (token.office_id is not None and token.office_id in {
        o.id for o in _offices_managed()})
    require(allowed)
    return action(lambda: operations.revoke_token(token), _("The token has been revoked."),
                  url_for("staff.tokens"))


@bp.get("/organisations")
@permission(admin)
def organisations():
    """NGOs and other partner bodies whose staff book on behalf of people."""
    rows = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    return render_template("staff/organisations.html", organisations=rows)


@bp.route("/organisations/new", methods=["GET", "POST"])
@permission(admin)
def new_organisation():
    """Register an organisation."""
    form = OrganisationForm()
    return save(form, lambda: operations.create_organisation(
                    name=form.name.data, contact_name=form.contact_name.data or "",
                    contact_email=form.contact_email.data or "",
                    contact_phone=form.contact_phone.data or ""),
                _("The organisation has been created."), url_for("staff.organisations"),
                "staff/organisation_new.html")
