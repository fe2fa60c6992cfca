"""The booking's mails, delivered through a real SMTP server on loopback: each in the booking's
language, HTML and text with the .ics attached, sent after the commit and never for a booking
that rolled back; reminders once each, however often and however concurrently they run."""
from __future__ import annotations

import re
import threading
from datetime import datetime, time, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select, update

from citizen_desk.booking import availability, notices, operations as ops
from citizen_desk.booking.models import Appointment, AppointmentToken, Channel
from citizen_desk.catalog.models import Service
from citizen_desk.core import uow
from citizen_desk.core.db import utcnow
from citizen_desk.core.outbox import OutboxMail
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.staff.models import Role
from tests.booking.conftest import at, next_weekday
from tests.booking.helpers import DETAILS, book, create_place, load
from tests.core.test_outbox import mail_config, smtp_server  # noqa: F401  (the fixture)
from tests.factories import create_user

GREEK_MONTHS = ("Ιανουαρίου", "Φεβρουαρίου", "Μαρτίου", "Απριλίου", "Μαΐου", "Ιουνίου",
                "Ιουλίου", "Αυγούστου", "Σεπτεμβρίου", "Οκτωβρίου", "Νοεμβρίου", "Δεκεμβρίου")


@pytest.fixture
def mailing(app, smtp_server):  # noqa: F811
    app.config.update(mail_config(smtp_server.port), PUBLIC_URL="https://desk.example.gr")
    return smtp_server


@pytest.fixture
def place(app, mailing):
    return create_place(app)


def parts(message):
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    [attachment] = list(message.iter_attachments())
    return text, html, attachment


def calendar_of(attachment) -> Calendar:
    return Calendar.from_ical(attachment.get_content())


def path_of(url: str) -> str:
    assert url.startswith("https://desk.example.gr/"), url
    return url[len("https://desk.example.gr"):]


def outbox_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(OutboxMail.id)))


# -- the booking's mail ----------------------------------------------------------------------

def test_confirmation_mail_in_greek_with_html_text_and_ics(app, client, mailing, place):
    day = next_weekday(2)
    link = book(app, place, day, 10, language="el")
    [(recipients, message)] = mailing.messages
    assert recipients == ["nikos@example.gr"]
    assert "Πιστοποιητικό οικογενειακής κατάστασης" in message["Subject"]
    text, html, attachment = parts(message)
    display = f"{link.code[:3]}-{link.code[3:]}"
    month = GREEK_MONTHS[day.month - 1]
    for body in (text, html):
        assert display in body and month in body and "10:00" in body
        assert "Αστυνομική ταυτότητα" in body and "Οδός Αθηνάς" in body
    assert html.lstrip().startswith("<!doctype html>") and 'lang="el"' in html
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST"
    event = calendar_of(attachment).walk("VEVENT")[0]
    assert "Πιστοποιητικό" in str(event["SUMMARY"])
    assert str(event["LOCATION"]).startswith("Οδός Αθηνάς")
    # The manage link in the mail opens the appointment.
    url = re.search(r"https://\S+/appointments/\S+", text)[0]
    assert path_of(url) == link.url
    assert client.get(path_of(url)).status_code == 303
    assert f'href="{url}"' in html


def test_confirmation_mail_in_english(app, mailing, place):
    day = next_weekday(2)
    link = book(app, place, day, 10, language="en")
    [(_, message)] = mailing.messages
    assert message["Subject"] == (
        f"Appointment booked: Certificate of family status, "
        f"{datetime.combine(day, time(10)):%A, %-d %B %Y}, 10:00")
    text, html, attachment = parts(message)
    for body in (text, html):
        assert "Your appointment is booked" in body
        assert "Identity card" in body and "Athinas St" in body
        assert link.code[:3] in body
    assert "Office phone: 210 123 4567" in text
    assert 'lang="en"' in html
    assert "Certificate of family status" in str(calendar_of(attachment).walk("VEVENT")[0]
                                                 ["SUMMARY"])


def test_a_booking_that_rolls_back_sends_nothing(app, mailing, place):
    with app.app_context():
        def work():
            office = availability.load_office(place.office_id)
            service = db.session.get(Service, place.service_id)
            ops.book(office, service, at(office, next_weekday(2), 10), DETAILS)
            # The mail is written, waiting for the commit.
            assert db.session.scalar(select(func.count(OutboxMail.id))) == 1
            raise RuntimeError("something after the booking failed")
        with pytest.raises(RuntimeError):
            uow.run(work)
    assert mailing.messages == []
    assert outbox_count(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count(Appointment.id))) == 0


def test_no_mail_without_an_address(app, mailing, place):
    book(app, place, next_weekday(2), 10, email=None, phone="+306912345678")
    assert mailing.messages == [] and outbox_count(app) == 0


def test_double_opt_in_mail_has_the_confirm_link_and_its_deadline(app, client, mailing, place):
    with app.app_context():
        db.session.execute(update(Office).where(Office.id == place.office_id).values(
            confirm_by_email=True))
        db.session.commit()
    link = book(app, place, next_weekday(2), 11, language="en")
    [(_, message)] = mailing.messages
    assert message["Subject"].startswith("Confirm your appointment:")
    text, html, attachment = parts(message)
    confirm = f"https://desk.example.gr/appointments/{link.code}/{link.token}/confirm"
    assert confirm in text and f'href="{confirm}"' in html
    deadline = load(app, link).confirm_by_dt.astimezone(load(app, link).office.zone)
    assert f"{deadline:%H:%M}" in text
    assert str(calendar_of(attachment).walk("VEVENT")[0]["STATUS"]) == "TENTATIVE"
    # Confirming sends the "confirmed" mail, with a manage link of its own.
    assert client.post(path_of(confirm)).status_code == 303
    assert len(mailing.messages) == 2
    confirmed = mailing.messages[1][1]
    assert confirmed["Subject"].startswith("Appointment confirmed:")
    second = re.search(r"https://\S+/appointments/\S+", parts(confirmed)[0])[0]
    assert path_of(second) != link.url and app.test_client().get(
        path_of(second)).status_code == 303


# -- changes ---------------------------------------------------------------------------------

def test_cancellation_by_the_citizen_carries_method_cancel(app, client, mailing, place):
    link = book(app, place, next_weekday(2), 10, language="en")
    client.get(link.url)
    assert client.post(f"/appointments/{link.code}/cancel").status_code == 303
    assert len(mailing.messages) == 2
    message = mailing.messages[1][1]
    assert message["Subject"].startswith("Appointment cancelled:")
    text, html, attachment = parts(message)
    assert "You cancelled this appointment" in text
    assert "/appointments/" not in text  # nothing left to manage
    assert f"https://desk.example.gr/services/{place.service_code}" in text
    assert attachment.get_param("method") == "CANCEL"
    ics = calendar_of(attachment)
    assert str(ics["METHOD"]) == "CANCEL"
    assert str(ics.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"
    assert ics.walk("VEVENT")[0]["SEQUENCE"] == 1


def test_cancellation_by_the_office_gives_its_reason_in_greek(app, mailing, place):
    link = book(app, place, next_weekday(2), 10, language="el")
    with app.app_context():
        clerk = create_user(role=Role.clerk, office=db.session.get(Office, place.office_id))
        uow.run(lambda: ops.cancel(db.session.get(Appointment, link.id),
                                   reason="Η υπάλληλος απουσιάζει λόγω ασθένειας",
                                   by_staff=clerk))
    message = mailing.messages[1][1]
    text, html, attachment = parts(message)
    assert "Η υπάλληλος απουσιάζει λόγω ασθένειας" in text
    assert "Η υπάλληλος απουσιάζει λόγω ασθένειας" in html
    assert "METHOD:CANCEL" in attachment.get_content()


def test_reschedule_mail_has_the_new_time_and_a_working_link(app, client, mailing, place):
    link = book(app, place, next_weekday(2), 10, language="en")
    day = next_weekday(3)
    client.get(link.url)
    with app.app_context():
        office = db.session.get(Office, place.office_id)
        start = at(office, day, 11, 30).isoformat()
    assert client.post(f"/appointments/{link.code}/reschedule?day={day.isoformat()}",
                       data={"start": start}).status_code == 303
    message = mailing.messages[1][1]
    assert message["Subject"].startswith("Appointment moved:")
    text, html, attachment = parts(message)
    assert "11:30" in text and "has been moved" in text
    # The citizen's own link is in it (no new token was needed).
    assert f"https://desk.example.gr{link.url}" in text
    event = calendar_of(attachment).walk("VEVENT")[0]
    assert event["SEQUENCE"] == 1
    assert event["DTSTART"].dt.hour == 11 and event["DTSTART"].dt.minute == 30


def test_a_staff_reschedule_issues_a_new_link(app, mailing, place):
    link = book(app, place, next_weekday(2), 10)
    with app.app_context():
        clerk = create_user(role=Role.clerk, office=db.session.get(Office, place.office_id))

        def work():
            appointment = db.session.get(Appointment, link.id)
            ops.reschedule(appointment, at(appointment.office, next_weekday(3), 9),
                           by_staff=clerk)
        uow.run(work)
        tokens = db.session.scalar(select(func.count(AppointmentToken.id)).where(
            AppointmentToken.appointment_id == link.id))
    assert tokens == 2
    text = parts(mailing.messages[1][1])[0]
    url = re.search(r"https://\S+/appointments/\S+", text)[0]
    assert path_of(url) != link.url
    assert app.test_client().get(path_of(url)).status_code == 303


# -- reminders -------------------------------------------------------------------------------

def move_to(app, link, start: datetime):
    with app.app_context():
        db.session.execute(update(Appointment).where(Appointment.id == link.id).values(
            start_dt=start, end_dt=start + timedelta(minutes=15)))
        db.session.commit()


def tomorrow_at(app, place, hour: int) -> datetime:
    with app.app_context():
        office = db.session.get(Office, place.office_id)
        return at(office, office.today() + timedelta(days=1), hour)


def test_reminders_run_twice_send_one_mail_each(app, runner, mailing, place):
    first = book(app, place, next_weekday(2), 9, email="a@example.gr", language="el")
    second = book(app, place, next_weekday(2), 9, email="b@example.gr", language="en")
    later = book(app, place, next_weekday(2), 9, email="c@example.gr")
    phone = book(app, place, next_weekday(2), 10, email=None, phone="+306912345678")
    move_to(app, first, tomorrow_at(app, place, 9))
    move_to(app, second, tomorrow_at(app, place, 11))
    move_to(app, phone, tomorrow_at(app, place, 10))
    # The day after tomorrow: 00:30 there is tomorrow in UTC, but not in Athens.
    move_to(app, later, tomorrow_at(app, place, 0) + timedelta(days=1, minutes=30))
    mailing.messages.clear()

    result = runner.invoke(args=["notify", "reminders"])
    assert result.exit_code == 0, result.output
    assert "2 queued, 2 sent" in result.output
    assert sorted(r[0] for r, _ in mailing.messages) == ["a@example.gr", "b@example.gr"]
    again = runner.invoke(args=["notify", "reminders"])
    assert "0 queued" in again.output
    assert len(mailing.messages) == 2
    assert load(app, later).reminder_sent_dt is None

    greek = next(m for r, m in mailing.messages if r == ["a@example.gr"])
    english = next(m for r, m in mailing.messages if r == ["b@example.gr"])
    assert english["Subject"].startswith("Reminder: your appointment tomorrow")
    assert "Αστυνομική ταυτότητα" in parts(greek)[0]
    text, html, attachment = parts(english)
    assert "Your appointment is tomorrow" in text and "If you cannot come" in text
    assert attachment.get_param("method") == "REQUEST"
    # A reminder's link is new (the first one is known only to the citizen) and works.
    url = re.search(r"https://\S+/appointments/\S+", text)[0]
    assert path_of(url) != second.url
    assert app.test_client().get(path_of(url)).status_code == 303


def test_a_concurrent_run_that_read_the_same_appointments_sends_nothing(app, mailing, place,
                                                                       monkeypatch):
    link = book(app, place, next_weekday(2), 9)
    move_to(app, link, tomorrow_at(app, place, 9))
    mailing.messages.clear()
    with app.app_context():
        # The second run read the list before the first committed its claims …
        stale = notices.due_reminders()
        assert [a.id for a in stale] == [link.id]
        db.session.expunge_all()  # kept as read (a rollback would expire them)
        db.session.rollback()
    with app.app_context():
        assert len(uow.run(notices.send_reminders)) == 1
    # … and claims after it: its guarded UPDATE finds the reminder sent and queues nothing.
    monkeypatch.setattr(notices, "due_reminders", lambda now=None: stale)
    with app.app_context():
        assert uow.run(notices.send_reminders) == []
    assert outbox_count(app) == 2  # the booking's mail and one reminder


def test_two_runs_at_once_remind_each_appointment_once(app, mailing, place):
    """Two ``notify reminders`` racing (threads, each its own connection): one mail each."""
    links = [book(app, place, next_weekday(2), 9 + n // 3, 15 * (n % 3),
                  email=f"p{n}@example.gr") for n in range(9)]
    for n, link in enumerate(links):
        move_to(app, link, tomorrow_at(app, place, 9) + timedelta(minutes=15 * n))
    mailing.messages.clear()
    barrier = threading.Barrier(2)
    queued, errors = [], []

    def run():
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                queued.extend(uow.run(notices.send_reminders))
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(queued) == len(set(queued)) == 9
    with app.app_context():
        reminded = db.session.scalar(select(func.count(OutboxMail.id)).where(
            OutboxMail.subject.like("Υπενθύμιση%") | OutboxMail.subject.like("Reminder%")))
    assert reminded == 9


def test_reminders_skip_cancelled_unconfirmed_and_reminded(app, runner, mailing, place):
    links = [book(app, place, next_weekday(2), 9, email=f"p{n}@example.gr") for n in range(3)]
    for link in links:
        move_to(app, link, tomorrow_at(app, place, 10))
    with app.app_context():
        appointment = db.session.get(Appointment, links[0].id)
        uow.run(lambda: ops.cancel(db.session.get(Appointment, links[0].id)))
        db.session.execute(update(Appointment).where(Appointment.id == links[1].id).values(
            status="pending", confirm_by_dt=utcnow() + timedelta(minutes=5)))
        db.session.execute(update(Appointment).where(Appointment.id == links[2].id).values(
            reminder_sent_dt=utcnow()))
        db.session.commit()
        del appointment
    mailing.messages.clear()
    assert "0 queued" in runner.invoke(args=["notify", "reminders"]).output
    assert mailing.messages == []


def test_notify_expire_marks_late_pending_bookings(app, runner, place):
    link = book(app, place, next_weekday(2), 9)
    with app.app_context():
        db.session.execute(update(Appointment).where(Appointment.id == link.id).values(
            status="pending", confirm_by_dt=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    result = runner.invoke(args=["notify", "expire"])
    assert result.exit_code == 0 and "expired: 1" in result.output
    assert load(app, link).status.value == "expired"
    assert "expired: 0" in runner.invoke(args=["notify", "expire"]).output


def test_the_channel_does_not_matter_only_the_address(app, mailing, place):
    with app.app_context():
        def work():
            office = availability.load_office(place.office_id)
            service = db.session.get(Service, place.service_id)
            ops.book(office, service, at(office, next_weekday(2), 9), DETAILS, pool="staff",
                     channel=Channel.phone)
        uow.run(work)
    assert len(mailing.messages) == 1
