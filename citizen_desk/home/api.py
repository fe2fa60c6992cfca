"""``GET /api/v1/health``: is this host able to serve (for load balancers)."""
from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from citizen_desk.core.access import permission, public
from citizen_desk.extensions import db

api = Blueprint("home_api", __name__)


@api.get("/health")
@permission(public)
def health():
    """200 with ``{"status": "ok"}`` when the database answers, 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        db.session.rollback()
        database = "unreachable"
    status = "ok" if database == "ok" else "degraded"
    return jsonify(status=status, database=database,
                   dialect=db.engine.dialect.name), 200 if database == "ok" else 503
