"""Looking offices up by code."""
from __future__ import annotations

from sqlalchemy import select

from citizen_desk.extensions import db
from citizen_desk.offices.models import Office


def office_id(code: str) -> int | None:
    """The id of the office ``code``, or ``None``."""
    return db.session.scalar(select(Office.id).where(Office.code == code))


def live_offices(codes=None) -> list[Office]:
    """Offices not retired, by code; only those whose code is in ``codes`` when given."""
    query = select(Office).where(Office.retired.is_(False))
    if codes is not None:
        query = query.where(Office.code.in_(codes))
    return list(db.session.scalars(query.order_by(Office.code)))


def live_office(code: str) -> Office | None:
    """The office ``code`` unless it is unknown or retired."""
    return db.session.scalar(select(Office).where(Office.code == code,
                                                  Office.retired.is_(False)))
