"""The kiosk: a touch screen in the lobby where citizens take a ticket or check in.

``/offices/<office>/kiosk`` for the office's kiosk (paired once with
``?token=``: ``staff/devices.py``) or its staff. One question per screen,
big targets, no site chrome:

start (language; or type/scan an appointment code) → services open now,
with people waiting and the wait → the priority question (when the office
has priority groups; "No" is the big default) → "tell me when my turn
nears" (a mobile number or an e-mail, or skip) → the ticket, printed on the
80 mm receipt printer and shown for 20 seconds.

Everything works without JavaScript: the choices travel in the address,
the last screen is a plain form with a CSRF token and an idempotency key
made when it was shown, so a double tap or a resubmission gives the same
ticket. ``static/js/kiosk.js`` only disables the final button after a tap
and prints the ticket once. The chosen language is in every address
(``?lang=``), so the next citizen starts in their own.
"""
from __future__ import annotations

import secrets
from datetime import datetime

import segno
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import HiddenField, StringField
from wtforms.validators import Length, Optional

from citizen_desk.catalog import hours
from citizen_desk.catalog.models import Service, service_office
from citizen_desk.core import uow
from citizen_desk.core.access import permission
from citizen_desk.core.db import utcnow
from citizen_desk.core.i18n import NATIVE_NAMES, available_languages, current_language
from citizen_desk.core.validation import CODE_PATTERN, ValidationError
from citizen_desk.extensions import db
from citizen_desk.queue import checkin, estimate, opening, operations
from citizen_desk.queue.kiosk_api import clean_contact, find_office
from citizen_desk.queue.models import Ticket, TicketKind
from citizen_desk.queue.schemas import tracking_url
from citizen_desk.queue.settings import priority_choices
from citizen_desk.staff.devices import device_page
from citizen_desk.staff.models import TokenPurpose
from citizen_desk.staff.permissions import device_of

bp = Blueprint("queue_kiosk", __name__)
KIOSK = device_of(TokenPurpose.kiosk)

#: Seconds a ticket stays on screen, and an unfinished step waits for a tap, before the
#: kiosk goes back to its start screen for the next citizen.
TICKET_SECONDS = 20
IDLE_SECONDS = 90
ENTER_CODE = _l("Enter the code of your appointment, like K7M-4QX.")
CONTACT_INVALID = _l("Enter a mobile number, like 6912345678, or an e-mail address, like "
                     "name@example.gr. Or choose “No thanks”.")


class ContactForm(FlaskForm):
    """The last step: an optional contact for "your turn nears", and the ticket."""

    contact = StringField(_l("Mobile number or e-mail"), validators=[Optional(), Length(max=254)])
    priority = HiddenField()
    key = HiddenField()


class CheckInForm(FlaskForm):
    """The start screen's appointment code, typed or scanned."""

    code = StringField(_l("Appointment code"), validators=[Length(max=500)])


# -- look-ups ---------------------------------------------------------------------------------

def _office(code):
    office = find_office(code)
    if office is None:
        abort(404)
    return office


def walk_in_services(office) -> list[Service]:
    """The office's live walk-in services (open now or not), by name."""
    services = db.session.scalars(
        select(Service).join(service_office, service_office.c.service_id == Service.id)
        .where(service_office.c.office_id == office.id, Service.retired.is_(False),
               Service.walk_in.is_(True))).all()
    language = current_language()
    return sorted(services, key=lambda s: s.display_name(language).casefold())


def _service(office, code, now: datetime | None = None) -> Service:
    """A walk-in service of ``office`` open now; else back to the list (it may have closed)."""
    if isinstance(code, str) and CODE_PATTERN.match(code):
        for service in walk_in_services(office):
            if service.code == code and opening.open_now(office, service, now):
                return service
    abort(redirect(url_for(".services", office=office.code, lang=current_language())))


def _language() -> str:
    """The language this citizen chose (the address's ``lang``), else the request's."""
    return current_language()


def _priority(office, value) -> str | None:
    codes = [code for code, _label in priority_choices(office)]
    return value if value in codes else None


def qr_svg(url: str) -> Markup:
    """The tracking link as an inline SVG QR code (no inline style: the CSP forbids it)."""
    code = segno.make(url, error="m")
    return Markup(code.svg_inline(scale=5, border=2, omitsize=True,
                                  title=_("QR code of your ticket's tracking page")))


# -- screens ----------------------------------------------------------------------------------

@bp.get("/offices/<office>/kiosk")
@permission(KIOSK)
@device_page
def start(office):
    """The start screen: each language in its own name, and the check-in box."""
    found = _office(office)
    return _start(found, CheckInForm())


def _start(office, form, status=200, problems=()):
    """The start screen speaks every language at once: each choice and each line in its own."""
    languages = []
    for code in available_languages():
        with force_locale(code):
            languages.append({
                "code": code, "name": NATIVE_NAMES.get(code, code),
                "prompt": _("Take a ticket"),
                "checkin": _("Have an appointment? Type or scan its code."),
                "submit": _("Check in"),
                "problems": [str(problem) for problem in problems],
                "href": url_for(".services", office=office.code, lang=code)})
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return render_template("queue/kiosk/start.html", office=office, form=form,
                               languages=languages, refresh=None), status


@bp.get("/offices/<office>/kiosk/services")
@permission(KIOSK)
@device_page
def services(office):
    """The walk-in services open now, each a big button with its queue; or "closed now"."""
    found = _office(office)
    now = utcnow()
    language = _language()
    open_services = [s for s in walk_in_services(found) if opening.open_now(found, s, now)]
    rows = [{"service": s, "name": s.display_name(language),
             **estimate.service_summary(found, s, now)} for s in open_services]
    today = found.today()
    return render_template(
        "queue/kiosk/services.html", office=found, rows=rows, language=language,
        refresh=IDLE_SECONDS, week=hours.weekly_hours(found, today),
        today_sessions=hours.sessions_on(found, today), today=today,
        closed_today=[c for c in hours.closed_days(found, today, today)])


@bp.get("/offices/<office>/kiosk/services/<service>")
@permission(KIOSK)
@device_page
def priority(office, service):
    """Do you belong to a priority group? "No" first and biggest; skipped when none are kept."""
    found = _office(office)
    chosen = _service(found, service)
    choices = priority_choices(found)
    if not choices:
        return redirect(url_for(".ticket_form", office=found.code, service=chosen.code,
                                lang=_language()))
    return render_template("queue/kiosk/priority.html", office=found, service=chosen,
                           choices=choices, language=_language(), refresh=IDLE_SECONDS)


@bp.route("/offices/<office>/kiosk/services/<service>/ticket", methods=["GET", "POST"])
@permission(KIOSK)
@device_page
def ticket_form(office, service):
    """Tell me when my turn nears (optional), then the ticket. One tap = one ticket."""
    found = _office(office)
    form = ContactForm()
    if request.method == "GET":
        form.priority.data = _priority(found, request.args.get("priority"))
        form.key.data = secrets.token_urlsafe(18)
    chosen = _service(found, service)
    if form.validate_on_submit():
        key = form.key.data or ""
        if not 1 <= len(key) <= 64:
            abort(400)
        # Two buttons: "tell me" (name=take) and "no thanks" (name=skip, the big default).
        contact = "" if "skip" in request.form else (form.contact.data or "").strip()
        try:
            with uow.savepoint():
                try:
                    phone, email = clean_contact(*_split_contact(contact))
                except ValidationError:
                    raise ValidationError.at("contact", CONTACT_INVALID) from None
                ticket, _created = operations.issue(
                    found, chosen, kind=TicketKind.walk_in,
                    priority=_priority(found, form.priority.data), language=_language(),
                    idempotency_key=key, notify_phone=phone, notify_email=email)
        except ValidationError as problem:
            form.contact.errors = list(form.contact.errors) + [
                str(message) for message in problem.errors.values()]
        else:
            return redirect(url_for(".ticket", office=found.code, ticket=ticket.public_id,
                                    lang=ticket.language), code=303)
    status = 422 if form.errors else 200
    return render_template("queue/kiosk/contact.html", office=found, service=chosen, form=form,
                           language=_language(), refresh=IDLE_SECONDS), status


def _split_contact(text: str) -> tuple[str | None, str | None]:
    """One box for both: an address with ``@`` is an e-mail, anything else a phone number."""
    if not text:
        return None, None
    return (None, text) if "@" in text else (text, None)


@bp.get("/offices/<office>/kiosk/tickets/<ticket>")
@permission(KIOSK)
@device_page
def ticket(office, ticket):
    """The ticket: number, service, time, people ahead, the wait and the QR code; printed."""
    found = _office(office)
    shown = None
    if isinstance(ticket, str) and len(ticket) <= 64:
        shown = db.session.scalar(select(Ticket).where(Ticket.public_id == ticket,
                                                       Ticket.office_id == found.id))
    if shown is None:
        abort(404)
    standing = estimate.standing(shown)
    service = db.session.get(Service, shown.service_id)
    url = tracking_url(shown)
    return render_template("queue/kiosk/ticket.html", office=found, ticket=shown,
                           service=service, standing=standing, qr=qr_svg(url),
                           tracking=url, language=_language(), refresh=TICKET_SECONDS)


@bp.post("/offices/<office>/kiosk/check-in")
@permission(KIOSK)
@device_page
def check_in(office):
    """An appointment code typed or scanned: the appointment's ticket, or why not."""
    found = _office(office)
    form = CheckInForm()
    if not form.validate_on_submit() or not (form.code.data or "").strip():
        return _start(found, form, 422, [ENTER_CODE])
    appointment = checkin.find(found, form.code.data)
    try:
        with uow.savepoint():
            # Checking in twice gives the first ticket: the appointment is its own key.
            ticket, _created = checkin.check_in(found, form.code.data)
    except ValidationError as problem:
        return _start(found, form, 422, list(problem.errors.values()))
    except checkin.TooEarly as early:
        return _refused(found, appointment, early.message, late=False)
    except checkin.TooLate as late:
        return _refused(found, appointment, late.message, late=True)
    return redirect(url_for(".ticket", office=found.code, ticket=ticket.public_id,
                            lang=ticket.language), code=303)


def _refused(office, appointment, message, *, late: bool):
    """Too early (the time check-in opens) or too late (a walk-in ticket instead, if open)."""
    language = (appointment.language if appointment is not None and appointment.language
                in available_languages() else _language())
    walk_in = None
    if late and appointment is not None:
        service = appointment.service
        if (service.walk_in and not service.retired
                and opening.open_now(office, service)):
            walk_in = url_for(".priority", office=office.code, service=service.code,
                              lang=language)
    with force_locale(language):
        return render_template("queue/kiosk/refused.html", office=office, message=message,
                               walk_in=walk_in, language=language, late=late,
                               refresh=IDLE_SECONDS), 409


def init_app(app):
    """Register the kiosk's pages and its API (``kiosk_api``: bearer tokens, no CSRF)."""
    from citizen_desk.extensions import csrf
    from citizen_desk.queue.kiosk_api import api

    app.register_blueprint(bp)
    app.register_blueprint(api, url_prefix="/api/v1")
    csrf.exempt(api)
