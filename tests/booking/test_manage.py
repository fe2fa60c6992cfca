"""The manage link's pages: the same 404 for every wrong link, the appointment, cancelling,
rescheduling (atomic), the .ics, the double opt-in confirmation, and bad input."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from citizen_desk.booking import availability, operations as ops
from citizen_desk.booking.models import Appointment, AppointmentStatus, SeatClaim
from citizen_desk.catalog.models import Service
from citizen_desk.core.db import utcnow
from citizen_desk.core.outbox import OutboxMail
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from tests.booking.conftest import at, next_weekday
from tests.booking.helpers import book, create_place, load


@pytest.fixture
def place(app):
    return create_place(app)


@pytest.fixture
def link(app, place):
    return book(app, place, next_weekday(2), 10)


@pytest.fixture
def client(app):
    """A visitor reading in English (the Greek of new messages comes with the catalogs)."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def opened(client, link):
    """A client that opened the manage link (the session keeps it)."""
    response = client.get(link.url)
    assert response.status_code == 303
    return response


def text(response) -> str:
    return response.get_data(as_text=True)


def mails(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(OutboxMail.id)))


def seat_rows(app, link) -> list:
    with app.app_context():
        return sorted(db.session.execute(select(SeatClaim.start_dt, SeatClaim.seat_no).where(
            SeatClaim.appointment_id == link.id)).all())


# -- the link --------------------------------------------------------------------------------

def test_the_link_moves_the_token_into_the_session_and_shows_the_appointment(client, link):
    response = opened(client, link)
    display = f"{link.code[:3]}-{link.code[3:]}"
    assert response.headers["Location"] == f"/appointments/{display}"
    assert response.headers["Cache-Control"] == "no-store"
    page = client.get(response.headers["Location"] + "?lang=en")
    html = text(page)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert link.token not in html  # not in the switcher's links, nor anywhere else
    for words in (display, "Certificate of family status", "Athinas St", "10:00", "10:15",
                  "Identity card", "Booked", "Change the date or time",
                  "Cancel the appointment"):
        assert words in html, words
    greek = text(client.get(response.headers["Location"] + "?lang=el"))
    assert "Πιστοποιητικό οικογενειακής κατάστασης" in greek and "Οδός Αθηνάς" in greek
    assert "Αστυνομική ταυτότητα" in greek
    assert "/reschedule" in html and "/cancel" in html and ".ics" in html


def test_every_wrong_link_gets_the_same_404(app, client, place, link):
    other = book(app, place, next_weekday(2), 10, email="other@example.gr")
    forged = link.token[:-2] + ("AA" if not link.token.endswith("AA") else "BB")
    wrong = [f"/appointments/{link.code}/{forged}",                 # a forged token
             f"/appointments/{other.code}/{link.token}",            # another booking's code
             f"/appointments/ZZZZZZ/{link.token}",                  # an unknown code
             f"/appointments/{link.code}/short",                    # not even a token
             f"/appointments/{link.code}",                          # no link opened
             f"/appointments/{link.code}.ics",
             f"/appointments/{link.code}.ics?token={forged}",
             f"/appointments/{link.code}/cancel",
             f"/appointments/{link.code}/reschedule",
             f"/appointments/{other.code}/{link.token}/confirm"]
    pages = set()
    for url in wrong:
        response = client.get(url)
        assert response.status_code == 404, url
        # The same page (its language switcher links to its own address).
        pages.add(re.search(r"<main.*</main>", text(response), re.S)[0])
    assert len(pages) == 1
    # Holding one link opens nothing else.
    opened(client, link)
    assert client.get(f"/appointments/{other.code}").status_code == 404
    assert client.post(f"/appointments/{other.code}/cancel").status_code == 404
    assert load(app, other).status == AppointmentStatus.confirmed


def test_display_code_and_code_both_work(client, link):
    opened(client, link)
    assert client.get(f"/appointments/{link.code.lower()}").status_code == 200
    assert client.get(f"/appointments/{link.code[:3]}-{link.code[3:]}").status_code == 200


def test_ics_download_from_the_page_and_with_the_token(client, link):
    response = client.get(f"/appointments/{link.code}.ics?token={link.token}")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    body = text(response)
    assert "BEGIN:VEVENT" in body and "METHOD:REQUEST" in body
    opened(client, link)
    assert client.get(f"/appointments/{link.code}.ics").status_code == 200


# -- cancel ----------------------------------------------------------------------------------

def test_cancel_asks_first_then_cancels_with_the_reason(app, client, link):
    opened(client, link)
    page = client.get(f"/appointments/{link.code}/cancel?lang=en")
    assert page.status_code == 200 and "Cancel your appointment?" in text(page)
    assert load(app, link).status == AppointmentStatus.confirmed  # asking changes nothing
    response = client.post(f"/appointments/{link.code}/cancel",
                           data={"reason": "Δεν μπορώ να έρθω"})
    assert response.status_code == 303
    cancelled = load(app, link)
    assert cancelled.status == AppointmentStatus.cancelled
    assert cancelled.cancel_reason == "Δεν μπορώ να έρθω"
    html = text(client.get(response.headers["Location"]))
    assert "Your appointment has been cancelled." in html
    assert "This appointment has been cancelled" in html
    assert "Δεν μπορώ να έρθω" in html
    # No actions on a cancelled appointment; a way to book again.
    assert "/reschedule" not in html and f"/appointments/{link.code}/cancel" not in html
    assert "Book a new appointment" in html


def test_cancelling_twice_is_refused_and_changes_nothing(app, client, link):
    opened(client, link)
    client.post(f"/appointments/{link.code}/cancel")
    before = load(app, link)
    sent = mails(app)
    again = client.post(f"/appointments/{link.code}/cancel")
    assert again.status_code == 409
    assert "This appointment can no longer be changed." in text(again)
    after = load(app, link)
    assert (after.status, after.sequence, after.cancelled_dt) == (
        before.status, before.sequence, before.cancelled_dt)
    assert mails(app) == sent


def test_a_too_long_reason_is_a_form_error(app, client, link):
    opened(client, link)
    response = client.post(f"/appointments/{link.code}/cancel",
                           data={"reason": "x" * 501})
    assert response.status_code == 422
    assert "govgr-error-summary" in text(response) and "500" in text(response)
    assert load(app, link).status == AppointmentStatus.confirmed


def test_a_past_appointment_shows_its_state_and_no_actions(app, client, link):
    with app.app_context():
        past = utcnow() - timedelta(days=1)
        db.session.execute(update(Appointment).where(Appointment.id == link.id).values(
            start_dt=past, end_dt=past + timedelta(minutes=15)))
        db.session.commit()
    opened(client, link)
    html = text(client.get(f"/appointments/{link.code}"))
    assert "This appointment has passed" in html
    assert "/reschedule" not in html and "/cancel" not in html
    assert client.get(f"/appointments/{link.code}/reschedule").status_code == 409
    assert client.post(f"/appointments/{link.code}/cancel").status_code == 409
    assert load(app, link).status == AppointmentStatus.confirmed


# -- reschedule ------------------------------------------------------------------------------

def test_reschedule_shows_the_month_then_the_times_then_moves(app, client, place, link):
    opened(client, link)
    day = next_weekday(3)
    month = client.get(f"/appointments/{link.code}/reschedule?month={day:%Y-%m}")
    assert month.status_code == 200
    assert f'name="day" value="{day.isoformat()}"' in text(month)
    times = client.get(f"/appointments/{link.code}/reschedule?day={day.isoformat()}")
    assert times.status_code == 200
    values = re.findall(r'name="start" value="([^"]+)"', text(times))
    assert len(values) == 12  # 09:00 … 11:45
    old_seats = seat_rows(app, link)
    response = client.post(f"/appointments/{link.code}/reschedule?day={day.isoformat()}",
                           data={"start": values[4]})  # 10:00
    assert response.status_code == 303
    moved = load(app, link)
    assert moved.local_start.date() == day and moved.local_start.hour == 10
    assert moved.sequence == 1
    assert seat_rows(app, link) != old_seats
    assert "Your appointment has been moved to" in text(client.get(response.headers["Location"]))


def test_the_current_time_is_not_offered(client, link):
    opened(client, link)
    day = next_weekday(2)
    html = text(client.get(f"/appointments/{link.code}/reschedule?day={day.isoformat()}"))
    assert len(re.findall(r'name="start" value=', html)) == 11


def test_a_full_time_is_just_taken_and_the_old_booking_stays(app, client, place, link):
    day = next_weekday(3)
    opened(client, link)
    times = text(client.get(f"/appointments/{link.code}/reschedule?day={day.isoformat()}"))
    nine = re.findall(r'name="start" value="([^"]+)"', times)[0]
    for n in range(3):  # someone takes every seat of 09:00 meanwhile
        book(app, place, day, 9, email=f"p{n}@example.gr")
    before = load(app, link)
    seats = seat_rows(app, link)
    sent = mails(app)
    response = client.post(f"/appointments/{link.code}/reschedule?day={day.isoformat()}",
                           data={"start": nine})
    assert response.status_code == 409
    html = text(response)
    assert "This time was just taken" in html
    assert "09:15" in html  # the nearest free times, to choose from
    after = load(app, link)
    assert (after.start_dt, after.sequence, after.seat_no) == (
        before.start_dt, before.sequence, before.seat_no)
    assert seat_rows(app, link) == seats
    assert mails(app) == sent


@pytest.mark.parametrize("case", ["past", "off_grid", "closed_day", "garbage", "same"])
def test_bad_new_times_are_refused_and_change_nothing(app, client, place, link, case):
    with app.app_context():
        office = db.session.get(Office, place.office_id)
        start = {"past": lambda: utcnow() - timedelta(hours=2),
                 "off_grid": lambda: at(office, next_weekday(3), 10, 7),
                 "closed_day": lambda: at(office, next_weekday(6), 10),
                 "garbage": lambda: None,
                 "same": lambda: at(office, next_weekday(2), 10)}[case]()
    value = start.isoformat() if start else "tomorrow at ten"
    opened(client, link)
    before = load(app, link)
    response = client.post(f"/appointments/{link.code}/reschedule",
                           data={"start": value})
    assert response.status_code == 422
    assert "govgr-error-summary" in text(response)
    after = load(app, link)
    assert (after.start_dt, after.sequence) == (before.start_dt, before.sequence)


def test_a_hold_of_someone_else_is_not_used(app, client, place, link):
    """Posting another visitor's hold changes nothing of theirs; the move takes a free seat."""
    day = next_weekday(3)
    with app.app_context():
        office = availability.load_office(place.office_id)
        service = db.session.get(Service, place.service_id)
        key = ops.new_hold_key()
        ops.hold(office, service, at(office, day, 9), key)
        db.session.commit()
        nine = at(office, day, 9)
    opened(client, link)
    response = client.post(f"/appointments/{link.code}/reschedule?day={day.isoformat()}",
                           data={"start": nine.isoformat(), "hold_key": key})
    assert response.status_code == 303
    with app.app_context():
        held = db.session.scalars(select(SeatClaim).where(SeatClaim.hold_key == key)).all()
        assert len(held) == 1 and held[0].appointment_id is None  # their hold is intact
        mine = db.session.scalars(select(SeatClaim).where(
            SeatClaim.appointment_id == link.id)).all()
        assert [c.seat_no for c in mine] != [held[0].seat_no]


# -- double opt-in ---------------------------------------------------------------------------

@pytest.fixture
def pending(app, place):
    with app.app_context():
        db.session.execute(update(Office).where(Office.id == place.office_id).values(
            confirm_by_email=True))
        db.session.commit()
    return book(app, place, next_weekday(2), 11)


def test_the_confirm_link_shows_a_button_and_the_post_confirms(app, client, pending):
    url = f"/appointments/{pending.code}/{pending.token}/confirm"
    page = client.get(url)
    assert page.status_code == 200 and "Confirm the appointment" in text(page)
    assert load(app, pending).status == AppointmentStatus.pending  # a GET confirms nothing
    response = client.post(url)
    assert response.status_code == 303
    assert load(app, pending).status == AppointmentStatus.confirmed
    assert "Your appointment is confirmed." in text(client.get(response.headers["Location"]))
    # The link opened again goes to the appointment's page.
    assert client.get(url).status_code == 303


def test_the_manage_page_of_a_pending_booking_can_confirm(app, client, pending):
    opened(client, pending)
    html = text(client.get(f"/appointments/{pending.code}"))
    assert "Confirm your appointment" in html
    action = re.search(r'action="([^"]+/confirm)"', html)[1]
    assert client.post(action).status_code == 303
    assert load(app, pending).status == AppointmentStatus.confirmed


def test_an_expired_confirm_link_says_book_again(app, client, place, pending):
    with app.app_context():
        db.session.execute(update(Appointment).where(Appointment.id == pending.id).values(
            confirm_by_dt=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    url = f"/appointments/{pending.code}/{pending.token}/confirm"
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 410
        html = text(response)
        assert "This booking was not confirmed in time" in html
        assert f"/services/{place.service_code}" in html
    # Not confirmed; its seat is free since the deadline, ``notify expire`` marks it expired.
    assert load(app, pending).status == AppointmentStatus.pending
    opened(client, pending)
    html = text(client.get(f"/appointments/{pending.code}"))
    assert "This booking was not confirmed in time" in html and "/reschedule" not in html


@pytest.mark.parametrize("value", ["\x00", "99999999999999999999", "-1", "9999-12-31",
                                   "0001-01-01", "2026-02-30", "2026-13", "²", "Ω" * 300,
                                   "2026-12-08T09:00:00", "2026-12-08T09:00:00+99:00"])
def test_hostile_values_reach_the_holder_s_pages_without_a_5xx(app, client, link, value):
    opened(client, link)
    before = load(app, link)
    for response in (
            client.get(f"/appointments/{link.code}/reschedule", query_string={"month": value}),
            client.get(f"/appointments/{link.code}/reschedule", query_string={"day": value}),
            client.post(f"/appointments/{link.code}/reschedule", query_string={"day": value},
                        data={"start": value}),
            client.get(f"/appointments/{link.code}.ics", query_string={"token": value})):
        assert response.status_code < 500, (response.request.url, response.status_code)
    after = load(app, link)
    assert (after.status, after.start_dt, after.sequence) == (
        before.status, before.start_dt, before.sequence)


def test_guessing_links_is_rate_limited(make_app, monkeypatch, place, link):
    """The look-ups that take a token share the address's look-up budget; the holder's own
    pages (the session's) do not spend it."""
    monkeypatch.delenv("RATELIMIT_ENABLED", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    limited = make_app(LOOKUP_RATE_LIMIT="3 per minute", WTF_CSRF_ENABLED=False)
    client = limited.test_client()
    assert client.get(link.url).status_code == 303
    for _ in range(5):
        assert client.get(f"/appointments/{link.code}").status_code == 200
    assert client.get(f"/appointments/{link.code}/WRONGWRONGWRONGWRONGWRONG").status_code == 404
    assert client.get(f"/appointments/{link.code}.ics?token=x").status_code == 404
    refused = client.get(link.url)  # even the right link, once the budget is spent
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert client.get(f"/appointments/{link.code}/{link.token}/confirm").status_code == 429
