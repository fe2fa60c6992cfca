"""Paged lists: which page was asked for, and how many pages there are."""
from __future__ import annotations

from flask import request

#: Pages beyond this are not worth an OFFSET; a hand-edited ?page= stops here.
MAX_PAGE = 10_000


def requested_page() -> int:
    """``?page=`` as a whole number from 1; anything malformed means the first page."""
    try:
        return max(1, min(int(request.args.get("page", 1)), MAX_PAGE))
    except ValueError:
        return 1


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` items fill (at least one, so that an empty list has a page)."""
    return max(1, -(-total // per_page))
