"""Greek-aware search over the catalog, the same on SQLite and PostgreSQL.

Text is folded once, in Python, when a service is saved (``index_service``)
and a query is folded the same way (``fold``): accents removed, case folded
(which also turns a final ``ς`` into ``σ``), punctuation turned into spaces.
The search then only needs ``LIKE`` over the folded text, which both engines
do identically.

Cost: ``LIKE '%word%'`` reads every stored text of the languages searched
(10-30 ms of database time for 2,000 services in three languages; a pg_trgm
index did not help, PostgreSQL prefers the scan for common words). The API
caches results per catalog revision. If uncached searches must get faster,
the next step is a table of folded words searched by prefix with a plain
index range (``word >= 'πιστ' AND word < 'πιστ\uffff'``), which both engines
answer from a b-tree.
"""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import and_, case, func, select

from citizen_desk.catalog.service_models import Service, ServiceSearchText, service_office
from citizen_desk.core.content import PRIMARY_LANGUAGE
from citizen_desk.extensions import db

#: Where a word was found, best first.
RANK_NAME, RANK_SYNONYM, RANK_SUMMARY, RANK_DESCRIPTION, RANK_ANY = 0, 1, 2, 3, 9
#: Longest query considered (longer ones are refused by the API and the page).
MAX_QUERY_LENGTH = 200
_NON_WORD = re.compile(r"[^\w]+|_")


def fold(text: str | None) -> str:
    """``"Πιστοποιητικό Οικογενειακής"`` → ``"πιστοποιητικο οικογενειακησ"``."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = bare.casefold().replace("ς", "σ")
    return " ".join(_NON_WORD.sub(" ", folded).split())


def words(query: str | None) -> list[str]:
    """The distinct folded words of a query, in order."""
    seen = []
    for word in fold(query).split():
        if word not in seen:
            seen.append(word)
    return seen[:10]


def _texts(service: Service, language: str) -> dict[int, str]:
    def one(values):
        value = (values or {}).get(language)
        if isinstance(value, list):
            return " ".join(value)
        return value or ""
    texts = {
        RANK_NAME: fold(one(service.name)),
        RANK_SYNONYM: fold(one(service.synonyms)),
        RANK_SUMMARY: fold(one(service.summary)),
        RANK_DESCRIPTION: fold(one(service.description)),
    }
    texts[RANK_ANY] = " ".join(t for t in texts.values() if t)
    return {rank: text for rank, text in texts.items() if text}


def index_service(service: Service):
    """Rebuild the stored search text of ``service`` from its current content."""
    languages = set()
    for field in (service.name, service.synonyms, service.summary, service.description):
        languages.update(field or {})
    wanted = {(language, rank): text for language in languages
              for rank, text in _texts(service, language).items()}
    for row in list(service.search_texts):
        text = wanted.pop((row.language, row.rank), None)
        if text is None:
            service.search_texts.remove(row)
        elif row.text != text:
            row.text = text
    for (language, rank), text in sorted(wanted.items()):
        service.search_texts.append(ServiceSearchText(language=language, rank=rank, text=text))


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(query: str | None, language: str, office_id: int | None = None,
           limit: int | None = None) -> list[tuple[int, int]]:
    """``[(service_id, rank), …]`` of live services matching every word of ``query``.

    Searches the reader's language and Greek; the best rank of a service
    decides its place, then its position in the results of the database
    (ties are ordered by the caller, by name).
    """
    terms = words(query)
    if not terms:
        return []
    languages = sorted({language, PRIMARY_LANGUAGE})
    text = ServiceSearchText.text
    matches = and_(*[text.like(_like(term), escape="\\") for term in terms])
    best = func.min(ServiceSearchText.rank)
    stmt = (select(ServiceSearchText.service_id, best)
            .join(Service, Service.id == ServiceSearchText.service_id)
            .where(ServiceSearchText.language.in_(languages), matches,
                   Service.retired.is_(False))
            .group_by(ServiceSearchText.service_id)
            .order_by(best, ServiceSearchText.service_id))
    if office_id is not None:
        stmt = stmt.join(service_office, service_office.c.service_id == Service.id).where(
            service_office.c.office_id == office_id)
    if limit:
        stmt = stmt.limit(limit)
    return [(service_id, rank) for service_id, rank in db.session.execute(stmt)]


def ordered_matches(query: str | None, language: str) -> list[int]:
    """Ids of every live service matching ``query``: best rank first, then by name.

    The names to sort by are the folded names already stored for search, so
    ordering hundreds of matches needs neither their rows nor Python folding.
    """
    terms = words(query)
    if not terms:
        return []
    languages = sorted({language, PRIMARY_LANGUAGE})
    text = ServiceSearchText.text
    is_name = ServiceSearchText.rank == RANK_NAME

    def name_in(code):
        return func.min(case((and_(is_name, ServiceSearchText.language == code), text)))
    stmt = (select(ServiceSearchText.service_id, func.min(ServiceSearchText.rank),
                   name_in(language), name_in(PRIMARY_LANGUAGE))
            .join(Service, Service.id == ServiceSearchText.service_id)
            .where(ServiceSearchText.language.in_(languages),
                   and_(*[text.like(_like(term), escape="\\") for term in terms]),
                   Service.retired.is_(False))
            .group_by(ServiceSearchText.service_id))
    rows = db.session.execute(stmt).all()
    rows.sort(key=lambda row: (row[1], row[2] or row[3] or "", row[0]))
    return [row[0] for row in rows]
