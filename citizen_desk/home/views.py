"""Pages every visitor sees first."""
from flask import Blueprint, render_template

from citizen_desk.core.access import permission, public
from citizen_desk.core.db import utcnow

bp = Blueprint("home", __name__)


@bp.get("/")
@permission(public)
def index():
    """The home page: what this office offers and where to start."""
    return render_template("home/index.html", today=utcnow())
