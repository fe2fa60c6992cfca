"""The kiosk: "open now", its screens without JavaScript, check-in, and one tap = one ticket."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select

from citizen_desk.booking.models import Appointment, AppointmentStatus
from citizen_desk.catalog import operations as catalog_ops
from citizen_desk.catalog.models import Service
from citizen_desk.core.db import utcnow
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import opening, operations as ops
from citizen_desk.queue.models import Ticket, TicketKind
from citizen_desk.staff.models import TokenPurpose
from tests.factories import add_rule, create_office, create_service, create_token

# -- open now ----------------------------------------------------------------------------------

ATHENS_NOON = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)  # a Wednesday, 12:00 there


@pytest.fixture
def office(app_ctx):
    office = create_office(holiday_country="GR")
    add_rule(office, weekdays=[1, 2, 3, 4, 5], start_time=time(8), end_time=time(14))
    db.session.flush()
    return office


def test_open_now_is_inside_todays_rules_for_the_service(office):
    service = create_service(offices=[office])
    assert opening.open_now(office, service, ATHENS_NOON)
    assert not opening.open_now(office, service, ATHENS_NOON.replace(hour=4))   # 06:00 local
    assert not opening.open_now(office, service, ATHENS_NOON.replace(hour=12))  # 14:00: closed
    assert opening.open_now(office, service, ATHENS_NOON.replace(hour=11, minute=59))
    assert not opening.open_now(office, service, ATHENS_NOON + timedelta(days=3))  # Saturday


def test_a_rule_for_other_services_does_not_open_this_one(app_ctx):
    office = create_office(holiday_country=None)
    mine, other = create_service(offices=[office]), create_service(offices=[office])
    add_rule(office, start_time=time(8), end_time=time(14), services=[other])
    db.session.flush()
    assert opening.open_now(office, other, ATHENS_NOON)
    assert not opening.open_now(office, mine, ATHENS_NOON)


def test_closures_and_holidays_close_it(office):
    service = create_service(offices=[office])
    day = date(2026, 11, 25)
    catalog_ops.add_closure(office, day, day, {"el": "Απογραφή"}, start_time=time(11),
                            end_time=time(13))
    db.session.flush()
    assert opening.open_now(office, service, ATHENS_NOON.replace(hour=8))       # 10:00
    assert not opening.open_now(office, service, ATHENS_NOON)                   # 12:00
    assert opening.open_now(office, service, ATHENS_NOON.replace(hour=11))      # 13:00
    christmas = datetime(2026, 12, 25, 10, tzinfo=timezone.utc)  # a Friday, a holiday
    assert not opening.open_now(office, service, christmas)


def test_only_walk_in_tickets_need_the_service_open(office, monkeypatch):
    service = create_service(offices=[office])
    monkeypatch.setattr(ops, "utcnow", lambda: ATHENS_NOON.replace(hour=18))  # 20:00 local
    with pytest.raises(ValidationError) as refused:
        ops.issue(office, service)
    assert refused.value.field == "service"
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    ticket, created = ops.issue(office, service, kind=TicketKind.staff)
    assert created and ticket.number.endswith("001")


# -- the kiosk's screens -----------------------------------------------------------------------

@pytest.fixture
def kiosk(app, desk):
    """The desk's office code, its kiosk's secret, and a client paired with that kiosk."""
    with app.app_context():
        office = db.session.get(Office, desk.office_id)
        _, secret = create_token(TokenPurpose.kiosk, office, name="Kiosk")
        code = office.code
        db.session.commit()
    client = app.test_client()
    paired = client.get(f"/offices/{code}/kiosk?token={secret}")
    assert paired.status_code == 303

    class Kiosk:
        pass
    Kiosk.office, Kiosk.secret, Kiosk.client, Kiosk.desk = code, secret, client, desk
    Kiosk.base = f"/offices/{code}/kiosk"
    return Kiosk


def tickets(app) -> list[Ticket]:
    with app.app_context():
        return db.session.scalars(select(Ticket).order_by(Ticket.id)).all()


def test_the_start_screen_names_each_language_in_itself(kiosk):
    page = kiosk.client.get(kiosk.base).get_data(as_text=True)
    assert "Ελληνικά" in page and "English" in page
    assert 'data-language="el"' in page and 'data-language="en"' in page
    assert "Take a ticket" in page and 'lang="en"' in page  # every language at once
    assert 'name="code"' in page and "autofocus" in page
    assert "govgr-header" not in page and "govgr-footer" not in page  # no site chrome


def test_the_services_are_the_walk_in_ones_open_now_with_their_queue(app, kiosk):
    with app.app_context():
        office = db.session.get(Office, kiosk.desk.office_id)
        a = db.session.get(Service, kiosk.desk.a_id)
        ops.issue(office, a)
        ops.issue(office, a)
        db.session.commit()
    page = kiosk.client.get(f"{kiosk.base}/services?lang=en").get_data(as_text=True)
    assert 'data-service="queue-a"' in page and 'data-service="queue-b"' in page
    assert 'data-service="queue-c"' not in page  # appointments only
    assert "2 people waiting" in page and "Nobody waiting" in page


def test_when_nothing_is_open_the_kiosk_says_so_with_the_hours(app, kiosk):
    with app.app_context():
        office = db.session.get(Office, kiosk.desk.office_id)
        today = office.today()
        catalog_ops.add_closure(office, today, today, {"el": "Απεργία", "en": "Strike"})
        db.session.commit()
    response = kiosk.client.get(f"{kiosk.base}/services?lang=en")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "data-closed" in page
    assert "We are not issuing tickets now" in page and "00:00–23:45" in page
    assert "Strike" in page
    # …and a ticket asked for anyway is refused, nothing issued.
    form = kiosk.client.get(f"{kiosk.base}/services/queue-a/ticket?lang=en")
    assert form.status_code == 302 and form.headers["Location"].startswith(f"{kiosk.base}/services")
    assert tickets(app) == []


def test_the_priority_question_offers_no_first_then_the_offices_groups(kiosk):
    page = kiosk.client.get(f"{kiosk.base}/services/queue-a?lang=en").get_data(as_text=True)
    offered = re.findall(r'data-priority="([a-z]*)"', page)
    assert offered == ["", "disability", "pregnancy", "senior"]
    assert kiosk.client.get(f"{kiosk.base}/services/queue-c?lang=en").status_code == 302
    assert kiosk.client.get(f"{kiosk.base}/services/nope?lang=en").status_code == 302


def _form(kiosk, path):
    page = kiosk.client.get(path).get_data(as_text=True)
    fields = dict(re.findall(r'<input[^>]*name="(key|priority)"[^>]*value="([^"]*)"', page))
    fields.setdefault("priority", "")
    return page, fields


def test_one_tap_one_ticket_and_a_resubmit_gives_the_same(app, kiosk):
    page, fields = _form(kiosk, f"{kiosk.base}/services/queue-a/ticket?lang=en&priority=senior")
    assert len(fields["key"]) >= 16 and fields["priority"] == "senior"
    assert "deleted at the end of the day" in page
    url = f"{kiosk.base}/services/queue-a/ticket?lang=en"
    first = kiosk.client.post(url, data={**fields, "skip": "1"})
    again = kiosk.client.post(url, data={**fields, "skip": "1"})
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    issued = tickets(app)
    assert len(issued) == 1
    ticket = issued[0]
    assert (ticket.kind, ticket.priority, ticket.language) == (TicketKind.walk_in, "senior", "en")
    assert ticket.notify_phone is None and ticket.notify_email is None
    # A fresh form is a new ticket.
    _, fresh = _form(kiosk, f"{kiosk.base}/services/queue-a/ticket?lang=el")
    kiosk.client.post(url.replace("en", "el"), data={**fresh, "skip": "1"})
    assert [t.number for t in tickets(app)] == ["A001", "A002"]


def test_the_contact_is_cleaned_and_a_bad_one_shown_again(app, kiosk):
    url = f"{kiosk.base}/services/queue-b/ticket?lang=en"
    _, fields = _form(kiosk, url)
    bad = kiosk.client.post(url, data={**fields, "contact": "not a number", "take": "1"})
    assert bad.status_code == 422 and "contact-error" in bad.get_data(as_text=True)
    assert tickets(app) == []
    # A landline takes no text message.
    landline = kiosk.client.post(url, data={**fields, "contact": "2101234567", "take": "1"})
    assert landline.status_code == 422
    good = kiosk.client.post(url, data={**fields, "contact": "691 234 5678", "take": "1"})
    assert good.status_code == 303
    assert tickets(app)[0].notify_phone == "+306912345678"
    _, fields = _form(kiosk, url)
    kiosk.client.post(url, data={**fields, "contact": " Maria@Example.GR ", "take": "1"})
    assert tickets(app)[1].notify_email == "Maria@example.gr"


def test_skip_ignores_what_was_typed(app, kiosk):
    url = f"{kiosk.base}/services/queue-b/ticket?lang=en"
    _, fields = _form(kiosk, url)
    assert kiosk.client.post(url, data={**fields, "contact": "6912345678",
                                        "skip": "1"}).status_code == 303
    assert tickets(app)[0].notify_phone is None


def test_a_forged_priority_or_key_issues_nothing_wrong(app, kiosk):
    url = f"{kiosk.base}/services/queue-a/ticket?lang=en"
    _, fields = _form(kiosk, url)
    kiosk.client.post(url, data={**fields, "priority": "vip", "skip": "1"})
    assert tickets(app)[0].priority is None
    assert kiosk.client.post(url, data={**fields, "key": "x" * 65, "skip": "1"}).status_code == 400
    assert kiosk.client.post(url, data={"skip": "1"}).status_code == 400
    assert len(tickets(app)) == 1


def test_the_ticket_shows_number_service_place_and_a_qr_code(app, kiosk):
    url = f"{kiosk.base}/services/queue-a/ticket?lang=en"
    _, fields = _form(kiosk, url)
    kiosk.client.post(url, data={**fields, "skip": "1"})
    _, fields = _form(kiosk, url)
    shown = kiosk.client.post(url, data={**fields, "skip": "1"}, follow_redirects=True)
    page = shown.get_data(as_text=True)
    second = tickets(app)[1]
    assert shown.status_code == 200 and 'data-number="A002"' in page
    assert 'data-ahead="1"' in page and "data-wait=" in page
    assert "<svg" in page and 'class="segno"' in page
    assert f'data-print-ticket="{second.public_id}"' in page
    assert 'http-equiv="refresh" content="20;' in page and 'data-idle-seconds="20"' in page
    # Another office's kiosk does not show it.
    with app.app_context():
        other = create_office(holiday_country=None)
        _, secret = create_token(TokenPurpose.kiosk, other)
        code = other.code
        db.session.commit()
    stranger = app.test_client()
    stranger.get(f"/offices/{code}/kiosk?token={secret}")
    assert stranger.get(f"/offices/{code}/kiosk/tickets/{second.public_id}").status_code == 404


def _appointment(app, kiosk, minutes: int, **kw) -> str:
    with app.app_context():
        start = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=minutes)
        appointment = Appointment(
            code="K7M4QX", status=AppointmentStatus.confirmed,
            office=db.session.get(Office, kiosk.desk.office_id),
            service=db.session.get(Service, kiosk.desk.a_id), start_dt=start,
            end_dt=start + timedelta(minutes=15), name="Πολίτης", language="en", **kw)
        db.session.add(appointment)
        db.session.commit()
    return "k7m-4qx"


def test_check_in_gives_the_appointments_ticket_once(app, kiosk):
    code = _appointment(app, kiosk, 10)
    first = kiosk.client.post(f"{kiosk.base}/check-in", data={"code": code})
    again = kiosk.client.post(f"{kiosk.base}/check-in", data={"code": " K7M4QX "})
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert "lang=en" in first.headers["Location"]
    [ticket] = tickets(app)
    assert ticket.kind == TicketKind.appointment


def test_check_in_too_early_says_when(app, kiosk):
    code = _appointment(app, kiosk, 120)
    response = kiosk.client.post(f"{kiosk.base}/check-in", data={"code": code})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and 'data-refused="early"' in page
    assert "check-in opens at" in page and "data-walk-in" not in page
    assert tickets(app) == []


def test_check_in_too_late_offers_a_walk_in_ticket(app, kiosk):
    code = _appointment(app, kiosk, -60)
    response = kiosk.client.post(f"{kiosk.base}/check-in", data={"code": code})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and 'data-refused="late"' in page
    assert f'href="{kiosk.base}/services/queue-a?lang=en" data-walk-in' in page
    assert tickets(app) == []


@pytest.mark.parametrize("code", ["", "ZZZ-ZZZ", "x" * 501, "<script>"])
def test_an_unknown_or_empty_code_is_a_clear_error(app, kiosk, code):
    response = kiosk.client.post(f"{kiosk.base}/check-in", data={"code": code})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="code-error"' in page
    assert "<script>" not in page.split("<body", 1)[1].replace('<script src=', '')
    assert tickets(app) == []


def test_the_kiosk_pages_need_the_offices_kiosk_or_staff(app, kiosk):
    anonymous = app.test_client()
    assert anonymous.get(kiosk.base).status_code == 302  # to the sign-in
    with app.app_context():
        other = create_office(holiday_country=None)
        code = other.code
        db.session.commit()
    assert kiosk.client.get(f"/offices/{code}/kiosk").status_code == 403
    assert kiosk.client.get("/offices/NOPE/kiosk").status_code == 403


# -- one tap = one ticket, through a real server -----------------------------------------------

def test_twelve_simultaneous_taps_of_one_form_make_one_ticket(app, desk, database_url):
    """The form's key decides, whichever gunicorn worker gets each of twelve taps at once."""
    from tests.concurrency import Response, race, served_app

    with app.app_context():
        office = db.session.get(Office, desk.office_id)
        _, secret = create_token(TokenPurpose.kiosk, office, name="Kiosk")
        code = office.code
        db.session.commit()
    with served_app(database_url, workers=3, threads=4) as server:
        paired = server.get(f"/offices/{code}/kiosk?token={secret}")
        assert paired.status == 303
        headers = {"Cookie": paired.cookies()}
        form_url = f"/offices/{code}/kiosk/services/queue-a/ticket?lang=en"
        page = server.get(form_url, headers=headers)
        key = re.search(r'name="key"[^>]*value="([^"]+)"', page.body).group(1)
        tap = server.request("POST", form_url, headers=headers,
                             data={"key": key, "priority": "", "skip": "1"})
        answers = race(12, tap, timeout=60)
    assert all(isinstance(a, Response) for a in answers), answers
    assert {a.status for a in answers} == {303}, [a.status for a in answers]
    assert len({a.location for a in answers}) == 1
    assert [t.number for t in tickets(app)] == ["A001"]
