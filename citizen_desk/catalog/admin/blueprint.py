"""The blueprint of the catalog's staff screens, and the look-ups its views share.

Every view declares its policy; object checks (a rule belongs to the office
in the URL, a service is the manager's to edit) happen in the view.
"""
from __future__ import annotations

from flask import Blueprint, abort
from sqlalchemy import select

from citizen_desk.extensions import db
from citizen_desk.offices.models import Office

bp = Blueprint("catalog_admin", __name__, url_prefix="/staff/catalog")


def get_office(code: str) -> Office:
    """The office ``code`` (retired ones too), or 404."""
    office = db.session.scalar(select(Office).where(Office.code == code))
    if office is None:
        abort(404)
    return office
