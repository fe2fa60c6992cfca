"""The booking JSON API: free times, booking, cancel and reschedule by token, staff pools.

Every refused request is checked to have written nothing (rows counted
before and after), and every answer against ``docs/openapi.yaml``.
"""
from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import yaml
from sqlalchemy import func, select, update

from citizen_desk.booking.models import (Appointment, AppointmentStatus, BookingCap, Channel,
                                         SeatClaim)
from citizen_desk.catalog import operations as catalog_ops
from citizen_desk.catalog.hours import public_holidays
from citizen_desk.core.db import utcnow
from citizen_desk.core.events import Event
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.staff.models import Role, TokenPurpose
from tests.booking.conftest import at, next_weekday
from tests.core.test_openapi import SPEC_PATH, _undocumented, _validator
from tests.factories import (add_rule, create_office, create_organisation, create_service,
                             create_token, create_user)

# A valid AMKA (date of birth 01/01/1970, Luhn check digit) and one with a wrong digit.
AMKA, BAD_AMKA = "01017000009", "01017000004"
SPEC = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def desk(app):
    """ATH1 open Mon–Fri 09–12, 3 public, 1 staff and 1 NGO seat per 15-minute slot, no
    public holidays, with services offered there (one needing an AMKA, one not bookable
    online) and one offered only at THE1; tokens for a clerk of each office and NGO staff."""
    with app.app_context():
        office = create_office("ATH1", holiday_country=None, min_notice_hours=0)
        add_rule(office, start_time=time(9), end_time=time(12),
                 seats={"public": 3, "staff": 1, "ngo": 1})
        create_service(code="family-status", offices=[office], duration_minutes=15)
        create_service(code="amka-issue", offices=[office], required_fields=["amka"])
        create_service(code="offline", offices=[office], bookable_online=False)
        other = create_office("THE1", holiday_country=None, min_notice_hours=0)
        create_service(code="elsewhere", offices=[other])
        organisation = create_organisation("Οργάνωση Χ")
        clerk = create_user(role=Role.clerk, office=office)
        clerk_b = create_user(role=Role.clerk, office=other)
        ngo = create_user(role=Role.ngo, organisation=organisation)
        secrets = {name: create_token(TokenPurpose.integration, user=user)[1]
                   for name, user in (("clerk", clerk), ("clerk_b", clerk_b), ("ngo", ngo))}
        secrets["kiosk"] = create_token(TokenPurpose.kiosk, office)[1]
        db.session.commit()
        return {"office": office, "monday": next_weekday(1), "secrets": secrets,
                "clerk_id": clerk.id, "organisation_id": organisation.id}


def iso(office, day, hour, minute=0) -> str:
    return at(office, day, hour, minute).isoformat()


def request_body(desk, **overrides) -> dict:
    body = {"office": "ATH1", "service": "family-status",
            "start": iso(desk["office"], desk["monday"], 9), "name": "Νίκος Γεωργίου",
            "email": "nikos@example.gr"}
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def bearer(desk, who: str) -> dict:
    return {"Authorization": f"Bearer {desk['secrets'][who]}"}


def counts(app) -> dict:
    with app.app_context():
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Appointment, SeatClaim, BookingCap, Event)}


def matches_spec(body, schema: str):
    _validator(SPEC, schema).validate(body)
    assert _undocumented(SPEC, {"$ref": f"#/components/schemas/{schema}"}, body) == []


# -- availability ---------------------------------------------------------------------------

def test_availability_lists_free_times_in_the_office_zone(client, desk):
    monday = desk["monday"]
    response = client.get("/api/v1/offices/ATH1/services/family-status/availability",
                          query_string={"from": monday.isoformat(), "to": monday.isoformat()})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    matches_spec(body, "Availability")
    assert body["timezone"] == "Europe/Athens"
    assert (body["from"], body["to"]) == (monday.isoformat(), monday.isoformat())
    slots = body["slots"]
    assert len(slots) == 12  # 09:00–12:00 in 15 minutes
    assert slots[0] == {"start": iso(desk["office"], monday, 9),
                        "end": iso(desk["office"], monday, 9, 15), "free": 3}
    assert slots[0]["start"][-6:] in ("+02:00", "+03:00")


def test_availability_counts_bookings_and_drops_full_slots(client, desk):
    nine = iso(desk["office"], desk["monday"], 9)
    for n in range(3):
        assert client.post("/api/v1/appointments", json=request_body(
            desk, email=f"p{n}@example.gr")).status_code == 201
        slots = client.get("/api/v1/offices/ATH1/services/family-status/availability",
                           query_string={"from": desk["monday"].isoformat()}).json["slots"]
        first = slots[0]
        if n < 2:
            assert (first["start"], first["free"]) == (nine, 2 - n)
    assert first["start"] == iso(desk["office"], desk["monday"], 9, 15)


def test_availability_defaults_to_two_weeks_from_today(client, desk):
    body = client.get("/api/v1/offices/ATH1/services/family-status/availability").json
    first, last = date.fromisoformat(body["from"]), date.fromisoformat(body["to"])
    assert (last - first).days == 13
    assert abs((first - utcnow().date()).days) <= 1
    only_from = client.get("/api/v1/offices/ATH1/services/family-status/availability",
                           query_string={"from": "2030-01-01"}).json
    assert (only_from["from"], only_from["to"]) == ("2030-01-01", "2030-01-14")
    assert only_from["slots"] == []  # beyond the office's 180 days


def test_a_62_day_window_runs_as_many_statements_as_a_one_week_window(app, client, desk):
    from sqlalchemy import event
    with app.app_context():
        engine = db.engine
    statements = []

    def count(*args, **kwargs):
        statements.append(1)
    start = desk["monday"]
    seen = {}
    # A first request reads the catalog's revision, which later ones keep.
    client.get("/api/v1/offices/ATH1/services/family-status/availability")
    event.listen(engine, "before_cursor_execute", count)
    try:
        for days in (7, 62):
            statements.clear()
            response = client.get("/api/v1/offices/ATH1/services/family-status/availability",
                                  query_string={"from": start.isoformat(), "to": (
                                      start + timedelta(days=days - 1)).isoformat()})
            seen[days] = (len(statements), len(response.json["slots"]))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert seen[62][1] > seen[7][1] > 0
    assert seen[62][0] == seen[7][0] <= 11, seen


@pytest.mark.parametrize("query, field", [
    ({"from": "2026-01-01", "to": "2026-03-04"}, "to"),  # 63 days
    ({"from": "2026-03-01", "to": "2026-02-28"}, "to"),
    ({"from": "01/03/2026"}, "from"),
    ({"from": "2026-02-30"}, "from"),
    ({"to": "tomorrow"}, "to"),
])
def test_availability_refuses_bad_windows(client, desk, query, field):
    response = client.get("/api/v1/offices/ATH1/services/family-status/availability",
                          query_string=query | {"lang": "en"})
    assert response.status_code == 422
    assert list(response.json["errors"]) == [field]
    matches_spec(response.json, "Error")


def test_availability_takes_62_days_at_most(client, desk):
    ok = client.get("/api/v1/offices/ATH1/services/family-status/availability",
                    query_string={"from": "2026-01-01", "to": "2026-03-03"})
    assert ok.status_code == 200
    too_long = client.get("/api/v1/offices/ATH1/services/family-status/availability",
                          query_string={"from": "2026-01-01", "to": "2026-03-04", "lang": "en"})
    assert too_long.json["errors"] == {"to": "Ask for at most 62 days at a time."}


@pytest.mark.parametrize("path", [
    "/offices/NOPE/services/family-status", "/offices/ATH1/services/nope",
    "/offices/ATH1/services/elsewhere", "/offices/ATH1/services/offline",
    "/offices/ATH%201/services/family-status", "/offices/ATH1/services/" + "x" * 300,
])
def test_availability_of_what_cannot_be_booked_is_404(client, desk, path):
    response = client.get(f"/api/v1{path}/availability")
    assert response.status_code == 404
    matches_spec(response.json, "Error")


def test_availability_of_a_retired_office_is_404(app, client, desk):
    with app.app_context():
        db.session.execute(update(Office).where(Office.code == "ATH1").values(retired=True))
        db.session.commit()
    response = client.get("/api/v1/offices/ATH1/services/family-status/availability")
    assert response.status_code == 404


# -- booking --------------------------------------------------------------------------------

def test_booking_answers_201_with_a_code_and_a_manage_link(app, client, desk):
    response = client.post("/api/v1/appointments?lang=en", json=request_body(
        desk, phone="6912345678", lang="en", needs={"interpreter": "ar", "wheelchair": True}))
    assert response.status_code == 201, response.json
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    matches_spec(body, "Booked")
    assert body["status"] == "confirmed" and body["pool"] == "public"
    assert body["start"] == iso(desk["office"], desk["monday"], 9)
    assert body["end"] == iso(desk["office"], desk["monday"], 9, 15)
    assert len(body["code"]) == 7 and body["code"][3] == "-"
    assert body["manage_url"].startswith("http://localhost/appointments/" + body["code"])
    # The link opens the booking's page.
    assert client.get(body["manage_url"]).status_code == 303
    with app.app_context():
        appointment = db.session.scalar(select(Appointment))
        assert appointment.display_code == body["code"]
        assert appointment.channel == Channel.online
        assert (appointment.phone, appointment.language) == ("+306912345678", "en")
        assert appointment.needs == {"interpreter": "ar", "wheelchair": True,
                                     "sign_language": False}
        assert appointment.booked_by_id is None


def test_the_manage_link_is_under_public_url_whatever_the_host_header(make_app, desk):
    client = make_app(PUBLIC_URL="https://rantevou.example.gr").test_client()
    response = client.post("/api/v1/appointments", json=request_body(desk),
                           headers={"Host": "phishing.example"})
    assert response.status_code == 201
    assert response.json["manage_url"].startswith(
        "https://rantevou.example.gr/appointments/" + response.json["code"] + "/")


def test_booking_with_identifiers_keeps_the_required_ones(app, client, desk):
    response = client.post("/api/v1/appointments", json=request_body(
        desk, service="amka-issue", identifiers={"amka": AMKA}))
    assert response.status_code == 201, response.json
    with app.app_context():
        assert db.session.scalar(select(Appointment.identifiers)) == {"amka": AMKA}


def test_a_full_slot_is_409_with_the_nearest_free_times(app, client, desk):
    for n in range(3):
        assert client.post("/api/v1/appointments", json=request_body(
            desk, email=f"p{n}@example.gr")).status_code == 201
    before = counts(app)
    response = client.post("/api/v1/appointments?lang=en",
                           json=request_body(desk, email="late@example.gr"))
    assert response.status_code == 409
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    matches_spec(body, "SlotTaken")
    assert body["error"]["message"] == "This time was just taken. Choose another one."
    office, monday = desk["office"], desk["monday"]
    assert [slot["start"] for slot in body["alternatives"]] == [
        iso(office, monday, 9, 15), iso(office, monday, 9, 30), iso(office, monday, 9, 45)]
    assert all(slot["free"] == 3 for slot in body["alternatives"])
    assert counts(app) == before


def test_the_per_citizen_cap_is_409(app, client, desk):
    assert client.post("/api/v1/appointments", json=request_body(desk)).status_code == 201
    before = counts(app)
    again = client.post("/api/v1/appointments?lang=en", json=request_body(
        desk, start=iso(desk["office"], desk["monday"], 10), email="NIKOS@example.gr"))
    assert again.status_code == 409
    assert "most appointments allowed" in again.json["error"]["message"]
    assert "alternatives" not in again.json
    matches_spec(again.json, "Error")
    assert counts(app) == before


def _holiday(office_days=180) -> date | None:
    """A Greek public holiday on a weekday within the coming months."""
    probe = Office(holiday_country="GR", holiday_subdivision=None)
    today = utcnow().date()
    days = public_holidays(probe, today + timedelta(days=2), today + timedelta(days=office_days))
    return next((day for day in sorted(days) if day.isoweekday() <= 5), None)


def _bad_inputs(app, desk):
    office, monday = desk["office"], desk["monday"]
    with app.app_context():
        closed = monday + timedelta(days=1)
        catalog_ops.add_closure(db.session.get(Office, office.id), closed, closed,
                                {"el": "Απογραφή"})
        holiday = _holiday()
        db.session.execute(update(Office).where(Office.id == office.id)
                           .values(holiday_country="GR"))
        db.session.commit()
    assert holiday is not None
    return [
        ("past time", {"start": (utcnow() - timedelta(hours=1)).isoformat()}, "start"),
        ("off the grid", {"start": iso(office, monday, 9, 7)}, "start"),
        ("outside the hours", {"start": iso(office, monday, 13)}, "start"),
        ("a weekend", {"start": iso(office, monday + timedelta(days=5), 9)}, "start"),
        ("a closed day", {"start": iso(office, closed, 9)}, "start"),
        ("a public holiday", {"start": iso(office, holiday, 9)}, "start"),
        ("beyond the horizon", {"start": iso(office, monday + timedelta(days=400), 9)}, "start"),
        ("no offset", {"start": at(office, monday, 9).replace(tzinfo=None).isoformat()},
         "start"),
        ("a date only", {"start": monday.isoformat()}, "start"),
        ("year 9999", {"start": "9999-12-31T23:59:59-12:00"}, "start"),
        ("unknown office", {"office": "NOPE"}, "office"),
        ("malformed office", {"office": "../etc"}, "office"),
        ("unknown service", {"service": "nope"}, "service"),
        ("service not offered there", {"service": "elsewhere"}, "service"),
        ("service not bookable online", {"service": "offline"}, "service"),
        ("invalid AMKA", {"service": "amka-issue", "identifiers": {"amka": BAD_AMKA}},
         "identifiers.amka"),
        ("missing AMKA", {"service": "amka-issue"}, "identifiers.amka"),
        ("a 5,000-character name", {"name": "Α" * 5000}, "name"),
        ("no name", {"name": None}, "name"),
        ("a name that is a number", {"name": 5}, "name"),
        ("no contact", {"email": None}, "email"),
        ("bad e-mail", {"email": "nikos@"}, "email"),
        ("bad phone", {"phone": "12"}, "phone"),
        ("unknown language", {"lang": "xx"}, "lang"),
        ("unknown need", {"needs": {"pony": True}}, "needs.pony"),
        ("unknown field", {"seats": 2}, "seats"),
        ("unknown pool", {"pool": "vip"}, "pool"),
        ("start a number", {"start": 1700000000}, "start"),
    ]


def test_each_bad_input_is_422_naming_its_field_and_writes_nothing(app, client, desk):
    cases = _bad_inputs(app, desk)
    before = counts(app)
    for label, change, field in cases:
        response = client.post("/api/v1/appointments?lang=en", json=request_body(desk, **change))
        assert response.status_code == 422, (label, response.status_code, response.json)
        assert field in response.json["errors"], (label, response.json)
        matches_spec(response.json, "Error")
    assert counts(app) == before


def test_every_wrong_detail_is_reported_at_once(client, desk):
    response = client.post("/api/v1/appointments?lang=en", json=request_body(
        desk, service="amka-issue", name="Α" * 5000, email="nikos@",
        identifiers={"amka": BAD_AMKA}, start=iso(desk["office"], desk["monday"], 9, 7)))
    errors = response.json["errors"]
    assert set(errors) == {"name", "email", "identifiers.amka"}
    assert errors["identifiers.amka"] == "This AMKA is not valid: check its digits."
    assert errors["name"] == "Enter at most 120 characters."


def test_a_time_off_the_grid_says_why(client, desk):
    response = client.post("/api/v1/appointments?lang=en", json=request_body(
        desk, start=iso(desk["office"], desk["monday"], 9, 7)))
    assert response.json["errors"] == {
        "start": "The office does not take appointments for this service at this time."}


@pytest.mark.parametrize("body", [
    b"{", b"not json", b"[]", b'"text"', b"null", b'{"office": "ATH1",}', b"\xff\xfe",
    b'{"office": NaN}', b"[" * 100 + b"]" * 100,
])
def test_malformed_json_is_422(app, client, desk, body):
    before = counts(app)
    response = client.post("/api/v1/appointments", data=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert "" in response.json["errors"]
    matches_spec(response.json, "Error")
    assert counts(app) == before


def test_hostile_bodies_never_get_a_500(app, client, desk):
    good = request_body(desk)
    hostile = [None, 0, "", "x" * 10_000, [], {}, [good], {"a": {"b": {"c": {}}}}, True, -1,
               1e308, "\u202e", "ΑΘΗ1", "2026-13-45T99:99:99+02:00"]
    statuses = set()
    for key in list(good) + ["identifiers", "needs", "lang", "phone", "pool", "altcha"]:
        for value in hostile:
            response = client.post("/api/v1/appointments", json=good | {key: value})
            statuses.add(response.status_code)
            assert response.status_code < 500, (key, value, response.json)
    for path in ("cancel", "reschedule"):
        for value in hostile:
            response = client.post(f"/api/v1/appointments/K7M-4QX/{path}",
                                   json={"token": value, "start": value})
            assert response.status_code < 500, (path, value, response.json)
    assert statuses <= {201, 403, 409, 422}


# -- staff and the pools --------------------------------------------------------------------

def test_a_clerk_books_the_staff_seat_of_their_office_by_token(app, client, desk):
    response = client.post("/api/v1/appointments", headers=bearer(desk, "clerk"),
                           json=request_body(desk, pool="staff", email=None,
                                             phone="2101234567"))
    assert response.status_code == 201, response.json
    assert response.json["pool"] == "staff"
    with app.app_context():
        appointment = db.session.scalar(select(Appointment))
        assert appointment.channel == Channel.api
        assert appointment.booked_by_id == desk["clerk_id"]
    # The one staff seat is taken; the public ones are still free.
    full = client.post("/api/v1/appointments", headers=bearer(desk, "clerk"),
                       json=request_body(desk, pool="staff", email="b@example.gr"))
    assert full.status_code == 409 and "alternatives" in full.json


def test_staff_may_book_for_a_caller_without_contact_details(app, client, desk):
    response = client.post("/api/v1/appointments", headers=bearer(desk, "clerk"),
                           json=request_body(desk, email=None))
    assert response.status_code == 201, response.json
    anonymous = client.post("/api/v1/appointments", json=request_body(desk, email=None))
    assert anonymous.status_code == 422


def test_ngo_staff_book_ngo_seats_for_their_organisation(app, client, desk):
    response = client.post("/api/v1/appointments", headers=bearer(desk, "ngo"),
                           json=request_body(desk, pool="ngo", email=None))
    assert response.status_code == 201, response.json
    with app.app_context():
        appointment = db.session.scalar(select(Appointment))
        assert (appointment.pool, appointment.organisation_id) == ("ngo",
                                                                   desk["organisation_id"])


@pytest.mark.parametrize("who, pool", [
    (None, "staff"), (None, "ngo"), ("kiosk", "staff"), ("clerk_b", "staff"), ("clerk", "ngo"),
    ("ngo", "staff"),
])
def test_pools_beyond_public_are_refused_to_others(app, client, desk, who, pool):
    before = counts(app)
    response = client.post("/api/v1/appointments",
                           headers=bearer(desk, who) if who else {},
                           json=request_body(desk, pool=pool))
    assert response.status_code == 403
    assert response.json["error"]["field"] == "pool"
    matches_spec(response.json, "Error")
    assert counts(app) == before


def test_a_bad_token_is_401(client, desk):
    response = client.post("/api/v1/appointments", json=request_body(desk),
                           headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401


# -- cancel and reschedule with the link's secret -------------------------------------------

def book(client, desk, **overrides) -> tuple[str, str]:
    """Book; return the code and the manage token."""
    response = client.post("/api/v1/appointments", json=request_body(desk, **overrides))
    assert response.status_code == 201, response.json
    body = response.json
    return body["code"], body["manage_url"].rsplit("/", 1)[1]


def test_cancel_with_the_token(app, client, desk):
    code, token = book(client, desk)
    response = client.post(f"/api/v1/appointments/{code}/cancel", json={"token": token})
    assert response.status_code == 200, response.json
    matches_spec(response.json, "Appointment")
    assert response.json["status"] == "cancelled"
    with app.app_context():
        assert db.session.scalar(select(Appointment.status)) == AppointmentStatus.cancelled
    # The code may be written in lower case and without its dash.
    again = client.post(f"/api/v1/appointments/{code.replace('-', '').lower()}/cancel",
                        json={"token": token})
    assert again.status_code == 409


def test_reschedule_with_the_token(app, client, desk):
    code, token = book(client, desk)
    ten = iso(desk["office"], desk["monday"], 10)
    response = client.post(f"/api/v1/appointments/{code}/reschedule",
                           json={"token": token, "start": ten})
    assert response.status_code == 200, response.json
    matches_spec(response.json, "Appointment")
    assert (response.json["start"], response.json["code"]) == (ten, code)
    with app.app_context():
        appointment = db.session.scalar(select(Appointment))
        assert appointment.local_start.isoformat() == ten and appointment.sequence == 1


def test_reschedule_to_a_full_time_is_409_and_changes_nothing(app, client, desk):
    code, token = book(client, desk)
    ten = iso(desk["office"], desk["monday"], 10)
    for n in range(3):
        book(client, desk, start=ten, email=f"p{n}@example.gr")
    before = counts(app)
    response = client.post(f"/api/v1/appointments/{code}/reschedule",
                           json={"token": token, "start": ten})
    assert response.status_code == 409
    matches_spec(response.json, "SlotTaken")
    assert response.json["alternatives"]
    assert counts(app) == before
    with app.app_context():
        mine = db.session.scalar(select(Appointment).where(
            Appointment.code == code.replace("-", "")))
        assert mine.local_start.isoformat() == iso(desk["office"], desk["monday"], 9)
        assert mine.sequence == 0


@pytest.mark.parametrize("change, field", [
    ({"start": "2026-12-03T09:00:00"}, "start"),
    ({"start": None}, "start"),
    ({"token": None}, "token"),
    ({"token": "x" * 201}, "token"),
    ({"extra": 1}, "extra"),
])
def test_reschedule_refuses_bad_input(app, client, desk, change, field):
    code, token = book(client, desk)
    before = counts(app)
    body = {"token": token, "start": iso(desk["office"], desk["monday"], 10)} | change
    body = {key: value for key, value in body.items() if value is not None}
    response = client.post(f"/api/v1/appointments/{code}/reschedule", json=body)
    assert response.status_code == 422
    assert field in response.json["errors"]
    assert counts(app) == before


def test_reschedule_to_a_bad_time_is_422(app, client, desk):
    code, token = book(client, desk)
    before = counts(app)
    for start in (iso(desk["office"], desk["monday"], 9),  # the time it has
                  iso(desk["office"], desk["monday"], 9, 7),
                  (utcnow() - timedelta(days=1)).isoformat()):
        response = client.post(f"/api/v1/appointments/{code}/reschedule",
                               json={"token": token, "start": start})
        assert response.status_code == 422, start
        assert list(response.json["errors"]) == ["start"]
    assert counts(app) == before


def test_forged_tokens_and_unknown_codes_are_the_same_404(app, client, desk):
    code, token = book(client, desk)
    other_code, other_token = book(client, desk, email="other@example.gr")
    before = counts(app)
    answers = []
    for path_code, secret in [(code, token[:-2] + "xx"), (code, other_token),
                              ("ZZZ-ZZZ", token), ("nonsense", token), (code, "short"),
                              ("K" * 300, token)]:
        for action, extra in (("cancel", {}),
                              ("reschedule", {"start": iso(desk["office"], desk["monday"], 10)})):
            response = client.post(f"/api/v1/appointments/{path_code}/{action}",
                                   json={"token": secret} | extra)
            assert response.status_code == 404, (path_code, action)
            matches_spec(response.json, "Error")
            answers.append(response.json)
    assert all(answer == answers[0] for answer in answers)
    assert counts(app) == before


def test_an_expired_link_can_no_longer_change_anything(app, client, desk):
    code, token = book(client, desk)
    other, other_token = book(client, desk, email="other@example.gr")
    with app.app_context():
        # One appointment is over, the other's double opt-in ran out.
        db.session.execute(update(Appointment).where(
            Appointment.code == code.replace("-", "")).values(
            start_dt=utcnow() - timedelta(days=1, hours=1), end_dt=utcnow() - timedelta(days=1)))
        db.session.execute(update(Appointment).where(
            Appointment.code == other.replace("-", "")).values(
            status=AppointmentStatus.expired))
        db.session.commit()
    before = counts(app)
    for path_code, secret in ((code, token), (other, other_token)):
        for action, extra in (("cancel", {}),
                              ("reschedule", {"start": iso(desk["office"], desk["monday"], 10)})):
            response = client.post(f"/api/v1/appointments/{path_code}/{action}?lang=en",
                                   json={"token": secret} | extra)
            assert response.status_code == 409, (path_code, action, response.json)
            assert response.json["error"]["message"] == \
                "This appointment can no longer be changed."
    assert counts(app) == before


def test_messages_come_in_the_request_language_greek_by_default(client, desk):
    path = "/api/v1/offices/NOPE/services/family-status/availability"
    assert client.get(path).json["error"]["message"] == "Δεν υπάρχει γραφείο με αυτόν τον κωδικό."
    assert client.get(path, headers={"Accept-Language": "en"}).json["error"]["message"] == \
        "There is no office with this code."


# -- proof of work ---------------------------------------------------------------------------

def _ask_for_proof(app):
    with app.app_context():
        db.session.execute(update(Office).where(Office.code == "ATH1").values(proof_of_work=True))
        db.session.commit()


def test_an_office_with_proof_of_work_wants_a_solved_challenge(app, client, desk):
    from tests.core.test_challenge import solve
    _ask_for_proof(app)
    before = counts(app)
    for altcha in (None, "", "garbage"):
        response = client.post("/api/v1/appointments?lang=en",
                               json=request_body(desk, altcha=altcha))
        assert response.status_code == 422, altcha
        assert list(response.json["errors"]) == ["altcha"]
        assert "not a robot" in response.json["errors"]["altcha"]
    assert counts(app) == before
    solved = solve(client.get("/api/v1/challenge").json)
    response = client.post("/api/v1/appointments", json=request_body(desk, altcha=solved))
    assert response.status_code == 201, response.json
    replay = client.post("/api/v1/appointments", json=request_body(
        desk, altcha=solved, email="other@example.gr"))
    assert replay.status_code == 422 and list(replay.json["errors"]) == ["altcha"]


def test_a_solution_refused_with_a_full_time_may_be_sent_again(app, client, desk):
    from tests.core.test_challenge import solve
    for n in range(3):
        book(client, desk, email=f"p{n}@example.gr")
    _ask_for_proof(app)
    solved = solve(client.get("/api/v1/challenge").json)
    full = client.post("/api/v1/appointments", json=request_body(desk, altcha=solved))
    assert full.status_code == 409
    later = client.post("/api/v1/appointments", json=request_body(
        desk, altcha=solved, start=iso(desk["office"], desk["monday"], 10)))
    assert later.status_code == 201, later.json


def test_token_callers_are_not_asked_for_proof_of_work(client, desk):
    _ask_for_proof(client.application)
    for who in ("clerk", "kiosk"):
        response = client.post("/api/v1/appointments", headers=bearer(desk, who),
                               json=request_body(desk, email=f"{who}@example.gr"))
        assert response.status_code == 201, (who, response.json)


def test_the_double_opt_in_keeps_an_anonymous_booking_pending(app, client, desk):
    with app.app_context():
        db.session.execute(update(Office).where(Office.code == "ATH1")
                           .values(confirm_by_email=True))
        db.session.commit()
    response = client.post("/api/v1/appointments", json=request_body(desk))
    assert response.status_code == 201 and response.json["status"] == "pending"
    staff = client.post("/api/v1/appointments", headers=bearer(desk, "clerk"),
                        json=request_body(desk, email="caller@example.gr"))
    assert staff.json["status"] == "confirmed"


# -- rate limits -----------------------------------------------------------------------------

def test_booking_and_availability_share_a_budget_and_look_ups_have_their_own(make_app, desk,
                                                                              monkeypatch):
    monkeypatch.delenv("RATELIMIT_ENABLED", raising=False)
    limited = make_app(RATELIMIT_ENABLED=True, BOOKING_RATE_LIMIT="3 per minute",
                       LOOKUP_RATE_LIMIT="2 per minute", WTF_CSRF_ENABLED=False)
    client = limited.test_client()
    availability = "/api/v1/offices/ATH1/services/family-status/availability"
    assert client.get(availability).status_code == 200
    assert client.post("/api/v1/appointments", json={}).status_code == 422
    assert client.get(availability).status_code == 200
    refused = client.post("/api/v1/appointments", json=request_body(desk))
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    matches_spec(refused.json, "Error")
    forged = {"token": "x" * 43}
    assert [client.post("/api/v1/appointments/K7M-4QX/cancel", json=forged).status_code
            for _ in range(3)] == [404, 404, 429]
    assert client.post("/api/v1/appointments/K7M-4QX/reschedule", json=forged | {
        "start": iso(desk["office"], desk["monday"], 10)}).status_code == 429
    # Staff tokens are not counted.
    assert client.post("/api/v1/appointments", headers=bearer(desk, "clerk"),
                       json=request_body(desk)).status_code == 201
