"""The catalog's public pages: services by category with search, a service, an office."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, render_template, request
from flask_babel import ngettext

from citizen_desk.catalog import queries
from citizen_desk.catalog.hours import UPCOMING_DAYS, closed_days, weekly_hours
from citizen_desk.catalog.search.index import MAX_QUERY_LENGTH
from citizen_desk.catalog.models import PERSONAL_FIELD_LABELS
from citizen_desk.core.access import permission, public
from citizen_desk.core.db import utcnow
from citizen_desk.core.i18n import current_language, zone
from citizen_desk.core.paging import page_count, requested_page

bp = Blueprint("catalog", __name__)

#: Results per page of a search or a category.
PER_PAGE = 20
#: Up to this many services the catalog page lists them all; beyond, categories first.
LIST_ALL_UP_TO = 60
#: The ``?category=`` value of services that belong to no category.
NO_CATEGORY = "-"


@bp.get("/services")
@permission(public)
def index():
    """Services by category, one category, or the results of a search (``?q=``).

    A small catalog is listed whole; a large one (a ΚΕΠ handles over a
    thousand procedures) shows its categories first. Lists are paged.
    """
    query = request.args.get("q", "").strip()
    language = current_language()
    page = requested_page()
    if len(query) > MAX_QUERY_LENGTH:
        error = ngettext("Enter at most %(num)d character.", "Enter at most %(num)d characters.",
                         MAX_QUERY_LENGTH)
        return render_template("catalog/index.html", query=query[:MAX_QUERY_LENGTH],
                               error=error, groups=[], results=None), 422
    if query:
        total, results = queries.search_page(query, language, page, PER_PAGE)
        return _listing(query=query, results=results, total=total, page=page,
                        args={"q": query})
    category_code = request.args.get("category", "").strip()
    if category_code:
        category = None if category_code == NO_CATEGORY else next(
            (c for c in queries.categories() if c.code == category_code), None)
        if category is None and category_code != NO_CATEGORY:
            abort(404)
        total, results = queries.category_page(category, language, page, PER_PAGE)
        if not total:
            abort(404)
        return _listing(category=category, category_code=category_code, results=results,
                        total=total, page=page, args={"category": category_code})
    if queries.live_service_count() > LIST_ALL_UP_TO:
        return render_template("catalog/index.html", query="", error=None, results=None,
                               groups=[], categories=queries.category_counts(),
                               no_category=NO_CATEGORY)
    services = queries.find_services(None, language)
    return render_template("catalog/index.html", query="", error=None, results=None,
                           groups=queries.services_by_category(services, language))


def _listing(*, results, total, page, args, query="", category=None, category_code=None):
    pages = page_count(total, PER_PAGE)
    if page > pages:
        abort(404)
    return render_template("catalog/index.html", query=query, error=None, groups=[],
                           results=results, total=total, page=page, pages=pages, args=args,
                           category=category, category_code=category_code)


@bp.get("/services/<code>")
@permission(public)
def service(code):
    """One service: what it is, the documents to bring, and where it is offered."""
    found = queries.service_by_code(code)
    if found is None:
        abort(404)
    offices = [(office, weekly_hours_for(office, found)) for office in found.offices
               if not office.retired]
    today = utcnow().astimezone(zone()).date()
    return render_template("catalog/service.html", service=found, offices=offices, today=today)


def weekly_hours_for(office, service):
    week = weekly_hours(office, office.today())
    return {day: [rule for rule in rules if rule.applies_to(service)]
            for day, rules in week.items()}


@bp.get("/offices")
@permission(public)
def offices():
    """Every office, with its address."""
    return render_template("catalog/offices.html", offices=queries.live_offices())


@bp.get("/offices/<code>")
@permission(public)
def office(code):
    """One office: address, opening hours, upcoming closures and holidays, services."""
    found = queries.office_by_code(code, with_details=True)
    if found is None:
        abort(404)
    today = found.today()
    services = queries.find_services(None, current_language(), office=found)
    return render_template(
        "catalog/office.html", office=found, week=weekly_hours(found, today), today=today,
        closed=closed_days(found, today, today + timedelta(days=UPCOMING_DAYS)),
        groups=queries.services_by_category(services, current_language()))


@bp.app_template_global()
def personal_field_names(fields) -> str:
    """``["amka", "afm"]`` → the fields' names in the reader's language, comma separated."""
    return ", ".join(str(PERSONAL_FIELD_LABELS.get(name, name)) for name in fields)

