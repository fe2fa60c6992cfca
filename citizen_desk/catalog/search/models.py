"""The search index's tables: folded words and names of services, per language."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from citizen_desk.catalog.models import Service
from citizen_desk.extensions import db


#: Longest stored word: longer ones are cut (a b-tree entry has a size limit).
WORD_LENGTH = 64

#: Folded words compare code point by code point on both engines: SQLite's
#: default collation does, PostgreSQL's needs "C" (a language's collation
#: may not keep the words that start with a prefix together).
_Word = String(WORD_LENGTH).with_variant(String(WORD_LENGTH, collation="C"), "postgresql")


class ServiceSearchWord(db.Model):
    """One folded word of a service, with the language and kind of field it comes from.

    SQLite's ``lower()`` knows no Greek and PostgreSQL's depends on the
    collation, so the operations store words already folded (no accents, no
    case, final sigma as sigma) and a query word matches the words it starts
    with: ``word >= 'πιστ' AND word < 'πισυ'``, a range of the primary key's
    b-tree on both engines, read without touching the table. ``rank`` orders
    matches: 0 name, 1 synonyms, 2 summary, 3 description.
    """

    __tablename__ = "service_search_word"
    __table_args__ = (CheckConstraint("rank >= 0", name="rank_positive"),)

    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    word: Mapped[str] = mapped_column(_Word, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)

    service: Mapped[Service] = relationship(backref=backref(
        "search_words", cascade="all, delete-orphan", passive_deletes=True))


class ServiceSearchName(db.Model):
    """The folded name of a service in one language: search results with the
    same rank are ordered by it without loading the services."""

    __tablename__ = "service_search_name"

    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"),
                                            primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(Text)

    service: Mapped[Service] = relationship(backref=backref(
        "search_names", cascade="all, delete-orphan", passive_deletes=True))
