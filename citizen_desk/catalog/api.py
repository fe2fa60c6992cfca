"""The catalog's JSON API under ``/api/v1``: services (with search) and offices.

Same queries as the pages. Bad parameters answer 422 naming the field; an
unknown office answers 404.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, jsonify, request, url_for
from flask_babel import gettext as _

from citizen_desk.catalog import queries
from citizen_desk.catalog.calendar import closed_days
from citizen_desk.catalog.exporter import export_rule
from citizen_desk.catalog import revision
from citizen_desk.catalog.search import MAX_QUERY_LENGTH, words
from citizen_desk.catalog.validation import CODE_PATTERN, LANGUAGE_PATTERN
from citizen_desk.catalog.views import UPCOMING_DAYS, local_today
from citizen_desk.core.content import pick
from citizen_desk.core.errors import error_response
from citizen_desk.core.access import permission, public
from citizen_desk.core.i18n import current_language

api = Blueprint("catalog_api", __name__)

DEFAULT_LIMIT, MAX_LIMIT = 50, 200


class BadParameter(Exception):
    def __init__(self, field, message):
        self.field, self.message = field, message


@api.errorhandler(BadParameter)
def _bad_parameter(exc):
    return error_response(422, exc.message, field=exc.field)


def _language() -> str:
    value = request.args.get("lang")
    if value is None or value == "":
        return current_language()
    value = value.strip().lower()
    if not LANGUAGE_PATTERN.match(value):
        raise BadParameter("lang", _("Give a language code such as el or en."))
    return value


def _limit() -> int:
    raw = request.args.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadParameter("limit", _("Give a whole number from 1 to %(max)d.", max=MAX_LIMIT))
    return int(raw)


def _service(service, language):
    return {
        "code": service.code,
        "name": service.display_name(language),
        "summary": pick(service.summary, language),
        "duration_minutes": service.duration_minutes,
        "category": service.category.code if service.category else None,
        "bookable_online": service.bookable_online,
        "walk_in": service.walk_in,
        "offices": [office.code for office in service.offices if not office.retired],
        "url": url_for("catalog.service", code=service.code, lang=language),
    }


@api.get("/services")
@permission(public)
def services():
    """``?q=`` (search), ``lang=``, ``office=`` (code), ``limit=`` → matching services."""
    language = _language()
    query = request.args.get("q", "")
    if len(query) > MAX_QUERY_LENGTH:
        raise BadParameter("q", _("Enter at most %(max)d characters.", max=MAX_QUERY_LENGTH))
    office = None
    code = request.args.get("office")
    if code:
        office = queries.office_by_code(code) if CODE_PATTERN.match(code) else None
        if office is None:
            raise BadParameter("office", _("There is no office with this code."))
    limit = _limit()

    def compute():
        found = queries.find_services(query, language, office=office, limit=limit)
        return [_service(service, language) for service in found]
    # Popular searches are served from the cache until the catalog changes.
    key = ("services", language, " ".join(words(query)), office.code if office else None, limit)
    found = revision.cache().get_or_compute(key, compute)
    return jsonify(language=language, count=len(found), services=found)


def _office(office, language):
    return {
        "code": office.code,
        "name": office.display_name(language),
        "address": pick(office.address, language),
        "timezone": office.timezone,
        "url": url_for("catalog.office", code=office.code, lang=language),
    }


@api.get("/offices")
@permission(public)
def offices():
    """Every live office: code, name, address, time zone."""
    language = _language()
    return jsonify(language=language,
                   offices=[_office(office, language) for office in queries.live_offices()])


@api.get("/offices/<code>")
@permission(public)
def office(code):
    """One office with its opening rules, upcoming closures and counters."""
    language = _language()
    found = queries.office_by_code(code, with_details=True) if CODE_PATTERN.match(code) else None
    if found is None:
        return error_response(404, _("There is no office with this code."))
    today = local_today(found)
    closures = [{
        "date": closed.day.isoformat(),
        "whole_day": closed.whole_day,
        "start_time": closed.start_time.strftime("%H:%M") if closed.start_time else None,
        "end_time": closed.end_time.strftime("%H:%M") if closed.end_time else None,
        "reason": pick(closed.reason, language),
        "public_holiday": closed.holiday,
    } for closed in closed_days(found, today, today + timedelta(days=UPCOMING_DAYS))]
    body = _office(found, language)
    body.update(
        language=language,
        directions=pick(found.directions, language),
        phone=found.phone, email=found.email,
        slot_minutes=found.slot_minutes, min_notice_hours=found.min_notice_hours,
        max_days_ahead=found.max_days_ahead,
        opening_rules=[export_rule(rule) for rule in found.rules
                       if not rule.valid_until or rule.valid_until >= today],
        closures=closures,
        counters=[{"id": counter.id, "code": counter.code,
                   "label": counter.display_label(language), "active": counter.active,
                   "services": [service.code for service in counter.services]}
                  for counter in found.counters],
    )
    return jsonify(body)
