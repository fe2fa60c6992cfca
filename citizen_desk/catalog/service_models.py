"""Service models: what citizens can do at an office, in every language, and its search words.

A service is never deleted (bookings and tickets point to it): it is retired.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, Boolean, CheckConstraint, Column, ForeignKey, Integer, String,
                        Table, Text, false, true)
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citizen_desk.core.content import TranslatedText, pick
from citizen_desk.core.db import UTCDateTime, utcnow
from citizen_desk.extensions import db

#: Personal fields a service may require from the citizen who books it.
PERSONAL_FIELDS = ("amka", "afm", "id_number", "birth_date", "address", "phone", "email")
PERSONAL_FIELD_LABELS = {
    "amka": _l("Social security number (AMKA)"),
    "afm": _l("Tax identification number (AFM)"),
    "id_number": _l("Identity card or passport number"),
    "birth_date": _l("Date of birth"),
    "address": _l("Home address"),
    "phone": _l("Phone number"),
    "email": _l("Email address"),
}

service_office = Table(
    "service_office", db.Model.metadata,
    Column("service_id", ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
    Column("office_id", ForeignKey("office.id", ondelete="CASCADE"), primary_key=True),
)


class Category(db.Model):
    """A group of services on the catalog page (“Πολιτική κατάσταση”, “Ασφάλιση” …)."""

    __tablename__ = "service_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def display_name(self, language: str | None = None) -> str:
        return pick(self.name, language, default=self.code)

    def __repr__(self):
        return f"<Category {self.code}>"


class Service(db.Model):
    """A procedure a citizen can carry out: a certificate, an authorisation, a registration."""

    __tablename__ = "service"
    __table_args__ = (
        CheckConstraint("duration_minutes > 0 AND duration_minutes <= 480",
                        name="duration_range"),
        CheckConstraint("length(ticket_prefix) BETWEEN 1 AND 2", name="ticket_prefix_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    #: The letters before ticket numbers (``A`` → ``A001``); unique within an office.
    ticket_prefix: Mapped[str] = mapped_column(String(2))
    duration_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_category.id", ondelete="SET NULL"), index=True)
    bookable_online: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    walk_in: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    #: Codes from ``PERSONAL_FIELDS`` the citizen must give (e.g. ``["amka"]``).
    required_fields: Mapped[list] = mapped_column(JSON, default=list)
    name: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    summary: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    description: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    #: ``{language: [document, …]}`` — the checklist of what to bring.
    documents: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    fees: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    #: ``{language: url}`` of the official procedure page (e.g. on gov.gr).
    link: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    #: ``{language: [word, …]}`` other words people search with.
    synonyms: Mapped[dict] = mapped_column(TranslatedText, default=dict)
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    category: Mapped[Category | None] = relationship()
    offices: Mapped[list["Office"]] = relationship(  # noqa: F821
        secondary=service_office, order_by="Office.code")
    search_words: Mapped[list[ServiceSearchWord]] = relationship(
        back_populates="service", cascade="all, delete-orphan", passive_deletes=True)
    search_names: Mapped[list[ServiceSearchName]] = relationship(
        back_populates="service", cascade="all, delete-orphan", passive_deletes=True)

    def display_name(self, language: str | None = None) -> str:
        return pick(self.name, language, default=self.code)

    def text(self, field: str, language: str | None = None) -> str:
        return pick(getattr(self, field), language)

    def document_list(self, language: str | None = None) -> list[str]:
        return pick(self.documents, language, default=[]) or []

    @property
    def languages(self) -> list[str]:
        return sorted(self.name)

    def retire(self):
        """Hide the service from citizens; bookings and tickets keep pointing to it."""
        self.retired = True

    def __repr__(self):
        return f"<Service {self.code}>"


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

    service: Mapped[Service] = relationship(back_populates="search_words")


class ServiceSearchName(db.Model):
    """The folded name of a service in one language: search results with the
    same rank are ordered by it without loading the services."""

    __tablename__ = "service_search_name"

    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"),
                                            primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(Text)

    service: Mapped[Service] = relationship(back_populates="search_names")
