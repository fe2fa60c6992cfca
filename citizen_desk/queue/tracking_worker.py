"""The tracking page's service worker, ``GET /t/sw.js``.

Android's Chrome shows a page's notifications only through a service worker
(``ServiceWorkerRegistration.showNotification()``; ``new Notification()``
throws there), so ``static/js/tracking.js`` registers this one when the
citizen turns on sound and alerts. The worker (``static/js/tracking_worker.js``)
only shows notifications and brings the tracking page back on a click: it
has no ``fetch`` handler, caches nothing and receives no push.

Served from ``/t/`` rather than ``/static/``: a worker's scope is at most the
folder of its script, so this address covers the tracking pages (``/t/<id>``)
and nothing else on the site, without a ``Service-Worker-Allowed`` header.
``no-cache``: browsers check the script again on their own, and a changed
worker must reach the phones at their next check rather than after a cache's
lifetime. The site's Content-Security-Policy lets it run as it is
(``worker-src`` falls back to ``script-src 'self'``).
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, request

from citizen_desk.core.access import permission, public

bp = Blueprint("queue_tracking_worker", __name__)

#: The worker's source, in the package's static folder.
SOURCE = Path("js", "tracking_worker.js")


@bp.get("/t/sw.js")
@permission(public)
def worker():
    """The service worker that shows the tracking page's notifications (scope ``/t/``)."""
    source = Path(current_app.static_folder, SOURCE).read_bytes()
    response = current_app.response_class(source, mimetype="application/javascript")
    response.cache_control.no_cache = True
    # Checked again at each visit, but answered "304 Not Modified" while unchanged.
    response.add_etag()
    return response.make_conditional(request)


def init_app(app):
    app.register_blueprint(bp)
