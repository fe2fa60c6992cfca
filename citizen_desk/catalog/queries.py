"""Read-side queries shared by the catalog's pages and its API.

Each loads what its page needs in a fixed number of queries (eager loading),
never one query per service.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from citizen_desk.catalog.models import Category, Counter, OpeningRule, Service
from citizen_desk.offices.models import Office
from citizen_desk.catalog.search.index import fold, ordered_matches, search
from citizen_desk.core.content import pick
from citizen_desk.extensions import db


def live_offices() -> list[Office]:
    return list(db.session.scalars(select(Office).where(Office.retired.is_(False))
                                   .order_by(Office.code)))


def office_by_code(code: str, with_details: bool = False) -> Office | None:
    """The live office ``code`` (``None`` if unknown or retired)."""
    stmt = select(Office).where(Office.code == code, Office.retired.is_(False))
    if with_details:
        stmt = stmt.options(
            selectinload(Office.rules).selectinload(OpeningRule.services),
            selectinload(Office.closures),
            selectinload(Office.counters).selectinload(Counter.services))
    return db.session.scalars(stmt).first()


def service_by_code(code: str) -> Service | None:
    stmt = (select(Service).where(Service.code == code, Service.retired.is_(False))
            .options(selectinload(Service.offices).selectinload(Office.rules),
                     selectinload(Service.offices).selectinload(Office.closures),
                     selectinload(Service.category)))
    return db.session.scalars(stmt).first()


def _sort_key(language: str):
    return lambda service: fold(service.display_name(language))


def find_services(query: str | None, language: str, office: Office | None = None,
                  limit: int | None = None) -> list[Service]:
    """Live services matching ``query`` (all of them without one), best match first.

    With a query: name matches first, then synonyms, summary, description;
    ties in alphabetical order of the name in ``language``.
    """
    options = (selectinload(Service.offices), selectinload(Service.category))
    if query and query.strip():
        ranked = search(query, language, office.id if office else None, limit)
        if not ranked:
            return []
        rank_of = dict(ranked)
        services = db.session.scalars(select(Service).where(Service.id.in_(rank_of))
                                      .options(*options))
        name = _sort_key(language)
        return sorted(services, key=lambda s: (rank_of[s.id], name(s)))
    stmt = select(Service).where(Service.retired.is_(False)).options(*options)
    if office is not None:
        stmt = stmt.where(Service.offices.contains(office))
    services = sorted(db.session.scalars(stmt), key=_sort_key(language))
    return services[:limit] if limit else services


def search_page(query: str, language: str, page: int, per_page: int) -> tuple[int, list[Service]]:
    """``(total, services of page)`` for a search, best match first.

    All matches are ordered from the search index; full rows are loaded for
    the one page shown.
    """
    ids = ordered_matches(query, language)
    return len(ids), _load_in_order(ids[(page - 1) * per_page:page * per_page])


def category_page(category: Category | None, language: str, page: int,
                  per_page: int) -> tuple[int, list[Service]]:
    """``(total, services of page)`` of one category (``None``: services without one)."""
    condition = (Service.category_id == category.id) if category else Service.category_id.is_(None)
    names = db.session.execute(select(Service.id, Service.name, Service.code).where(
        condition, Service.retired.is_(False))).all()
    ordered = sorted(names, key=lambda row: fold(pick(row.name, language, row.code)))
    chosen = [row.id for row in ordered[(page - 1) * per_page:page * per_page]]
    return len(ordered), _load_in_order(chosen)


def category_counts() -> list[tuple[Category | None, int]]:
    """Live services per category (``None`` for those without one), in the categories' order."""
    rows = db.session.execute(select(Service.category_id, func.count(Service.id))
                              .where(Service.retired.is_(False))
                              .group_by(Service.category_id)).all()
    counts = dict(rows)
    result = [(category, counts[category.id]) for category in categories()
              if counts.get(category.id)]
    if counts.get(None):
        result.append((None, counts[None]))
    return result


def live_service_count() -> int:
    return db.session.scalar(select(func.count(Service.id)).where(Service.retired.is_(False)))


def _load_in_order(ids: list[int]) -> list[Service]:
    if not ids:
        return []
    loaded = {service.id: service for service in db.session.scalars(
        select(Service).where(Service.id.in_(ids)).options(selectinload(Service.category)))}
    return [loaded[i] for i in ids if i in loaded]


def services_by_category(services: list[Service], language: str) -> list[tuple]:
    """``[(category or None, [service, …]), …]`` in the categories' order, uncategorised last."""
    groups: dict = {}
    for service in services:
        groups.setdefault(service.category, []).append(service)
    categories = sorted((c for c in groups if c is not None),
                        key=lambda c: (c.position, fold(c.display_name(language))))
    ordered = [(category, groups[category]) for category in categories]
    if None in groups:
        ordered.append((None, groups[None]))
    return ordered


def categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.code)))
