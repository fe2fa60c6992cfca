"""``POST /api/v1/offices/<office>/tickets``: the kiosk's API, its key, check-in and refusals."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from citizen_desk.booking.models import Appointment, AppointmentStatus
from citizen_desk.catalog import operations as catalog_ops
from citizen_desk.catalog.models import Service
from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue.models import Ticket, TicketKind
from citizen_desk.staff.models import Role, StaffUser, TokenPurpose
from tests.factories import create_office, create_token, create_user


@pytest.fixture
def api(app, desk):
    """The desk's office code and bearer headers of its kiosk, a display, a clerk's
    integration, and another office's kiosk."""
    with app.app_context():
        office = db.session.get(Office, desk.office_id)
        other = create_office(holiday_country=None)
        clerk = db.session.get(StaffUser, desk.clerk_id)
        secrets = {
            "kiosk": create_token(TokenPurpose.kiosk, office)[1],
            "display": create_token(TokenPurpose.display, office)[1],
            "clerk": create_token(TokenPurpose.integration, user=clerk)[1],
            "other_kiosk": create_token(TokenPurpose.kiosk, other)[1],
        }
        code = office.code
        db.session.commit()

    class Api:
        url = f"/api/v1/offices/{code}/tickets"
        client = app.test_client()

        @staticmethod
        def post(body=None, who="kiosk", key=None, url=None, **kw):
            headers = {"Authorization": f"Bearer {secrets[who]}"} if who else {}
            if key is not None:
                headers["Idempotency-Key"] = key
            return Api.client.post(url or Api.url, json=body, headers=headers, **kw)
    Api.office, Api.desk, Api.secrets = code, desk, secrets
    return Api


def tickets(app) -> list[Ticket]:
    with app.app_context():
        return db.session.scalars(select(Ticket).order_by(Ticket.id)).all()


def test_a_kiosk_takes_a_ticket(app, api):
    response = api.post({"service": "queue-a", "lang": "en"}, key="tap-1")
    assert response.status_code == 201
    body = response.json
    assert {"id", "number", "service", "status", "position", "estimated_wait_minutes",
            "tracking_url"} <= set(body)
    assert (body["number"], body["service"], body["status"], body["position"]) == (
        "A001", "queue-a", "waiting", 0)
    assert body["tracking_url"].endswith(f"/t/{body['id']}")
    assert response.headers["Cache-Control"] == "no-store"
    [ticket] = tickets(app)
    assert (ticket.kind, ticket.language, ticket.idempotency_key) == (
        TicketKind.walk_in, "en", "tap-1")


def test_the_same_key_and_body_is_the_same_ticket(app, api):
    body = {"service": "queue-a", "priority": "senior", "notify_phone": "6912345678"}
    first = api.post(body, key="tap")
    again = api.post(body, key="tap")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json["id"] == again.json["id"]
    assert len(tickets(app)) == 1
    assert tickets(app)[0].notify_phone == "+306912345678"


@pytest.mark.parametrize("changed", [
    {"service": "queue-b"}, {"priority": None}, {"lang": "en"},
    {"notify_phone": "6987654321"}, {"needs": {"wheelchair": True}}])
def test_the_same_key_with_another_body_is_refused(app, api, changed):
    body = {"service": "queue-a", "priority": "senior", "notify_phone": "6912345678"}
    assert api.post(body, key="tap").status_code == 201
    response = api.post({**body, **changed}, key="tap")
    assert response.status_code == 422
    assert set(response.json["errors"]) & {"Idempotency-Key", "idempotency_key"}
    assert len(tickets(app)) == 1


def test_without_a_key_each_request_is_a_ticket(app, api):
    assert [api.post({"service": "queue-a"}).json["number"] for _ in range(2)] == [
        "A001", "A002"]


@pytest.mark.parametrize("key", ["", "k" * 65, "tab\there"])
def test_a_bad_key_is_refused(app, api, key):
    response = api.post({"service": "queue-a"}, key=key)
    assert response.status_code == 422 and "Idempotency-Key" in response.json["errors"]
    assert tickets(app) == []


@pytest.mark.parametrize("body, field", [
    ({}, "service"),
    ({"service": "nope"}, "service"),
    ({"service": "queue-c"}, "service"),               # appointments only
    ({"service": "NOT A CODE"}, "service"),
    ({"service": 7}, "service"),
    ({"service": "queue-a", "priority": "vip"}, "priority"),
    ({"service": "queue-a", "lang": "xx"}, "lang"),
    ({"service": "queue-a", "needs": {"jetpack": True}}, "needs"),
    ({"service": "queue-a", "needs": "wheelchair"}, "needs"),
    ({"service": "queue-a", "notify_phone": "12"}, "notify_phone"),
    ({"service": "queue-a", "notify_phone": "2101234567"}, "notify_phone"),  # a landline
    ({"service": "queue-a", "notify_email": "nobody"}, "notify_email"),
    ({"service": "queue-a", "notify_email": ["a@b.gr"]}, "notify_email"),
    ({"service": "queue-a", "surprise": 1}, "surprise"),
])
def test_bad_input_names_its_field_and_issues_nothing(app, api, body, field):
    response = api.post(body, key="k")
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert tickets(app) == []


def test_malformed_and_huge_bodies_are_refused_not_crashed(app, api):
    headers = {"Authorization": f"Bearer {api.secrets['kiosk']}",
               "Content-Type": "application/json"}
    for data in (b"{", b"[]", b"null", b'"x"', json.dumps({"service": "a" * 10_000}).encode()):
        response = api.client.post(api.url, data=data, headers=headers)
        assert response.status_code == 422, data[:20]
    huge = api.client.post(api.url, data=b'{"service": "' + b"a" * (2 << 20) + b'"}',
                           headers=headers)
    assert huge.status_code == 413
    assert tickets(app) == []


def test_a_service_closed_now_is_refused_for_the_kiosk_not_for_the_desk(app, api):
    with app.app_context():
        office = db.session.get(Office, api.desk.office_id)
        today = office.today()
        catalog_ops.add_closure(office, today, today, {"el": "Απεργία"})
        db.session.commit()
    refused = api.post({"service": "queue-a", "lang": "en"}, query_string={"lang": "en"})
    assert refused.status_code == 422
    assert refused.json["errors"]["service"] == "This service is not open for tickets now."
    assert tickets(app) == []
    desk = api.post({"service": "queue-a"}, who="clerk")
    assert desk.status_code == 201 and desk.json["kind"] == "staff"


def test_unknown_or_retired_office_is_404(app, api):
    assert api.post({"service": "queue-a"}, url="/api/v1/offices/NOPE/tickets",
                    who="clerk").status_code in (403, 404)
    with app.app_context():
        admin = create_user(role=Role.admin)
        _, secret = create_token(TokenPurpose.integration, user=admin)
        office = db.session.get(Office, api.desk.office_id)
        office.retired = True
        db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.client.post("/api/v1/offices/NOPE/tickets", json={"service": "queue-a"},
                           headers=headers).status_code == 404
    assert api.client.post(api.url, json={"service": "queue-a"},
                           headers=headers).status_code == 404


def test_only_the_offices_kiosk_and_staff_may_issue(app, api):
    assert api.post({"service": "queue-a"}, who=None).status_code == 401
    assert api.post({"service": "queue-a"}, who="display").status_code == 403
    assert api.post({"service": "queue-a"}, who="other_kiosk").status_code == 403
    assert tickets(app) == []


def _appointment(app, api, minutes: int) -> None:
    with app.app_context():
        start = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=minutes)
        db.session.add(Appointment(
            code="K7M4QX", status=AppointmentStatus.confirmed,
            office=db.session.get(Office, api.desk.office_id),
            service=db.session.get(Service, api.desk.a_id), start_dt=start,
            end_dt=start + timedelta(minutes=15), name="Πολίτης", language="en"))
        db.session.commit()


def test_an_appointment_code_checks_in_once(app, api):
    _appointment(app, api, 5)
    first = api.post({"appointment_code": "k7m-4qx"}, key="scan-1")
    again = api.post({"appointment_code": "K7M4QX"}, key="scan-2")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json["id"] == again.json["id"] and first.json["kind"] == "appointment"
    assert first.json["language"] == "en"


def test_check_in_too_early_is_409_with_the_opening(app, api):
    _appointment(app, api, 120)
    response = api.post({"appointment_code": "K7M-4QX", "lang": "en"})
    assert response.status_code == 409
    assert "walk_in_offered" not in response.json and response.json["checkin_opens_at"]
    assert response.json["error"]["field"] == "appointment_code"
    assert tickets(app) == []


def test_check_in_too_late_is_409_offering_a_walk_in(app, api):
    _appointment(app, api, -60)
    response = api.post({"appointment_code": "K7M-4QX"})
    assert response.status_code == 409 and response.json["walk_in_offered"] is True
    assert tickets(app) == []
    walk_in = api.post({"service": "queue-a"})
    assert walk_in.status_code == 201 and walk_in.json["kind"] == "walk_in"


@pytest.mark.parametrize("code", ["ZZZ-ZZZ", "", "x" * 501])
def test_an_unknown_code_is_422(app, api, code):
    response = api.post({"appointment_code": code})
    assert response.status_code == 422 and "appointment_code" in response.json["errors"]
