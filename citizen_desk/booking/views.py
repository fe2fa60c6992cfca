"""The citizen's online booking journey: one question per page, without JavaScript.

service → office (skipped when one office offers it) → day → time → details
→ check your answers → confirmation; and the privacy notice.

Between steps the signed session cookie keeps the service, office and time
chosen and the details given (``booking``), and this browser's hold key
(``booking_hold``: a browser session holds at most one time, since a new
hold of the same key releases the old). The cookie is trusted no further
than its signature: every step loads the office and service again, and
the operations check the time (``hold``/``book`` → ``slot_at``) and the
details (``clean_details``) once more on every POST.

The manage link's token is shown on the confirmation page only: the
session keeps it for that page for ``DONE_MINUTES`` (a reload, another
language), the database only its hash.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

import phonenumbers
from flask import (Blueprint, abort, make_response, redirect, render_template,
                   request, session, url_for)
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from citizen_desk.booking import availability, identity, notices, operations, picker
from citizen_desk.booking.forms import BookForm, DetailsForm, TimeForm
from citizen_desk.booking.models import AppointmentStatus, Channel
from citizen_desk.booking.operations import CapReached, SlotTaken
from citizen_desk.catalog.models import PERSONAL_FIELD_LABELS, OpeningRule, Service
from citizen_desk.catalog.search.index import fold
from citizen_desk.core import challenge, limits, uow
from citizen_desk.core.access import permission, public
from citizen_desk.core.db import utcnow
from citizen_desk.core.errors import error_response
from citizen_desk.core.i18n import current_language, format_local
from citizen_desk.core.validation import CODE_PATTERN, ValidationError
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office

bp = Blueprint("booking", __name__)

#: Session keys: the journey's choices, the browser's hold key, the confirmation to show.
STATE = "booking"
HOLD = "booking_hold"
DONE = "booking_done"
#: Minutes the confirmation page (with the manage link) can be shown again in this browser.
DONE_MINUTES = 30


# -- loading and checking what the URL names -------------------------------------------------

def _not_found(message=None):
    abort(make_response(*error_response(404, message)))


def _service(code) -> Service:
    """The live service ``code`` that can be booked online, with its offices' rules; else 404."""
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        _not_found()
    service = db.session.scalar(
        select(Service).where(Service.code == code, Service.retired.is_(False)).options(
            selectinload(Service.offices).selectinload(Office.rules)
            .selectinload(OpeningRule.services)))
    if service is None:
        _not_found()
    if not service.bookable_online:
        _not_found(_("This service cannot be booked online. The service's page says how "
                     "to be served."))
    return service


def bookable_offices(service: Service) -> list[Office]:
    """The live offices where ``service`` has seats for the public now or later."""
    result = []
    for office in service.offices:
        if office.retired:
            continue
        today = office.today()
        if any(rule.seats_public > 0 and rule.applies_to(service)
               and (rule.valid_until is None or rule.valid_until >= today)
               for rule in office.rules):
            result.append(office)
    return result


def _journey(service_code, office_code) -> tuple[Service, Office]:
    """The service and the office of the URL (the office with its rules and closures)."""
    service = _service(service_code)
    if not isinstance(office_code, str) or not CODE_PATTERN.match(office_code):
        _not_found()
    office = next((o for o in bookable_offices(service) if o.code == office_code), None)
    if office is None:
        _not_found(_("This service cannot be booked online at this office."))
    return service, availability.load_office(office.id)


def _state(service: Service, office: Office) -> dict | None:
    """The journey's choices for this service and office, with ``start`` as a datetime."""
    state = session.get(STATE)
    if (not isinstance(state, dict) or state.get("service") != service.code
            or state.get("office") != office.code):
        return None
    start = picker.parse_start(state.get("start"))
    if start is None:
        return None
    details = state.get("details")
    return {**state, "start": start, "details": details if isinstance(details, dict) else None}


def _save_state(service: Service, office: Office, start: datetime, details: dict | None):
    session[STATE] = {"service": service.code, "office": office.code,
                      "start": start.isoformat(), "details": details}


def _hold_key() -> str:
    """This browser's hold key, made on its first hold."""
    key = session.get(HOLD)
    if not isinstance(key, str) or not 20 <= len(key) <= 64:
        key = session[HOLD] = operations.new_hold_key()
    return key


def _live_hold(office: Office, start: datetime) -> datetime | None:
    """Until when this browser holds ``start`` at ``office`` (``None``: no live hold of it)."""
    held = operations.held_start(session.get(HOLD) if isinstance(session.get(HOLD), str)
                                 else None, office)
    return held[1] if held and held[0] == start else None


def _urls(service: Service, office: Office, offices: list[Office] | None = None) -> dict:
    """Links of the journey's steps, for back and change links."""
    several = len(offices if offices is not None else bookable_offices(service)) > 1
    return {
        "service": url_for("catalog.service", code=service.code),
        "office": url_for(".office", service=service.code) if several else None,
        "day": url_for(".day", service=service.code, office=office.code),
        "details": url_for(".details", service=service.code, office=office.code),
        "check": url_for(".check", service=service.code, office=office.code),
    }


def _time_url(service: Service, office: Office, day) -> str:
    return url_for(".time", service=service.code, office=office.code, day=day.isoformat())


def manage_url(code: str, token: str) -> str:
    """The absolute manage link of an appointment, as its mails write it: under
    ``PUBLIC_URL`` when set, since the request's ``Host`` is the client's to choose."""
    return notices.absolute_url("booking_manage.show", code=code, token=token)


# -- service and office ------------------------------------------------------------------------

@bp.get("/book")
@permission(public)
def start():
    """Where booking begins: ``?service=`` goes on to the office (or the day); without it,
    the services that can be booked online."""
    code = request.args.get("service")
    if code is None:
        return render_template("booking/services.html", services=_bookable_services())
    service = _service(code)
    offices = bookable_offices(service)
    if not offices:
        _not_found(_("This service cannot be booked online at the moment."))
    if len(offices) == 1:
        return redirect(url_for(".day", service=service.code, office=offices[0].code))
    return redirect(url_for(".office", service=service.code))


def _bookable_services() -> list[Service]:
    language = current_language()
    services = db.session.scalars(select(Service).where(
        Service.retired.is_(False), Service.bookable_online.is_(True),
        Service.offices.any(Office.retired.is_(False)))).all()
    return sorted(services, key=lambda service: fold(service.display_name(language)))


@bp.get("/book/<service>/office")
@permission(public)
def office(service):
    """Which office? (A GET form: ``?office=`` goes on to its month.)"""
    found = _service(service)
    offices = bookable_offices(found)
    if not offices:
        _not_found(_("This service cannot be booked online at the moment."))
    chosen = request.args.get("office")
    if chosen is None and len(offices) == 1:
        chosen = offices[0].code
    if chosen is not None:
        match = next((o for o in offices if o.code == chosen), None)
        if match is not None:
            return redirect(url_for(".day", service=found.code, office=match.code))
    error = _("Choose the office where you want to go.") if chosen is not None else None
    return render_template("booking/office.html", service=found, offices=offices,
                           error=error), 422 if error else 200


# -- day and time ------------------------------------------------------------------------------

@bp.get("/book/<service>/<office>/day")
@permission(public)
@limits.booking
def day(service, office):
    """Which day? A month with the days that have free times (``?month=2026-12``)."""
    found, place = _journey(service, office)
    now = utcnow()
    text = request.args.get("month")
    if text is None:
        month = picker.first_free_month(place, found, now=now)
    else:
        month = picker.parse_month(text)
        if month is None:
            _not_found()
        if not picker.month_in_window(place, month, now):
            return redirect(url_for(".day", service=found.code, office=place.code))
    grid = picker.month_grid(place, found, month, now=now)

    def month_link(first):
        return first and url_for(".day", service=found.code, office=place.code,
                                 month=picker.month_key(first))
    first_day, last_day = picker.window(place, now)
    return render_template(
        "booking/day.html", service=found, office=place, month=grid,
        action=url_for(".time", service=found.code, office=place.code),
        previous_url=month_link(grid.previous), next_url=month_link(grid.next),
        first_day=first_day, last_day=last_day, urls=_urls(found, place))


@bp.route("/book/<service>/<office>/time", methods=["GET", "POST"])
@permission(public)
@limits.booking
def time(service, office):
    """What time? The free times of ``?day=``; choosing one holds it for this browser."""
    found, place = _journey(service, office)
    urls = _urls(found, place)
    text = request.args.get("day")
    if text is None:
        return redirect(urls["day"])
    chosen_day = picker.parse_day(text)
    if chosen_day is None:
        _not_found()
    first_day, last_day = picker.window(place)
    if not first_day <= chosen_day <= last_day:
        message = _("Appointments at this office can be booked from %(first)s to %(last)s. "
                    "Choose a day in the calendar.", first=format_local(first_day, "long"),
                    last=format_local(last_day, "long"))
        return render_template("booking/time.html", service=found, office=place,
                               day=chosen_day, choices=[], form=None, error=message,
                               urls=urls), 422
    form = TimeForm()
    if form.validate_on_submit():
        start = picker.parse_start(form.start.data)
        if start is None:
            form.start.errors = [_("Choose a time.")]
        else:
            try:
                with uow.savepoint():
                    operations.hold(place, found, start, _hold_key())
            except SlotTaken as taken:
                return _taken(found, place, chosen_day, taken.alternatives, form)
            except ValidationError as refused:
                form.start.errors = [str(message) for message in refused.errors.values()]
            else:
                state = _state(found, place)
                _save_state(found, place, start, state and state["details"])
                return redirect(urls["check"] if state and state["details"]
                                else urls["details"])
    slots = picker.free_times(place, found, chosen_day)
    state = _state(found, place)
    return render_template(
        "booking/time.html", service=found, office=place, day=chosen_day, form=form,
        choices=picker.time_choices(slots, place),
        selected=state and state["start"].isoformat(), error=None, urls=urls,
        action=_time_url(found, place, chosen_day)), 422 if form.errors else 200


def _taken(service: Service, office: Office, day, alternatives, form):
    """The time was just taken: the nearest free times instead (409)."""
    return render_template(
        "booking/taken.html", service=service, office=office, form=form,
        choices=picker.time_choices(alternatives, office, with_date=True),
        action=_time_url(service, office, day), urls=_urls(service, office)), 409


# -- details, check, confirmation --------------------------------------------------------------

@bp.route("/book/<service>/<office>/details", methods=["GET", "POST"])
@permission(public)
@limits.booking
def details(service, office):
    """Your details: name, how to reach you, what the service needs, your needs."""
    found, place = _journey(service, office)
    state = _state(found, place)
    urls = _urls(found, place)
    if state is None:
        return redirect(urls["day"])
    form = DetailsForm(found.required_fields)
    if not form.is_submitted():
        if state["details"]:
            form.fill(state["details"])
        else:
            form.language.data = current_language()
    elif form.validate_on_submit():
        try:
            cleaned = identity.clean_details(form.raw_details(), found.required_fields)
        except ValidationError as refused:
            form.show_errors(refused.errors)
        else:
            _save_state(found, place, state["start"], cleaned)
            return redirect(urls["check"])
    return render_template(
        "booking/details.html", service=found, office=place, form=form,
        start=state["start"], held_until=_live_hold(place, state["start"]), urls=urls,
        time_url=_time_url(found, place, state["start"].astimezone(place.zone).date())
    ), 422 if form.errors or form.form_errors else 200


@bp.route("/book/<service>/<office>/check", methods=["GET", "POST"])
@permission(public)
@limits.booking
def check(service, office):
    """Check your answers; sending books the appointment."""
    found, place = _journey(service, office)
    state = _state(found, place)
    urls = _urls(found, place)
    if state is None:
        return redirect(urls["day"])
    if not state["details"]:
        return redirect(urls["details"])
    start = state["start"]
    form = BookForm()
    problems, challenge_error, status = {}, None, 200
    if form.validate_on_submit():
        try:
            with uow.savepoint():
                if challenge.required_for(place):
                    challenge.check(request.form.get(challenge.FIELD))
                cleaned = identity.clean_details(state["details"], found.required_fields)
                booked = operations.book(
                    place, found, start, cleaned, channel=Channel.online,
                    hold_key=session.get(HOLD) if isinstance(session.get(HOLD), str) else None,
                    citizen_keys=identity.citizen_keys(cleaned), manage_url=manage_url)
        except SlotTaken as taken:
            return _taken(found, place, start.astimezone(place.zone).date(),
                          taken.alternatives, TimeForm())
        except CapReached as refused:
            problems, status = {"": refused.message}, 409
        except ValidationError as refused:
            challenge_error = refused.errors.pop(challenge.FIELD, None)
            problems, status = refused.errors, 422
        else:
            session.pop(STATE, None)
            session[DONE] = {"code": booked.appointment.code, "token": booked.token,
                             "until": (utcnow() + timedelta(minutes=DONE_MINUTES)).isoformat()}
            return redirect(url_for(".confirmation"))
    details = state["details"]
    return render_template(
        "booking/check.html", service=found, office=place, start=start, details=details,
        form=form, problems=_problem_links(problems, urls), challenge_error=challenge_error,
        needs_challenge=challenge.required_for(place), held_until=_live_hold(place, start),
        phone=_phone(details.get("phone")), identifiers=_identifier_rows(details),
        interpreter=(identity.language_name(details["needs"]["interpreter"], current_language())
                     if (details.get("needs") or {}).get("interpreter") else None),
        urls=urls, time_url=_time_url(found, place, start.astimezone(place.zone).date()),
    ), status


def _phone(e164: str | None) -> str | None:
    """``+306912345678`` → ``+30 691 234 5678``."""
    if not e164:
        return None
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None),
                                          phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def _identifier_rows(details: dict) -> list[tuple[str, str, str]]:
    """``(code, label, value)`` of the identifiers given, as the check page lists them."""
    rows = []
    for code, value in (details.get("identifiers") or {}).items():
        if code == "birth_date" and picker.parse_day(value):
            value = format_local(picker.parse_day(value), "long")
        rows.append((code, str(PERSONAL_FIELD_LABELS.get(code, code)), value))
    return rows


def _problem_links(problems: dict, urls: dict) -> list[tuple[str, str]]:
    """``(message, link)`` for the error summary: details problems link to the details."""
    links = []
    for field, message in problems.items():
        target = urls["details"] if field and field != "start" else (
            urls["day"] if field == "start" else None)
        links.append((str(message), target))
    return links


@bp.get("/book/confirmation")
@permission(public)
def confirmation():
    """Booked: the code, the time and place, the manage link (shown only here), the ``.ics``."""
    done = session.get(DONE)
    appointment = None
    if isinstance(done, dict):
        until = picker.parse_start(done.get("until"))
        if until is not None and until > utcnow():
            appointment = operations.find_by_token(done.get("code"), done.get("token"))
    if appointment is None:
        session.pop(DONE, None)
        return redirect(url_for(".start"))
    token = done["token"]
    minutes_left = None
    if appointment.status == AppointmentStatus.pending and appointment.confirm_by_dt:
        minutes_left = max(1, math.ceil(
            (appointment.confirm_by_dt - utcnow()).total_seconds() / 60))
    response = make_response(render_template(
        "booking/confirmation.html", appointment=appointment, office=appointment.office,
        service=appointment.service, manage_link=manage_url(appointment.code, token),
        ics_link=url_for("booking_manage.ics", code=appointment.code, token=token),
        minutes_left=minutes_left))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.get("/privacy")
@permission(public)
def privacy():
    """What the booking stores about the citizen, why, for how long, and who answers for it."""
    return render_template("booking/privacy.html")


@bp.app_template_global()
def can_book_online(service) -> bool:
    """Whether the catalog's service page offers “Book an appointment”."""
    return bool(service.bookable_online and not service.retired and bookable_offices(service))
