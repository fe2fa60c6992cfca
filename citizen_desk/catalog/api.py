"""The catalog's JSON API under ``/api/v1``: services (with search) and offices.

Same queries as the pages. Parameters are read and answers written by the
schemas in ``catalog/schemas.py``: a bad parameter answers 422 naming the
field, unknown parameters are ignored; an unknown office answers 404.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _

from citizen_desk.catalog import queries
from citizen_desk.catalog.hours import UPCOMING_DAYS, closed_days
from citizen_desk.catalog.schemas import (OfficeDetail, OfficeDetailSchema, OfficeSchema,
                                          ServiceQuery, ServiceSchema)
from citizen_desk.catalog.search.cache import search_cache
from citizen_desk.catalog.search.index import words
from citizen_desk.catalog.transfer.exporter import export_rule
from citizen_desk.core.validation import CODE_PATTERN
from citizen_desk.core.access import permission, public
from citizen_desk.core.errors import error_response
from citizen_desk.core.i18n import current_language
from citizen_desk.core.schemas import LanguageQuery, dump, use_kwargs

api = Blueprint("catalog_api", __name__)


@api.get("/services")
@permission(public)
def services():
    """``?q=`` (search), ``lang=``, ``office=`` (code), ``limit=`` → matching services.

    Popular searches are served from the cache until the catalog changes:
    the answer's bytes, per query string and request language (the default
    of ``lang``), so that a repeated request neither parses its parameters
    nor writes JSON again. Only answers are cached: a bad parameter is
    parsed, and refused, every time.
    """
    key = ("services.body", request.query_string, current_language())
    body = search_cache().get_or_compute(key, _services_body)
    return current_app.response_class(body, mimetype="application/json")


@use_kwargs(ServiceQuery, location="query")
def _services_body(lang, q, office, limit) -> bytes:
    def compute():
        found = queries.find_services(q, lang, office=office, limit=limit)
        return dump(ServiceSchema(many=True), found, language=lang)
    # The same search written differently (case, accents, spaces) shares its results.
    key = ("services", lang, " ".join(words(q)), office.code if office else None, limit)
    found = search_cache().get_or_compute(key, compute)
    return jsonify(language=lang, count=len(found), services=found).get_data()


@api.get("/offices")
@permission(public)
@use_kwargs(LanguageQuery, location="query")
def offices(lang):
    """Every live office: code, name, address, time zone."""
    return jsonify(language=lang, offices=dump(OfficeSchema(many=True), queries.live_offices(),
                                               language=lang))


@api.get("/offices/<code>")
@permission(public)
@use_kwargs(LanguageQuery, location="query")
def office(code, lang):
    """One office with its opening rules, upcoming closures and counters."""
    found = queries.office_by_code(code, with_details=True) if CODE_PATTERN.match(code) else None
    if found is None:
        return error_response(404, _("There is no office with this code."))
    today = found.today()
    detail = OfficeDetail(
        found,
        opening_rules=[export_rule(rule) for rule in found.rules
                       if not rule.valid_until or rule.valid_until >= today],
        closures=closed_days(found, today, today + timedelta(days=UPCOMING_DAYS)))
    return jsonify(dump(OfficeDetailSchema(), detail, language=lang))
