"""Paged lists: which page was asked for, how many pages there are, and links to others.

Links that keep the query's parameters (the next page, the same page in
another language) take them through ``link_args``, never straight from
``request.args``: a parameter named like one of ``url_for``'s own keywords
(``?endpoint=``, ``?_external=``, ``?_method=`` …) or like one of the
route's arguments (``/offices/ATH1?code=x``) would break the link or
change where it points.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import request

#: Pages beyond this are not worth an OFFSET; a hand-edited ?page= stops here.
MAX_PAGE = 10_000


def requested_page() -> int:
    """``?page=`` as a whole number from 1; anything malformed means the first page."""
    try:
        return max(1, min(int(request.args.get("page", 1)), MAX_PAGE))
    except ValueError:
        return 1


#: ``url_for``'s own keywords besides those starting with ``_`` (``_external``, ``_anchor`` …).
URL_FOR_KEYWORDS = frozenset({"endpoint", "values"})


def link_args(args: Mapping, exclude: Iterable[str] = (), **overrides) -> dict:
    """The query parameters of ``args`` to pass on to ``url_for``, updated with ``overrides``.

    ``args`` is ``request.args`` (every value of a repeated parameter is kept)
    or a plain dict. Dropped: ``url_for``'s keywords and the names in
    ``exclude`` (the route's arguments, given to ``url_for`` separately).
    """
    excluded = set(exclude) | set(overrides)
    lists = args.lists() if hasattr(args, "lists") else args.items()
    kept = {key: value for key, value in lists
            if key not in excluded and key not in URL_FOR_KEYWORDS and not key.startswith("_")}
    kept.update(overrides)
    return kept


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` items fill (at least one, so that an empty list has a page)."""
    return max(1, -(-total // per_page))


def init_app(app):
    app.jinja_env.globals["link_args"] = link_args
