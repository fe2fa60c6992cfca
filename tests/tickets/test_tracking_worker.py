"""``GET /t/sw.js``: the tracking page's service worker, served where its scope covers the
tracking pages only, as JavaScript, checked again at every visit, allowed by the site's
Content-Security-Policy; the page names it for its script to register."""
from __future__ import annotations

import re

from citizen_desk.catalog.models import Service
from citizen_desk.core import uow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import operations as ops


def test_the_worker_is_javascript_checked_at_every_visit(client):
    response = client.get("/t/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Expires" not in response.headers
    # No wider scope than its folder (/t/): not the booking pages, not the staff's.
    assert "Service-Worker-Allowed" not in response.headers
    source = response.get_data(as_text=True)
    assert "notificationclick" in source
    # Notifications only: no handler that could answer, cache or hold back a request.
    assert not re.search(r"""addEventListener\(\s*["'](fetch|push|sync)["']""", source)

    unchanged = client.get("/t/sw.js", headers={"If-None-Match": response.headers["ETag"]})
    assert unchanged.status_code == 304


def test_the_site_policy_lets_the_worker_run(client):
    policy = dict(part.strip().split(" ", 1) for part in
                  client.get("/t/sw.js").headers["Content-Security-Policy"].split(";")
                  if part.strip())
    # A worker's script is governed by worker-src, else script-src, else default-src.
    allowed = policy.get("worker-src") or policy.get("script-src") or policy["default-src"]
    assert allowed == "'self'"


def test_the_tracking_page_names_the_worker(app, client, desk):
    def work():
        office, service = db.session.get(Office, desk.office_id), db.session.get(Service, desk.a_id)
        return ops.issue(office, service, language="en")[0].public_id
    with app.app_context():
        public_id = uow.run(work)
        db.session.remove()
    html = client.get(f"/t/{public_id}").get_data(as_text=True)
    assert 'data-worker="/t/sw.js"' in html
