"""How a visit ended: the fixed outcome categories a clerk may choose when finishing a ticket.

Codes only (``ticket.outcome``, at most 32 of ``[a-z0-9_-]``) with translated
labels: never free text, so no personal data can be typed into a ticket.
The statistics count tickets per code.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: code → label, in the order the console offers them.
OUTCOMES = {
    "served": _l("Served"),
    "documents_missing": _l("Documents missing"),
    "referred": _l("Referred elsewhere"),
    "not_served": _l("Could not be served"),
}


def is_outcome(code) -> bool:
    return isinstance(code, str) and code in OUTCOMES


def label(code: str | None) -> str:
    return str(OUTCOMES.get(code, code or ""))
