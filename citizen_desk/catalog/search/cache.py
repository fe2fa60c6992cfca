"""The catalog's revision: a random number that changes whenever anything in the catalog changes.

Search results are cached per revision (``RevisionCache``). The revision
lives in the database, bumped in the same transaction as the change, so every
process and host learns of a change; each process re-reads it at most every
``CATALOG_CACHE_SECONDS`` (default 1 s), and at once after its own commits.
A popular search then costs no database round trip at all.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict

from flask import current_app, has_app_context
from sqlalchemy import BigInteger, event, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from citizen_desk.catalog.models import Category, Closure, Counter, OpeningRule, Service
from citizen_desk.catalog.search.models import ServiceSearchName, ServiceSearchWord
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office


class CatalogRevision(db.Model):
    """A single row holding the catalog's current revision.

    Random rather than counted, so that a catalog emptied and refilled (tests,
    a restored backup) never meets a cached result of an earlier revision.
    """

    __tablename__ = "catalog_revision"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


#: A change to any of these changes what a search may find.
CATALOG_CLASSES = (Category, Closure, Counter, Office, OpeningRule, Service, ServiceSearchName,
                   ServiceSearchWord)


@event.listens_for(Session, "before_flush")
def _bump_on_catalog_change(session, flush_context, instances):
    if session.info.get("catalog_changed"):
        return  # one new revision per transaction is enough (an import flushes thousands of times)
    classes = CATALOG_CLASSES
    changed = (*session.new, *session.dirty, *session.deleted)
    if not any(isinstance(obj, classes) for obj in changed):
        return
    session.info["catalog_changed"] = True
    revision = secrets.randbits(62)
    # No synchronisation with the objects in the session: none is a CatalogRevision,
    # and scanning them all on every flush made a large import quadratic.
    result = session.execute(update(CatalogRevision).where(CatalogRevision.id == 1)
                             .values(revision=revision)
                             .execution_options(synchronize_session=False))
    if result.rowcount == 0:
        session.execute(insert(CatalogRevision).values(id=1, revision=revision))


@event.listens_for(Session, "after_commit")
def _forget_revision_after_own_change(session):
    if session.info.pop("catalog_changed", False) and has_app_context():
        cache = current_app.extensions.get(EXTENSION)
        if cache is not None:
            cache.forget_revision()


@event.listens_for(Session, "after_rollback")
def _no_change_after_rollback(session):
    session.info.pop("catalog_changed", None)


def current_revision() -> int:
    return db.session.execute(select(CatalogRevision.revision)
                              .where(CatalogRevision.id == 1)).scalar() or 0


EXTENSION = "citizen_desk.catalog_cache"


class RevisionCache:
    """A small LRU of computed results, keyed by revision and the query's own key."""

    def __init__(self, seconds: float = 1.0, size: int = 512):
        self.seconds = seconds
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._revision: tuple[int, float] | None = None

    def forget_revision(self):
        self._revision = None

    def revision(self) -> int:
        known = self._revision
        if known is not None and time.monotonic() - known[1] < self.seconds:
            return known[0]
        revision = current_revision()
        self._revision = (revision, time.monotonic())
        return revision

    def get_or_compute(self, key, compute):
        full_key = (self.revision(), *key)
        with self._lock:
            if full_key in self._items:
                self._items.move_to_end(full_key)
                return self._items[full_key]
        value = compute()
        with self._lock:
            self._items[full_key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self):
        with self._lock:
            self._items.clear()
        self.forget_revision()


def init_app(app):
    app.extensions[EXTENSION] = RevisionCache(
        seconds=float(app.config.get("CATALOG_CACHE_SECONDS", 1.0)))


def search_cache() -> RevisionCache:
    return current_app.extensions[EXTENSION]
