"""Pages every visitor sees first."""
from pathlib import Path

from flask import Blueprint, current_app, render_template

from citizen_desk.core.access import permission, public
from citizen_desk.core.db import utcnow

bp = Blueprint("home", __name__)


@bp.get("/")
@permission(public)
def index():
    """The home page: what this office offers and where to start."""
    return render_template("home/index.html", today=utcnow())


@bp.get("/favicon.ico")
@permission(public)
def favicon():
    """The site's icon, where browsers and other clients look for it without a ``<link>``."""
    icon = Path(current_app.static_folder, "icons", "favicon.ico").read_bytes()
    response = current_app.response_class(icon, mimetype="image/vnd.microsoft.icon")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response
