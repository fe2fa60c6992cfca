"""ALTCHA's widget in Chromium, under the app's Content-Security-Policy: it
fetches a challenge, solves it in its worker, and the server verifies what it
posted (``templates/core/_challenge.html``, ``core/challenge.py``)."""
from __future__ import annotations

import pytest
from flask import Blueprint, render_template_string, request
from sqlalchemy import func, select

from citizen_desk.core import challenge
from citizen_desk.core.access import permission, public
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db

pytestmark = pytest.mark.browser

PAGE = """{% extends "base.html" %}{% from "core/_challenge.html" import challenge_field %}
{% block content %}<h1 class="govgr-heading-xl">Test</h1>
{% if verified %}<p class="govgr-body" id="verified">verified</p>{% endif %}
<form method="post">{{ challenge_field(error=error) }}
<button class="govgr-btn govgr-btn-primary" type="submit">Send</button></form>{% endblock %}"""

bp = Blueprint("challenge_widget_test", __name__)


@bp.route("/test-challenge", methods=["GET", "POST"])
@permission(public)
def form():
    error = verified = None
    if request.method == "POST":
        try:
            challenge.check(request.form.get("altcha"))
            verified = True
        except ValidationError as exc:
            error = exc.message
    return render_template_string(PAGE, error=error, verified=verified)


@pytest.fixture
def form_url(app, live_server):
    app.register_blueprint(bp)
    return f"{live_server.url}/test-challenge"


def spent(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(challenge.UsedChallenge))


def test_the_widget_solves_on_submit_and_the_server_verifies_it(app, form_url, page):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(form_url + "?lang=en")
    widget = page.locator("altcha-widget")
    widget.get_by_text("I am not a robot").wait_for()
    page.get_by_role("button", name="Send").click()
    page.locator("#verified").wait_for(timeout=30_000)
    assert spent(app) == 1
    assert problems == []  # the CSP refused no style, script or worker


def test_ticking_the_box_checks_at_once(app, form_url, page):
    page.goto(form_url + "?lang=en")
    page.locator("altcha-widget label").first.click()
    page.get_by_text("Checked: you can send the form").wait_for(timeout=30_000)
    page.get_by_role("button", name="Send").click()
    page.locator("#verified").wait_for()
    assert spent(app) == 1


def test_the_form_with_the_widget_is_accessible(form_url, page, axe_scan):
    page.goto(form_url)
    page.locator("altcha-widget input[type=checkbox]").wait_for()
    assert axe_scan() == []


def test_without_javascript_the_form_says_why_it_is_refused(app, browser, form_url):
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(form_url + "?lang=en")
        assert page.locator("noscript").count() == 1
        page.get_by_role("button", name="Send").click()
        assert "Please confirm that you are not a robot" in page.locator(
            "#altcha-error").inner_text()
        assert page.locator("#verified").count() == 0
    finally:
        context.close()
    assert spent(app) == 0
