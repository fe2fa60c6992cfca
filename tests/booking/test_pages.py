"""The citizen's booking journey through its pages, in Greek and English.

service page → /book → (office) → day → time (a hold) → details → check → confirmation;
holds kept per browser session, the just-taken page, required fields, hostile input,
and the month page's fixed number of queries.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import time, timedelta

import pytest
from sqlalchemy import event, select

from citizen_desk.booking import availability, operations as ops
from citizen_desk.booking.models import Appointment, AppointmentStatus, SeatClaim
from citizen_desk.catalog.models import Service
from citizen_desk.core import uow
from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from tests.booking.conftest import at, next_weekday
from tests.factories import add_rule, create_office, create_service

DOCUMENTS = {"el": ["Αστυνομική ταυτότητα"], "en": ["Identity card"]}


@dataclass
class Place:
    service: str
    office: str
    office_id: int
    service_id: int

    @property
    def base(self) -> str:
        return f"/book/{self.service}/{self.office}"


def make_place(app, *, offices=1, required=(), **office_fields) -> Place:
    """``offices`` offices open Mon–Fri 09:00–12:00, 3 public seats per 15 minutes, and a
    15-minute service offered at all of them."""
    switches = {key: office_fields.pop(key) for key in ("confirm_by_email", "proof_of_work")
                if key in office_fields}
    with app.app_context():
        made = []
        for n in range(offices):
            fields = {"holiday_country": None, "min_notice_hours": 0, **office_fields}
            office = create_office(code=f"ATH{n + 1}",
                                   name={"el": f"ΚΕΠ Αθηνών {n + 1}", "en": f"KEP Athens {n + 1}"},
                                   **fields)
            for key, value in switches.items():
                setattr(office, key, value)
            add_rule(office, start_time=time(9), end_time=time(12),
                     seats={"public": 3, "staff": 1})
            made.append(office)
        service = create_service(code="family-status", offices=made, duration_minutes=15,
                                 documents=DOCUMENTS, required_fields=list(required),
                                 name={"el": "Πιστοποιητικό οικογενειακής κατάστασης",
                                       "en": "Certificate of family status"})
        db.session.commit()
        return Place(service.code, made[0].code, made[0].id, service.id)


@pytest.fixture
def place(app):
    return make_place(app)


def local(app, place, day, hour, minute=0):
    with app.app_context():
        office = availability.load_office(place.office_id)
        return at(office, day, hour, minute)


def iso(app, place, day, hour, minute=0) -> str:
    from datetime import timezone
    return local(app, place, day, hour, minute).astimezone(timezone.utc).isoformat()


def claims(app, **where):
    with app.app_context():
        return db.session.scalars(select(SeatClaim).filter_by(**where)).all()


def appointments(app):
    with app.app_context():
        return db.session.scalars(select(Appointment)).all()


def text(response) -> str:
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def hold_key(client):
    with client.session_transaction() as session:
        return session.get("booking_hold")


DETAILS = {"name": "Νίκος Γεωργίου", "email": "nikos@example.gr", "phone": "6912345678",
           "language": "el", "interpreter": "", "wheelchair": "y"}


# -- the whole journey -----------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["el", "en"])
def test_the_whole_journey(app, client, place, lang):
    day = next_weekday(2)  # a Tuesday
    service_page = client.get(f"/services/{place.service}?lang={lang}")
    assert f'href="/book?service={place.service}"' in service_page.get_data(as_text=True)

    start = client.get(f"/book?service={place.service}&lang={lang}")
    assert start.status_code == 302 and start.location.endswith(f"{place.base}/day")

    month = client.get(f"{place.base}/day?month={day:%Y-%m}&lang={lang}")
    html = month.get_data(as_text=True)
    assert month.status_code == 200
    label = {"el": "Τρίτη", "en": "Tuesday"}[lang]
    assert re.search(rf'<button type="submit" name="day" value="{day.isoformat()}"[^>]*'
                     rf'aria-label="{label} {day.day} [^"]*, 12 ', html)
    assert f'action="{place.base}/time"' in html

    times = client.get(f"{place.base}/time?day={day.isoformat()}")
    assert times.status_code == 200
    page = text(times)
    assert "09:00" in page and "11:45" in page and "12:00" not in page
    ten = iso(app, place, day, 10)
    assert f'value="{ten}"' in times.get_data(as_text=True)

    chosen = client.post(f"{place.base}/time?day={day.isoformat()}", data={"start": ten})
    assert chosen.status_code == 302 and chosen.location.endswith(f"{place.base}/details")
    key = hold_key(client)
    (held,) = claims(app, hold_key=key)
    assert held.appointment_id is None and held.expires_dt > utcnow()

    details = client.get(f"{place.base}/details")
    assert details.status_code == 200
    assert 'href="/privacy"' in details.get_data(as_text=True)
    until = held.expires_dt.astimezone(local(app, place, day, 10).tzinfo).strftime("%H:%M")
    assert until in text(details)

    sent = client.post(f"{place.base}/details", data={**DETAILS, "language": lang})
    assert sent.status_code == 302 and sent.location.endswith(f"{place.base}/check")

    check = client.get(f"{place.base}/check")
    page = text(check)
    assert check.status_code == 200
    assert "Νίκος Γεωργίου" in page and "nikos@example.gr" in page
    assert "+30 691 234 5678" in page and "10:00" in page
    assert {"el": "Πιστοποιητικό οικογενειακής κατάστασης",
            "en": "Certificate of family status"}[lang] in page

    booked = client.post(f"{place.base}/check")
    assert booked.status_code == 302 and booked.location.endswith("/book/confirmation")
    (appointment,) = appointments(app)
    assert appointment.status == AppointmentStatus.confirmed
    assert appointment.language == lang and appointment.phone == "+306912345678"
    assert appointment.needs == {"interpreter": None, "wheelchair": True, "sign_language": False}
    # The hold became the appointment's seat: one claim, no hold left.
    assert claims(app, hold_key=key) == []
    assert len(claims(app, appointment_id=appointment.id)) == 1

    done = client.get("/book/confirmation")
    page = text(done)
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    assert appointment.display_code in page
    assert "ΚΕΠ Αθηνών 1" in page or "KEP Athens 1" in page
    assert {"el": "Αστυνομική ταυτότητα", "en": "Identity card"}[lang] in page
    link = re.search(r'href="(http://localhost/appointments/[^"]+)"',
                     done.get_data(as_text=True))[1]
    code, token = link.rsplit("/", 2)[-2:]
    assert code == appointment.code
    with app.app_context():
        assert ops.find_by_token(code, token).id == appointment.id
    assert f"/appointments/{appointment.code}.ics" in done.get_data(as_text=True)
    # The journey's answers are gone from the session; a new booking starts afresh.
    with client.session_transaction() as session:
        assert "booking" not in session
    assert client.get(f"{place.base}/check").status_code == 302


def test_confirmation_is_shown_only_to_the_browser_that_booked(app, client, place):
    book_through_pages(app, client, place, next_weekday(3), 9)
    assert client.get("/book/confirmation").status_code == 200
    other = app.test_client()
    response = other.get("/book/confirmation")
    assert response.status_code == 302 and response.location.endswith("/book")


def test_confirmation_of_a_double_opt_in_office_asks_to_open_the_mail(app, client):
    place = make_place(app, confirm_by_email=True)
    book_through_pages(app, client, place, next_weekday(3), 9)
    (appointment,) = appointments(app)
    assert appointment.status == AppointmentStatus.pending
    page = text(client.get("/book/confirmation?lang=en"))
    assert "Check your e-mail to confirm" in page
    assert re.search(r"within (29|30) minutes", page)


def book_through_pages(app, client, place, day, hour, minute=0, **details):
    start = iso(app, place, day, hour, minute)
    response = client.post(f"{place.base}/time?day={day.isoformat()}", data={"start": start})
    assert response.status_code == 302, text(response)
    response = client.post(f"{place.base}/details", data={**DETAILS, **details})
    assert response.status_code == 302, text(response)
    return client.post(f"{place.base}/check")


# -- service and office steps ----------------------------------------------------------------

def test_several_offices_ask_which_one(app, client):
    place = make_place(app, offices=2)
    response = client.get(f"/book?service={place.service}")
    assert response.location.endswith(f"/book/{place.service}/office")
    page = client.get(f"/book/{place.service}/office?lang=en")
    assert "KEP Athens 1" in text(page) and "KEP Athens 2" in text(page)
    assert 'name="office" value="ATH2"' in page.get_data(as_text=True)
    chosen = client.get(f"/book/{place.service}/office?office=ATH2")
    assert chosen.location.endswith(f"/book/{place.service}/ATH2/day")
    wrong = client.get(f"/book/{place.service}/office?office=NOPE&lang=en")
    assert wrong.status_code == 422 and "Choose the office" in text(wrong)


def test_the_services_step_lists_only_what_can_be_booked_online(app, client, place):
    with app.app_context():
        office = create_office(code="THE1")
        create_service(code="walk-in-only", offices=[office], bookable_online=False,
                       name={"el": "Μόνο στο γκισέ", "en": "Counter only"})
        db.session.commit()
    page = text(client.get("/book?lang=en"))
    assert "Certificate of family status" in page and "Counter only" not in page
    refused = client.get("/book?service=walk-in-only&lang=en")
    assert refused.status_code == 404 and "cannot be booked online" in text(refused)
    service_page = client.get("/services/walk-in-only").get_data(as_text=True)
    assert "/book?service=" not in service_page


def test_a_service_at_an_office_without_public_seats_offers_no_booking(app, client):
    with app.app_context():
        office = create_office(code="WALK", holiday_country=None)
        add_rule(office, start_time=time(9), end_time=time(12), seats={"staff": 2})
        create_service(code="staff-only", offices=[office])
        db.session.commit()
    assert "/book?service=" not in client.get("/services/staff-only").get_data(as_text=True)
    assert client.get("/book?service=staff-only").status_code == 404
    assert client.get("/book/staff-only/WALK/day").status_code == 404


# -- holds -----------------------------------------------------------------------------------

def test_a_hold_is_reused_and_a_second_hold_replaces_the_first(app, client, place):
    day = next_weekday(2)
    url = f"{place.base}/time?day={day.isoformat()}"
    client.post(url, data={"start": iso(app, place, day, 9)})
    key = hold_key(client)
    assert [c.start_dt for c in claims(app, hold_key=key)] == [local(app, place, day, 9)]
    # The same time again: still one hold, same key.
    client.post(url, data={"start": iso(app, place, day, 9)})
    assert hold_key(client) == key and len(claims(app, hold_key=key)) == 1
    # Another time: the first is released.
    client.post(url, data={"start": iso(app, place, day, 11)})
    assert hold_key(client) == key
    assert [c.start_dt for c in claims(app, hold_key=key)] == [local(app, place, day, 11)]
    assert len(claims(app)) == 1
    # The held seat counts as taken for others.
    eleven = local(app, place, day, 11)
    with app.app_context():
        office = availability.load_office(place.office_id)
        service = db.session.get(Service, place.service_id)
        (slot,) = [s for s in availability.free_slots(office, service, day, day)
                   if s.start == eleven]
        assert slot.free == 2


def test_changing_the_time_keeps_the_details_and_returns_to_the_check(app, client, place):
    day = next_weekday(2)
    book_url = f"{place.base}/time?day={day.isoformat()}"
    client.post(book_url, data={"start": iso(app, place, day, 9)})
    client.post(f"{place.base}/details", data=DETAILS)
    moved = client.post(book_url, data={"start": iso(app, place, day, 9, 30)})
    assert moved.location.endswith(f"{place.base}/check")
    page = text(client.get(f"{place.base}/check"))
    assert "09:30" in page and "Νίκος Γεωργίου" in page


def test_just_taken_shows_the_nearest_free_times(app, client, place):
    day = next_weekday(2)
    nine = local(app, place, day, 9)
    fill(app, place, nine, seats=3)
    response = client.post(f"{place.base}/time?day={day.isoformat()}&lang=en",
                           data={"start": iso(app, place, day, 9)})
    assert response.status_code == 409
    page = text(response)
    assert "This time was just taken" in page and "nearest free times" in page
    html = response.get_data(as_text=True)
    assert f'value="{iso(app, place, day, 9, 15)}"' in html
    assert f'value="{iso(app, place, day, 9)}"' not in html
    assert claims(app, appointment_id=None) == []  # nothing held for this browser
    # Choosing an alternative holds it.
    chosen = client.post(f"{place.base}/time?day={day.isoformat()}",
                         data={"start": iso(app, place, day, 9, 15)})
    assert chosen.status_code == 302
    assert [c.start_dt for c in claims(app, hold_key=hold_key(client))] == [
        local(app, place, day, 9, 15)]


def test_a_time_taken_between_check_and_book_shows_the_alternatives(app, client, place):
    day = next_weekday(2)
    client.post(f"{place.base}/time?day={day.isoformat()}", data={"start": iso(app, place, day, 9)})
    client.post(f"{place.base}/details", data=DETAILS)
    with app.app_context():  # the hold expires and others take every seat
        db.session.execute(SeatClaim.__table__.delete())
        db.session.commit()
    fill(app, place, local(app, place, day, 9), seats=3)
    response = client.post(f"{place.base}/check?lang=en")
    assert response.status_code == 409 and "This time was just taken" in text(response)
    assert len(appointments(app)) == 3  # only the three others


def test_an_expired_hold_still_books_a_free_time(app, client, place):
    day = next_weekday(2)
    client.post(f"{place.base}/time?day={day.isoformat()}", data={"start": iso(app, place, day, 9)})
    client.post(f"{place.base}/details", data=DETAILS)
    with app.app_context():
        db.session.execute(SeatClaim.__table__.update().values(
            expires_dt=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    page = text(client.get(f"{place.base}/check?lang=en"))
    assert "We no longer keep" in page
    assert client.post(f"{place.base}/check").status_code == 302
    assert len(appointments(app)) == 1


_others = itertools.count()


def fill(app, place, start, seats):
    with app.app_context():
        def work():
            office = availability.load_office(place.office_id)
            service = db.session.get(Service, place.service_id)
            for _ in range(seats):
                n = next(_others)
                ops.book(office, service, start, {
                    "name": f"Άλλος {n}", "email": f"other{n}@example.gr", "phone": None,
                    "language": "el", "identifiers": {}, "needs": {}},
                    citizen_keys=[f"email:other{n}@example.gr"])
        uow.run(work)
        db.session.remove()


# -- details ---------------------------------------------------------------------------------

def test_required_fields_are_asked_and_enforced(app, client):
    place = make_place(app, required=["amka"])
    day = next_weekday(2)
    client.post(f"{place.base}/time?day={day.isoformat()}", data={"start": iso(app, place, day, 9)})
    form = client.get(f"{place.base}/details?lang=en")
    html = form.get_data(as_text=True)
    assert 'name="amka"' in html and 'name="afm"' not in html
    response = client.post(f"{place.base}/details?lang=en",
                           data={"name": "", "email": "", "phone": "", "amka": "12345678901"})
    page = text(response)
    assert response.status_code == 422
    assert "There is a problem" in page
    assert "Enter your full name." in page
    assert "Enter an e-mail address or a phone number" in page
    assert "This AMKA is not valid" in page
    assert 'href="#amka"' in response.get_data(as_text=True)
    # Nothing went on: the check page sends back to the details.
    assert client.get(f"{place.base}/check").location.endswith(f"{place.base}/details")
    assert appointments(app) == []
    ok = client.post(f"{place.base}/details", data={**DETAILS, "amka": "01017000017"})
    assert ok.status_code == 302, text(ok)
    assert "01017000017" in text(client.get(f"{place.base}/check"))


def test_needs_and_language_are_kept(app, client, place):
    day = next_weekday(2)
    client.post(f"{place.base}/time?day={day.isoformat()}", data={"start": iso(app, place, day, 9)})
    client.post(f"{place.base}/details", data={
        "name": "Amina Haddad", "email": "amina@example.org", "language": "en",
        "interpreter": "ar", "sign_language": "y"})
    page = text(client.get(f"{place.base}/check?lang=en"))
    assert "An interpreter for Arabic" in page and "Greek Sign Language" in page
    assert "English" in page
    # The change link opens the form with the answers given.
    html = client.get(f"{place.base}/details").get_data(as_text=True)
    assert 'value="Amina Haddad"' in html and '<option selected value="ar">' in html
    client.post(f"{place.base}/check")
    (appointment,) = appointments(app)
    assert appointment.needs == {"interpreter": "ar", "wheelchair": False, "sign_language": True}
    assert appointment.language == "en"


def test_the_cap_per_citizen_is_a_clear_error(app, client, place):
    book_through_pages(app, client, place, next_weekday(2), 9)
    second = app.test_client()
    response = book_through_pages(app, second, place, next_weekday(3), 10)
    assert response.status_code == 409
    assert "μέγιστο αριθμό ραντεβού" in text(response)
    assert len(appointments(app)) == 1


# -- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/book?service=nope",
    "/book?service=" + "x" * 5000,
    "/book?service=%3Cscript%3E",
    "/book/nope/office",
    "/book/family-status/NOPE/day",
    "/book/family-status/ATH1/day?month=2026-13",
    "/book/family-status/ATH1/day?month=abc",
    "/book/family-status/ATH1/time?day=2026-02-30",
    "/book/family-status/ATH1/time?day=tomorrow",
    "/book/nope/ATH1/details",
    "/book/family-status/" + "A" * 300 + "/check",
])
def test_unknown_things_are_404(client, place, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "<script>" not in response.get_data(as_text=True)


def test_a_service_not_offered_at_the_office_is_404(app, client, place):
    with app.app_context():
        create_office(code="OTHER")
        db.session.commit()
    response = client.get("/book/family-status/OTHER/day?lang=en")
    assert response.status_code == 404 and "cannot be booked online at this office" in text(
        response)


def test_a_day_outside_the_window_is_a_clear_error(app, client, place):
    past = utcnow().date() - timedelta(days=3)
    response = client.get(f"{place.base}/time?day={past.isoformat()}&lang=en")
    assert response.status_code == 422 and "can be booked from" in text(response)
    far = utcnow().date() + timedelta(days=400)
    assert client.get(f"{place.base}/time?day={far.isoformat()}").status_code == 422
    # A month outside the window goes back to the first one.
    assert client.get(f"{place.base}/day?month=2001-01").status_code == 302
    assert client.get(f"{place.base}/day?month=9999-12").status_code == 302


@pytest.mark.parametrize("start", [
    "", "not-a-time", "2026-12-08T10:00:00",  # no offset
    "x" * 5000,
])
def test_hostile_times_are_refused(app, client, place, start):
    day = next_weekday(2)
    response = client.post(f"{place.base}/time?day={day.isoformat()}&lang=en",
                           data={"start": start})
    assert response.status_code == 422 and "Choose a time." in text(response)
    assert claims(app) == []


def test_times_off_the_grid_or_past_are_refused(app, client, place):
    day = next_weekday(2)
    url = f"{place.base}/time?day={day.isoformat()}&lang=en"
    off_grid = client.post(url, data={"start": iso(app, place, day, 9, 7)})
    assert off_grid.status_code == 422
    assert "does not take appointments for this service at this time" in text(off_grid)
    closed = client.post(url, data={"start": iso(app, place, day, 18)})
    assert closed.status_code == 422
    past_day = utcnow().date() - timedelta(days=7)
    past = client.post(url, data={"start": iso(app, place, past_day, 9)})
    assert past.status_code == 422 and "has passed" in text(past)
    assert claims(app) == []


def test_a_5000_character_name_is_refused_and_nothing_written(app, client, place):
    day = next_weekday(2)
    client.post(f"{place.base}/time?day={day.isoformat()}", data={"start": iso(app, place, day, 9)})
    response = client.post(f"{place.base}/details?lang=en", data={**DETAILS, "name": "Ν" * 5000})
    assert response.status_code == 422 and "at most 120 characters" in text(response)
    assert "Ν" * 121 not in response.get_data(as_text=True)
    assert client.get(f"{place.base}/check").status_code == 302
    assert appointments(app) == []


def test_steps_without_a_chosen_time_go_back_to_the_calendar(client, place):
    for step in ("details", "check"):
        response = client.post(f"{place.base}/{step}", data=DETAILS)
        assert response.status_code == 302 and response.location.endswith(f"{place.base}/day")
    assert client.get(f"{place.base}/time").location.endswith(f"{place.base}/day")


def test_a_forged_session_for_another_office_is_not_trusted(app, client):
    place = make_place(app, offices=2)
    day = next_weekday(2)
    client.post(f"{place.base}/time?day={day.isoformat()}", data={"start": iso(app, place, day, 9)})
    client.post(f"{place.base}/details", data=DETAILS)
    # The session's choices belong to ATH1: ATH2's check page does not use them.
    other = f"/book/{place.service}/ATH2/check"
    assert client.post(other).location.endswith(f"/book/{place.service}/ATH2/day")
    assert appointments(app) == []


# -- the month page --------------------------------------------------------------------------

def count_statements(app, client, path) -> int:
    statements = []
    with app.app_context():
        engine = db.engine

    def record(*args):
        statements.append(args[2])
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(statements)


def test_the_month_page_runs_a_fixed_number_of_queries(app, client, place):
    day = next_weekday(2)
    path = f"{place.base}/day?month={day:%Y-%m}"
    client.get(path)  # the session and the language settle
    before = count_statements(app, client, path)
    fill(app, place, local(app, place, day, 9), seats=3)
    with app.app_context():
        office = db.session.get(Office, place.office_id)
        for hour in (13, 14, 15):
            add_rule(office, weekdays=[6], start_time=time(hour), end_time=time(hour, 45),
                     seats={"public": 2})
        db.session.commit()
    after = count_statements(app, client, path)
    assert after == before
    assert before <= 12


def test_the_month_marks_full_and_closed_days_as_text(app, client, place):
    day = next_weekday(2)
    with app.app_context():
        office = availability.load_office(place.office_id)
        service = db.session.get(Service, place.service_id)
        slots = availability.free_slots(office, service, day, day)
    for slot in slots:
        fill(app, place, slot.start, seats=3)
    html = client.get(f"{place.base}/day?month={day:%Y-%m}").get_data(as_text=True)
    assert f'value="{day.isoformat()}"' not in html
    assert f'value="{(day + timedelta(days=1)).isoformat()}"' in html
    saturday = day + timedelta(days=4)
    if saturday.month == day.month:
        assert f'value="{saturday.isoformat()}"' not in html


def test_month_links_stay_inside_the_window(app, client):
    place = make_place(app, max_days_ahead=20)
    html = client.get(f"{place.base}/day").get_data(as_text=True)
    first = utcnow().date()
    last = first + timedelta(days=20)
    if first.month == last.month:
        assert "?month=" not in html
    else:
        assert f"?month={last:%Y-%m}" in html or f"?month={first:%Y-%m}" in html


def test_privacy_notice(client):
    response = client.get("/privacy?lang=en")
    assert response.status_code == 200
    page = text(response)
    assert "data controller" in page and "For how long" in page


def test_confirmation_without_a_booking_goes_to_the_start(client, place):
    response = client.get("/book/confirmation")
    assert response.status_code == 302 and response.location.endswith("/book")


def test_rendered_in_greek_with_greek_dates(app, client, place):
    day = next_weekday(2)
    page = text(client.get(f"{place.base}/time?day={day.isoformat()}&lang=el"))
    assert "Τρίτη" in page
    month = text(client.get(f"{place.base}/day?month={day:%Y-%m}&lang=el"))
    assert any(name in month for name in (
        "Ιανουάριος", "Φεβρουάριος", "Μάρτιος", "Απρίλιος", "Μάιος", "Ιούνιος", "Ιούλιος",
        "Αύγουστος", "Σεπτέμβριος", "Οκτώβριος", "Νοέμβριος", "Δεκέμβριος"))
    assert "Πιστοποιητικό οικογενειακής κατάστασης" in month


# -- abuse: proof of work and the rate limit -------------------------------------------------

def solve(app) -> str:
    """What ALTCHA's widget posts for a fresh challenge of ours."""
    import altcha

    from citizen_desk.core import challenge
    with app.app_context():
        parsed = altcha.Challenge.from_dict(challenge.new_challenge())
    solution = altcha.solve_challenge(parsed, timeout=30)
    return altcha.Payload(parsed, solution).to_base64()


def test_an_office_with_proof_of_work_asks_for_it_on_the_final_submit(app, client):
    place = make_place(app, proof_of_work=True)
    day = next_weekday(2)
    client.post(f"{place.base}/time?day={day.isoformat()}", data={"start": iso(app, place, day, 9)})
    client.post(f"{place.base}/details", data=DETAILS)
    assert "<altcha-widget" in client.get(f"{place.base}/check").get_data(as_text=True)
    refused = client.post(f"{place.base}/check?lang=en")
    assert refused.status_code == 422
    assert "not a robot" in text(refused) and 'href="#altcha"' in refused.get_data(as_text=True)
    assert appointments(app) == []
    booked = client.post(f"{place.base}/check", data={"altcha": solve(app)})
    assert booked.status_code == 302 and len(appointments(app)) == 1


def test_offices_without_proof_of_work_show_no_widget(client, place):
    day = next_weekday(2)
    client.post(f"{place.base}/time?day={day.isoformat()}", data={"start": "x"})
    assert "altcha" not in client.get(f"{place.base}/day").get_data(as_text=True)


def test_the_journey_counts_against_the_booking_rate_limit(app, make_app, place, monkeypatch):
    monkeypatch.delenv("RATELIMIT_ENABLED", raising=False)
    limited = make_app(BOOKING_RATE_LIMIT="3 per minute", WTF_CSRF_ENABLED=False)
    client = limited.test_client()
    day = next_weekday(2)
    statuses = [
        client.get(f"{place.base}/day").status_code,
        client.get(f"{place.base}/time?day={day.isoformat()}").status_code,
        client.post(f"{place.base}/time?day={day.isoformat()}",
                    data={"start": iso(app, place, day, 9)}).status_code,
    ]
    assert statuses == [200, 200, 302]
    refused = client.post(f"{place.base}/details?lang=en", data=DETAILS)
    assert refused.status_code == 429 and "too many requests" in text(refused)
    assert client.get("/privacy").status_code == 200  # not a booking step


def test_the_manage_link_is_under_public_url_whatever_the_host_header(app, make_app, place):
    public = make_app(PUBLIC_URL="https://desk.example.gr", WTF_CSRF_ENABLED=False,
                      RATELIMIT_ENABLED=False)
    client = public.test_client()
    headers = {"Host": "evil.example.com"}
    day = next_weekday(2)
    client.post(f"{place.base}/time?day={day.isoformat()}",
                data={"start": iso(app, place, day, 9)}, headers=headers)
    client.post(f"{place.base}/details", data=DETAILS, headers=headers)
    assert client.post(f"{place.base}/check", headers=headers).status_code == 302
    html = client.get("/book/confirmation", headers=headers).get_data(as_text=True)
    assert 'href="https://desk.example.gr/appointments/' in html
    assert "evil.example.com" not in html


def test_english_chosen_on_the_first_link_stays_after_its_redirect(client, place):
    response = client.get("/book?service=family-status&lang=en")
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert 'lang="en"' in page.get_data(as_text=True)
    assert "Which day suits you?" in text(page)
