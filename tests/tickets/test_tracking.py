"""The citizen's tracking page and ``GET /api/v1/tickets/<id>``: what each state says, in the
ticket's language, nothing about anyone else, the same 404 for unknown and malformed ids,
private headers, and a rate limit that lets a waiting room's phones poll."""
from __future__ import annotations

import re

import pytest

from citizen_desk.catalog.models import Counter, Service
from citizen_desk.core import uow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import daily
from citizen_desk.queue import operations as ops
from citizen_desk.queue.models import Ticket
from citizen_desk.staff.models import StaffUser

PHONE = "+306912345678"


def in_unit(app, work):
    with app.app_context():
        try:
            return uow.run(work)
        finally:
            db.session.remove()


def issue(app, desk, count=1, **kw) -> list[str]:
    """``count`` tickets for service A; their public ids."""
    def work():
        office, service = db.session.get(Office, desk.office_id), db.session.get(Service, desk.a_id)
        return [ops.issue(office, service, **kw)[0].public_id for _ in range(count)]
    return in_unit(app, work)


def act(app, public_id, action, *args, **kw):
    def work():
        ticket = db.session.scalar(db.select(Ticket).where(Ticket.public_id == public_id))
        return action(ticket, *args, **kw)
    in_unit(app, work)


def call(app, desk, public_id):
    def work():
        ticket = db.session.scalar(db.select(Ticket).where(Ticket.public_id == public_id))
        ops.call(ticket, db.session.get(Counter, desk.counter1_id),
                 db.session.get(StaffUser, desk.clerk_id))
    in_unit(app, work)


def state_of(response) -> str:
    return re.search(r'data-state="([a-z_]+)"', response.get_data(as_text=True)).group(1)


def html_lang(response) -> str:
    return re.search(r'<html lang="([a-z]+)"', response.get_data(as_text=True)).group(1)


def test_a_waiting_ticket_shows_its_number_service_people_ahead_and_wait(app, client, desk):
    ids = issue(app, desk, 3, language="en")
    response = client.get(f"/t/{ids[2]}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert state_of(response) == "waiting" or state_of(response) == "near"
    assert 'id="cd-ticket-number">A003<' in page
    assert 'data-ahead="2"' in page and 'data-wait="30"' in page  # 2 × 15 minutes, 1 counter
    assert "People ahead of you" in page and "about 30 minutes" in page


def test_the_page_reveals_nobody_else(app, client, desk):
    ids = issue(app, desk, 3, language="en", notify_phone=PHONE)
    page = client.get(f"/t/{ids[1]}").get_data(as_text=True)
    assert "A002" in page
    assert "A001" not in page and "A003" not in page
    assert ids[0] not in page and ids[2] not in page
    assert PHONE not in page and "6912345678" not in page


def test_near_when_the_people_ahead_reach_the_offices_threshold(app, client, desk):
    ids = issue(app, desk, 5, language="en")
    assert state_of(client.get(f"/t/{ids[4]}")) == "waiting"  # 4 ahead > 3
    assert state_of(client.get(f"/t/{ids[3]}")) == "near"     # 3 ahead
    assert "Your turn is near" in client.get(f"/t/{ids[3]}").get_data(as_text=True)


def test_a_called_ticket_says_which_counter_prominently(app, client, desk):
    [public_id] = issue(app, desk, language="en")
    call(app, desk, public_id)
    response = client.get(f"/t/{public_id}")
    page = response.get_data(as_text=True)
    assert state_of(response) == "called"
    assert "It is your turn!" in page and "Please go to" in page
    assert "<p class=\"cd-tracking__counter\" data-counter>Counter 1</p>" in page
    assert "<title>It is your turn: A001, Counter 1" in page
    assert 'role="alert"' in page


@pytest.mark.parametrize("action, state, words", [
    (lambda t: ops.finish(ops.start_serving(t)), "done", "You have been served."),
    (ops.no_show, "no_show", "you did not come to the counter"),
    (ops.cancel, "cancelled", "This ticket has been cancelled."),
])
def test_a_closed_ticket_gets_a_clear_last_word_and_no_more_refreshing(app, client, desk,
                                                                       action, state, words):
    [public_id] = issue(app, desk, language="en")
    if state != "cancelled":
        call(app, desk, public_id)
    act(app, public_id, action)
    response = client.get(f"/t/{public_id}")
    page = response.get_data(as_text=True)
    assert state_of(response) == state and words in page
    assert "tracking.js" not in page and 'http-equiv="refresh"' not in page


def test_an_expired_ticket_says_the_day_has_ended(app, client, desk):
    [public_id] = issue(app, desk, language="en")
    in_unit(app, lambda: daily.close_day(include_today=True))
    response = client.get(f"/t/{public_id}")
    assert state_of(response) == "expired"
    assert "This ticket has expired" in response.get_data(as_text=True)


def test_serving_says_where(app, client, desk):
    [public_id] = issue(app, desk, language="en")
    call(app, desk, public_id)
    act(app, public_id, ops.start_serving)
    response = client.get(f"/t/{public_id}")
    assert state_of(response) == "serving"
    assert "You are being served at Counter 1." in response.get_data(as_text=True)


def test_the_page_speaks_the_tickets_language_unless_the_visitor_chose_another(app, desk):
    [greek] = issue(app, desk, language="el")
    [english] = issue(app, desk, language="en")
    client = app.test_client()
    assert html_lang(client.get(f"/t/{greek}", headers={"Accept-Language": "en"})) == "el"
    assert html_lang(client.get(f"/t/{english}")) == "en"
    assert html_lang(client.get(f"/t/{greek}?lang=en")) == "en"
    # The switcher's links keep the page and name the other language.
    page = client.get(f"/t/{greek}").get_data(as_text=True)
    assert f'href="/t/{greek}?lang=en"' in page


def test_the_page_is_private_and_script_comes_from_a_file(app, client, desk):
    [public_id] = issue(app, desk)
    response = client.get(f"/t/{public_id}")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response.headers["X-Robots-Tag"]
    page = response.get_data(as_text=True)
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert '<noscript><meta http-equiv="refresh" content="30"></noscript>' in page
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    assert 'src="/static/js/tracking.js"' in page
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    # Other pages keep the site-wide policy.
    assert client.get("/").headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("bad", ["A" * 32, "nope", "x" * 65, "..%2F..%2Fetc", "%20" * 20, "%E2%80%8B" * 20,
                                 "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩαβγδεζηθ"])
def test_unknown_and_malformed_ids_get_the_same_404(app, client, desk, bad):
    issue(app, desk)
    unknown = client.get("/t/" + "B" * 32)
    response = client.get(f"/t/{bad}")
    assert response.status_code == unknown.status_code == 404
    assert unknown.headers["Cache-Control"] == "no-store"
    title = re.compile(r"<title>(.*?)</title>", re.S)
    assert title.search(response.get_data(as_text=True)).group(1) == \
        title.search(unknown.get_data(as_text=True)).group(1)
    api = client.get(f"/api/v1/tickets/{bad}")
    assert api.status_code == 404 and api.json["error"]["status"] == 404


def test_the_api_answers_the_tickets_public_json_without_personal_data(app, client, desk):
    ids = issue(app, desk, 2, notify_phone=PHONE, notify_email="a@example.org",
                needs={"wheelchair": True})
    response = client.get(f"/api/v1/tickets/{ids[1]}?lang=en")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["id"] == ids[1] and body["number"] == "A002" and body["status"] == "waiting"
    assert body["position"] == 1 and body["estimated_wait_minutes"] == 15
    assert body["counter"] is None and body["tracking_url"].endswith(f"/t/{ids[1]}")
    text = response.get_data(as_text=True)
    assert PHONE not in text and "a@example.org" not in text and "wheelchair" not in text
    assert ids[0] not in text and "A001" not in text

    call(app, desk, ids[1])
    called = client.get(f"/api/v1/tickets/{ids[1]}?lang=en").json
    assert called["status"] == "called" and called["counter"]["label"] == "Counter 1"
    assert called["position"] is None


def test_the_page_and_the_api_agree_on_what_is_shown(app, client, desk):
    """tracking.js fetches the page again only when the API's answer differs from it."""
    ids = issue(app, desk, 3)
    for public_id in ids:
        page = client.get(f"/t/{public_id}").get_data(as_text=True)
        sign = re.search(r'data-sign="([^"]*)"', page).group(1)
        t = client.get(f"/api/v1/tickets/{public_id}").json
        counter = t["counter"]["id"] if t["counter"] else ""
        assert sign == "|".join(str("" if v is None else v) for v in (
            t["status"], t["position"], t["estimated_wait_minutes"], counter, t["recalls"],
            t["service"]))


def test_polling_phones_behind_one_address_are_limited_per_ticket(make_app, desk, app):
    limited = make_app(RATELIMIT_ENABLED=True, TRACKING_RATE_LIMIT="5 per minute",
                       LOOKUP_RATE_LIMIT="2 per minute")
    ids = issue(app, desk, 2)
    client = limited.test_client()
    statuses = [client.get(f"/api/v1/tickets/{ids[0]}").status_code for _ in range(4)]
    statuses.append(client.get(f"/t/{ids[0]}").status_code)
    assert statuses == [200] * 5, "more than the look-up budget: polling is not a guess"
    refused = client.get(f"/api/v1/tickets/{ids[0]}")
    assert refused.status_code == 429 and refused.json["error"]["retry_after"] >= 1
    # Another phone on the same Wi-Fi, polling its own ticket, is not affected.
    assert client.get(f"/api/v1/tickets/{ids[1]}").status_code == 200


def test_the_api_answer_is_what_docs_openapi_yaml_says(app, client, desk):
    from pathlib import Path

    import jsonschema
    import yaml
    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml")
                          .read_text(encoding="utf-8"))
    operation = spec["paths"]["/tickets/{ticket}"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Ticket"}
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/Ticket", "components": spec["components"]})
    ids = issue(app, desk, 2)
    call(app, desk, ids[0])
    for public_id in ids:
        validator.validate(client.get(f"/api/v1/tickets/{public_id}").json)
