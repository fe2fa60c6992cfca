"""Signing in and out, and a staff member's own account pages."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from limits.strategies import FixedWindowRateLimiter

from citizen_desk.core import uow
from citizen_desk.core.access import permission, public
from citizen_desk.core.forms import attempt, save
from citizen_desk.extensions import limiter
from citizen_desk.staff import operations, sessions
from citizen_desk.staff.forms import (ROLE_LABELS, ChangePasswordForm, LoginForm, LogoutForm,
                                      ProfileForm)
from citizen_desk.staff.permissions import signed_in

bp = Blueprint("staff", __name__, url_prefix="/staff")


def _login_failed():
    # i18n: one message for a wrong password, an unknown, disabled or locked account.
    return _("The e-mail address or the password is not correct, or the account "
             "cannot sign in at the moment.")


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _give_back_login_hit():
    """A successful sign-in does not count against its address's limit.

    Every sign-in POST takes a hit of ``LOGIN_RATE_LIMIT`` when it arrives,
    before the password is checked: the storage counts atomically (a lock in
    ``memory://``, ``INCRBY`` in Redis), so a parallel burst cannot pass the
    limit, as a check-now, count-later (``deduct_when``) lets it. Once the
    sign-in has committed, its hit is given back, so the limit counts
    failures. With several workers the counter must be shared: set
    ``REDIS_URL`` (``memory://`` counts per process).
    """
    if not limiter.enabled or not isinstance(limiter.limiter, FixedWindowRateLimiter):
        return  # only a fixed window's counter can be given back
    storage = limiter.storage
    for request_limit in limiter.current_limits:
        if request_limit.shared or request_limit.breached:
            continue
        key, expiry = request_limit.key, request_limit.limit.get_expiry()

        def give_back(key=key, expiry=expiry):
            if storage.get(key) > 0:  # not when the window has ended meanwhile
                storage.incr(key, expiry, amount=-1)
        uow.after_commit(give_back)


@bp.route("/login", methods=["GET", "POST"])
@permission(public)
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Sign in with e-mail and password; one message for every kind of failure."""
    if current_user.is_authenticated:
        return redirect(sessions.safe_next(request.args.get("next"), url_for("staff.dashboard")))
    form = LoginForm()
    if form.validate_on_submit():
        user = operations.authenticate(form.email.data, form.password.data)
        if user is None:  # the unit still commits: the failure counts
            form.form_errors.append(_login_failed())
            return render_template("staff/login.html", form=form), 200
        sessions.start_session(user)
        _give_back_login_hit()
        return redirect(sessions.safe_next(request.args.get("next"), url_for("staff.dashboard")))
    return render_template("staff/login.html", form=form)


@bp.post("/logout")
@permission(public)
def logout():
    """Sign out, revoking the session on the server."""
    form = LogoutForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        user = current_user._get_current_object()
        sessions.end_session(user)
        flash(_("You have signed out."), "success")
    return redirect(url_for("staff.login"))


@bp.get("/")
@permission(signed_in)
def dashboard():
    """Where a staff member lands after signing in: their roles and tools."""
    return render_template("staff/dashboard.html", user=current_user, role_labels=ROLE_LABELS)


@bp.route("/password", methods=["GET", "POST"])
@permission(signed_in)
def password():
    """Change one's own password (forced after an administrator's reset)."""
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        ok, _changed = attempt(form, lambda: operations.change_password(
            user, form.current_password.data, form.new_password.data))
        if ok:
            sessions.start_session(user)  # the nonce changed: keep this session, drop others
            flash(_("Your password has been changed. Other sessions were signed out."), "success")
            return redirect(url_for("staff.dashboard"))
    return render_template("staff/password.html", form=form)


@bp.route("/profile", methods=["GET", "POST"])
@permission(signed_in)
def profile():
    """One's own name and the language of the staff pages."""
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    return save(form, lambda: operations.update_profile(
                    user, display_name=form.display_name.data, locale=form.locale.data),
                _("Your details have been saved."),
                lambda _saved: url_for("staff.dashboard", lang=user.locale),
                "staff/profile.html", current=user)
