"""The staff side of booking: front-desk bookings into the staff (or, by choice, the public)
seats, NGO bookings into the NGO seats, the office's day and week, cancelling with a reason,
attended / no-show, the audit trail, and bad input that changes nothing."""
from __future__ import annotations

import html
import re
from datetime import time, timedelta, timezone

import pytest
from sqlalchemy import func, select

from citizen_desk.booking import availability, operations
from citizen_desk.booking.models import Appointment, AppointmentStatus, Channel
from citizen_desk.booking.staff import texts
from citizen_desk.catalog.models import Service
from citizen_desk.core.audit import AuditEntry
from citizen_desk.core.db import utcnow
from citizen_desk.extensions import db
from citizen_desk.staff.models import Role, StaffUser
from tests.booking.conftest import at, next_weekday
from tests.booking.test_identity import amka
from tests.factories import (add_rule, create_office, create_organisation, create_service,
                             create_user, sign_in_client)

VALID_AMKA = amka("150385")


@pytest.fixture
def desk(app):
    """Two offices open Mon–Fri 09–12 (3 public, 1 staff, 1 NGO seat per 15 minutes), a
    service at both, one needing an AMKA at A; clerks, a manager, NGO workers of X and Y."""
    with app.app_context():
        a = create_office("ATH1", holiday_country=None, min_notice_hours=0, phone="2101234567",
                          name={"el": "ΚΕΠ Αμπελοκήπων", "en": "KEP Ampelokipi"})
        b = create_office("THE1", holiday_country=None, min_notice_hours=0)
        for office in (a, b):
            add_rule(office, start_time=time(9), end_time=time(12),
                     seats={"public": 3, "staff": 1, "ngo": 1})
        service = create_service(code="family", offices=[a, b], duration_minutes=15,
                                 name={"el": "Πιστοποιητικό οικογενειακής κατάστασης",
                                       "en": "Certificate of family status"})
        amka_service = create_service(code="pension", offices=[a], duration_minutes=15,
                                      required_fields=["amka"])
        x, y = create_organisation("Οργάνωση Χ"), create_organisation("Οργάνωση Υ")
        users = {
            "clerk_a": create_user(role=Role.clerk, office=a, display_name="Ελένη Παππά"),
            "manager_a": create_user(role=Role.manager, office=a),
            "clerk_b": create_user(role=Role.clerk, office=b),
            "ngo_x": create_user(role=Role.ngo, organisation=x),
            "ngo_y": create_user(role=Role.ngo, organisation=y),
        }
        db.session.commit()
        return {"users": {name: user.id for name, user in users.items()},
                "office_a": a.id, "office_b": b.id, "service": service.id,
                "amka_service": amka_service.id, "org_x": x.id, "org_y": y.id,
                "day": next_weekday(2)}


def client_of(app, desk, name):
    client = app.test_client()
    with app.app_context():
        sign_in_client(client, db.session.get(StaffUser, desk["users"][name]))
    return client


def start_at(app, desk, hour, minute=0, office="office_a", day=None):
    """The ISO instant the booking form sends for a local time at the office."""
    with app.app_context():
        office = availability.load_office(desk[office])
        return at(office, day or desk["day"], hour, minute).astimezone(
            timezone.utc).isoformat()


def details(**overrides):
    values = {"name": "Μαρία Κωνσταντίνου", "phone": "6912345678", "email": "",
              "language": "el", "interpreter": "", "pool": "staff", "channel": "phone"}
    values.update(overrides)
    return values


def desk_book(client, desk, start, service="family", office="ATH1", **overrides):
    return client.post(f"/staff/appointments/{office}/book?service={service}"
                       f"&day={desk['day'].isoformat()}&lang=en",
                       data={"start": start, **details(**overrides)})


def appointments(app, **where):
    with app.app_context():
        query = select(Appointment).where(*[getattr(Appointment, k) == v
                                             for k, v in where.items()])
        return [(a.code, a.office_id, a.pool, a.channel, a.status, a.organisation_id,
                 a.booked_by_id, a.phone, a.email, a.needs, a.identifiers, a.cancel_reason)
                for a in db.session.scalars(query.order_by(Appointment.id))]


def count_rows(app, model=Appointment):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def audit_actions(app):
    with app.app_context():
        return [(e.action, e.actor_user_id, e.object_type, e.office_id, e.details)
                for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
                if e.action.startswith("booking.")]


def book_directly(app, desk, hour, minute=0, *, office="office_a", pool="public",
                  organisation=None, day=None, **extra):
    """An appointment made by the operation itself (not through the pages)."""
    with app.app_context():
        place = availability.load_office(desk[office])
        service = db.session.get(Service, desk["service"])
        booked = operations.book(
            place, service, at(place, day or desk["day"], hour, minute),
            {"name": extra.get("name", "Γιάννης Δήμου"), "phone": "+306912345600",
             "language": extra.get("language", "el"), "needs": extra.get("needs", {})},
            pool=pool, channel=Channel.ngo if organisation else Channel.phone,
            organisation_id=desk[organisation] if organisation else None)
        db.session.commit()
        return booked.appointment.code


# -- booking at the front desk -----------------------------------------------------------------

def test_clerk_books_a_caller_into_the_staff_seats(app, desk):
    clerk = client_of(app, desk, "clerk_a")
    page = clerk.get(f"/staff/appointments/ATH1/book?service=family&day={desk['day']}&lang=en")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'cd-times__time">09:00<' in text and 'name="start"' in text
    assert "Staff: 1<" in text

    response = desk_book(clerk, desk, start_at(app, desk, 9, 15))
    assert response.status_code == 302
    [row] = appointments(app)
    code, office_id, pool, channel, status, organisation, booked_by, phone = row[:8]
    assert (office_id, pool, channel, status) == (desk["office_a"], "staff", Channel.phone,
                                                  AppointmentStatus.confirmed)
    assert organisation is None and booked_by == desk["users"]["clerk_a"]
    assert phone == "+306912345678"
    assert response.headers["Location"].endswith(f"/staff/appointments/ATH1/{code}")

    confirmation = clerk.get(response.headers["Location"]).get_data(as_text=True)
    assert f"{code[:3]}-{code[3:]}" in confirmation
    assert 'class="cd-code__char"' in confirmation
    sms = re.search(r'<textarea[^>]*id="short-text"[^>]*>([^<]*)</textarea>', confirmation)
    assert sms and len(sms.group(1)) <= 160 and f"{code[:3]}-{code[3:]}" in sms.group(1)
    assert audit_actions(app) == [("booking.book", desk["users"]["clerk_a"], "appointment",
                                   desk["office_a"], {"code": code, "channel": "phone",
                                                      "pool": "staff"})]


def test_full_staff_seats_refuse_unless_the_public_seats_are_chosen(app, desk):
    clerk = client_of(app, desk, "clerk_a")
    start = start_at(app, desk, 10)
    assert desk_book(clerk, desk, start).status_code == 302
    # The one staff seat at 10:00 is taken: another staff booking is refused, nothing written.
    refused = desk_book(clerk, desk, start, phone="6912345679", name="Νίκος Νικολάου")
    assert refused.status_code == 409
    assert "The staff seats at this time are full" in refused.get_data(as_text=True)
    assert count_rows(app) == 1
    # The clerk chooses the public seats.
    taken = desk_book(clerk, desk, start, phone="6912345679", name="Νίκος Νικολάου",
                      pool="public", channel="counter")
    assert taken.status_code == 302
    pools = [(row[2], row[3]) for row in appointments(app)]
    assert pools == [("staff", Channel.phone), ("public", Channel.counter)]


def test_the_time_list_shows_which_seats_are_left(app, desk):
    clerk = client_of(app, desk, "clerk_a")
    desk_book(clerk, desk, start_at(app, desk, 9))
    text = clerk.get(f"/staff/appointments/ATH1/book?service=family&day={desk['day']}&lang=en"
                     ).get_data(as_text=True)
    nine = text[text.index('cd-times__time">09:00<'):text.index('cd-times__time">09:15<')]
    assert "Staff: full" in nine and "Public: 3<" in nine


def test_bad_input_is_explained_and_nothing_is_written(app, desk):
    clerk = client_of(app, desk, "clerk_a")
    before = count_rows(app), count_rows(app, AuditEntry)
    unknown = clerk.post(f"/staff/appointments/ATH1/book?service=no-such-service"
                         f"&day={desk['day']}&lang=en",
                         data={"start": start_at(app, desk, 9), **details()})
    assert unknown.status_code == 200
    assert "Choose a service from the list." in unknown.get_data(as_text=True)

    english = {"Accept-Language": "en"}
    bad_amka = clerk.post(
        f"/staff/appointments/ATH1/book?service=pension&day={desk['day']}&lang=en",
        data={"start": start_at(app, desk, 9), **details(), "amka": "15038599990"},
        headers=english)
    assert bad_amka.status_code == 200
    assert "This AMKA is not valid: check its digits." in bad_amka.get_data(as_text=True)

    off_grid = clerk.post(
        f"/staff/appointments/ATH1/book?service=family&day={desk['day']}&lang=en",
        data={"start": start_at(app, desk, 9, 7), **details()})
    assert "does not take appointments for this service at this time" in off_grid.get_data(
        as_text=True)

    no_phone = clerk.post(
        f"/staff/appointments/ATH1/book?service=family&day={desk['day']}&lang=en",
        data={"start": "not-a-time", **details(phone="", name="")})
    text = html.unescape(no_phone.get_data(as_text=True))
    assert "Enter the caller's phone number." in text
    assert "Enter the citizen's full name." in text
    assert "Choose a time from the list." in text

    bad_day = clerk.get("/staff/appointments/ATH1/book?service=family&day=31/02/2030&lang=en")
    assert bad_day.status_code == 200 and "Enter a date like" in bad_day.get_data(as_text=True)
    assert (count_rows(app), count_rows(app, AuditEntry)) == before


def test_a_service_with_an_amka_is_booked_with_a_valid_one(app, desk):
    clerk = client_of(app, desk, "clerk_a")
    response = clerk.post(
        f"/staff/appointments/ATH1/book?service=pension&day={desk['day']}",
        data={"start": start_at(app, desk, 11), **details(), "amka": VALID_AMKA})
    assert response.status_code == 302
    [row] = appointments(app)
    assert row[10] == {"amka": VALID_AMKA}


def test_another_offices_appointment_is_not_found(app, desk):
    code = book_directly(app, desk, 9)
    clerk_b = client_of(app, desk, "clerk_b")
    assert clerk_b.get(f"/staff/appointments/THE1/{code}").status_code == 404
    assert clerk_b.post(f"/staff/appointments/THE1/{code}/cancel",
                        data={"reason": "x"}).status_code == 404
    assert clerk_b.post(f"/staff/appointments/THE1/{code}/attended").status_code == 404
    assert clerk_b.get(f"/staff/appointments/THE1/{code}/print").status_code == 404
    assert clerk_b.get(f"/staff/appointments/ATH1/{code}").status_code == 403
    assert clerk_b.post(f"/staff/appointments/ATH1/{code}/cancel",
                        data={"reason": "x"}).status_code == 403
    assert appointments(app)[0][4] == AppointmentStatus.confirmed
    # Nor does the office's list show it.
    listed = clerk_b.get(f"/staff/appointments/THE1?day={desk['day']}").get_data(as_text=True)
    assert code[:3] + "-" + code[3:] not in listed


# -- the day and the week ----------------------------------------------------------------------

def test_day_and_week_lists_show_their_rows_in_local_time(app, desk):
    with app.app_context():
        # An office open from midnight: 00:15 in Athens is the day before in UTC.
        night = create_office("NIGHT", holiday_country=None, min_notice_hours=0)
        add_rule(night, weekdays=[1, 2, 3, 4, 5, 6, 7], start_time=time(0),
                 end_time=time(1), seats={"public": 2})
        service = db.session.get(Service, desk["service"])
        service.offices.append(night)
        create_user("night@example.gr", Role.clerk, night)
        desk["night"] = night.id
        db.session.commit()
    day = desk["day"]  # a Tuesday
    early = book_directly(app, desk, 0, 15, office="night", name="Πρωινός Πολίτης")
    wednesday = book_directly(app, desk, 0, 30, office="night", day=day + timedelta(days=1),
                              name="Τετάρτη Πολίτης")
    next_week = book_directly(app, desk, 0, 30, office="night", day=day + timedelta(days=7),
                              name="Επόμενη Εβδομάδα")
    with app.app_context():
        first = db.session.scalar(select(Appointment).where(Appointment.code == early))
        assert first.start_dt.date() == day - timedelta(days=1)  # UTC: the evening before
    client = app.test_client()
    with app.app_context():
        sign_in_client(client, db.session.scalar(select(StaffUser).where(
            StaffUser.email == "night@example.gr")))

    def codes(page):
        return {c.replace("-", "") for c in re.findall(r'class="govgr-link cd-code-link"[^>]*>'
                                                      r'([A-Z0-9]{3}-[A-Z0-9]{3})<', page)}

    today = client.get(f"/staff/appointments/NIGHT?day={day}").get_data(as_text=True)
    assert codes(today) == {early}
    assert "00:15–00:30" in today and "Πρωινός Πολίτης" in today
    evening_before = client.get(f"/staff/appointments/NIGHT?day={day - timedelta(days=1)}")
    assert codes(evening_before.get_data(as_text=True)) == set()
    week = client.get(f"/staff/appointments/NIGHT?day={day}&view=week").get_data(as_text=True)
    assert codes(week) == {early, wednesday}
    assert next_week not in codes(week)


def test_the_day_list_shows_needs_and_status(app, desk):
    book_directly(app, desk, 9, name="Λεϊλά Χασάν",
                  needs={"interpreter": "ar", "wheelchair": True, "sign_language": True})
    gone = book_directly(app, desk, 10, name="Ακυρωμένη Πολίτης")
    with app.app_context():
        operations.cancel(db.session.scalar(select(Appointment).where(Appointment.code == gone)),
                          reason="Λάθος")
        db.session.commit()
    clerk = client_of(app, desk, "clerk_a")
    page = clerk.get(f"/staff/appointments/ATH1?day={desk['day']}&lang=en").get_data(
        as_text=True)
    row = page[page.index("Λεϊλά Χασάν"):page.index("Ακυρωμένη Πολίτης")]
    assert "Interpreter: Arabic" in row and "Wheelchair access" in row
    assert "Sign language" in row and "Booked" in row
    assert "Cancelled" in page[page.index("Ακυρωμένη Πολίτης"):]
    assert "1 appointment booked" in page


def test_a_bad_day_in_the_list_is_explained(app, desk):
    clerk = client_of(app, desk, "clerk_a")
    response = clerk.get("/staff/appointments/ATH1?day=yesterday&lang=en")
    assert response.status_code == 200
    assert "Enter a date like" in response.get_data(as_text=True)


# -- cancel, attended, no-show ----------------------------------------------------------------

def test_cancel_with_a_reason(app, desk):
    code = book_directly(app, desk, 9)
    manager = client_of(app, desk, "manager_a")
    assert manager.get(f"/staff/appointments/ATH1/{code}/cancel").status_code == 200
    empty = manager.post(f"/staff/appointments/ATH1/{code}/cancel", data={"reason": "  "})
    assert empty.status_code == 200
    assert appointments(app)[0][4] == AppointmentStatus.confirmed
    done = manager.post(f"/staff/appointments/ATH1/{code}/cancel",
                        data={"reason": "Ο πολίτης τηλεφώνησε ότι δεν μπορεί"})
    assert done.status_code == 302
    row = appointments(app)[0]
    assert row[4] == AppointmentStatus.cancelled
    assert row[11] == "Ο πολίτης τηλεφώνησε ότι δεν μπορεί"
    assert audit_actions(app)[-1][:2] == ("booking.cancel", desk["users"]["manager_a"])
    assert audit_actions(app)[-1][4]["reason"] == "Ο πολίτης τηλεφώνησε ότι δεν μπορεί"
    # A cancelled one cannot be cancelled again.
    again = manager.post(f"/staff/appointments/ATH1/{code}/cancel", data={"reason": "ξανά"})
    assert again.status_code == 302
    assert len([a for a in audit_actions(app) if a[0] == "booking.cancel"]) == 1


def _begun(app, code):
    """Move an appointment's start to ten minutes ago (as if its time had come)."""
    with app.app_context():
        appointment = db.session.scalar(select(Appointment).where(Appointment.code == code))
        appointment.start_dt = utcnow() - timedelta(minutes=10)
        appointment.end_dt = utcnow() + timedelta(minutes=5)
        db.session.commit()


@pytest.mark.parametrize("action, status", [("attended", AppointmentStatus.attended),
                                            ("no-show", AppointmentStatus.no_show)])
def test_mark_attended_or_no_show(app, desk, action, status):
    code = book_directly(app, desk, 9)
    clerk = client_of(app, desk, "clerk_a")
    early = clerk.post(f"/staff/appointments/ATH1/{code}/{action}")
    assert early.status_code == 302
    assert appointments(app)[0][4] == AppointmentStatus.confirmed  # not begun yet
    _begun(app, code)
    page = clerk.get(f"/staff/appointments/ATH1/{code}").get_data(as_text=True)
    assert f"/staff/appointments/ATH1/{code}/{action}" in page
    assert clerk.post(f"/staff/appointments/ATH1/{code}/{action}").status_code == 302
    assert appointments(app)[0][4] == status
    assert audit_actions(app)[-1][:2] == (f"booking.{status.value}", desk["users"]["clerk_a"])


def test_the_audit_log_names_booking_actions_and_appointments(app, desk):
    clerk = client_of(app, desk, "clerk_a")
    desk_book(clerk, desk, start_at(app, desk, 9))
    code = appointments(app)[0][0]
    clerk.post(f"/staff/appointments/ATH1/{code}/cancel", data={"reason": "Λάθος ώρα"})
    manager = client_of(app, desk, "manager_a")
    log = manager.get("/staff/audit?lang=en").get_data(as_text=True)
    assert "Appointment booked" in log and "Appointment cancelled" in log
    assert f"Appointment: {code[:3]}-{code[3:]}" in log
    assert "Μαρία" not in log  # the citizen's name is not in the log


# -- NGO staff ---------------------------------------------------------------------------------

def test_ngo_books_without_contact_with_an_interpreter(app, desk):
    ngo = client_of(app, desk, "ngo_x")
    choose = ngo.get("/staff/appointments/organisation/book?service=family").get_data(
        as_text=True)
    assert 'value="ATH1"' in choose and 'value="THE1"' in choose
    response = ngo.post(
        f"/staff/appointments/organisation/book?service=family&office=THE1&day={desk['day']}",
        data={"start": start_at(app, desk, 9, office="office_b"), "name": "Αχμέντ Καρίμ",
              "phone": "", "email": "", "language": "en", "interpreter": "fa-AF"})
    assert response.status_code == 302
    [row] = appointments(app)
    assert row[1:7] == (desk["office_b"], "ngo", Channel.ngo, AppointmentStatus.confirmed,
                        desk["org_x"], desk["users"]["ngo_x"])
    assert row[7] is None and row[8] is None
    assert row[9]["interpreter"] == "fa-AF"
    for url in (f"/staff/appointments/organisation/{row[0]}?lang=en",
                "/staff/appointments/organisation?lang=en"):
        assert "Interpreter: Dari" in ngo.get(url).get_data(as_text=True)
    # The printed confirmation is in the citizen's language, whatever the page's.
    printed = ngo.get(f"/staff/appointments/organisation/{row[0]}/print?lang=el").get_data(
        as_text=True)
    slip = printed[printed.index('<article class="cd-slip" lang="en"'):]
    assert "Your appointment" in slip and "Certificate of family status" in slip
    assert '<html lang="el"' in printed  # the page around it is in the staff's language


def test_ngo_seats_full_is_refused(app, desk):
    ngo = client_of(app, desk, "ngo_x")
    url = (f"/staff/appointments/organisation/book?service=family&office=ATH1"
           f"&day={desk['day']}")
    data = {"start": start_at(app, desk, 9), "name": "Πρώτος Πολίτης", "language": "el"}
    assert ngo.post(url, data=data).status_code == 302
    second = ngo.post(url, data={**data, "name": "Δεύτερος Πολίτης"})
    assert second.status_code == 409
    assert count_rows(app) == 1


def test_ngo_sees_and_cancels_only_its_own_bookings(app, desk):
    mine = book_directly(app, desk, 9, pool="ngo", organisation="org_x", name="Πολίτης Χ")
    theirs = book_directly(app, desk, 10, pool="ngo", organisation="org_y", name="Πολίτης Υ")
    desk_booking = book_directly(app, desk, 11, name="Πολίτης Γκισέ")
    ngo_x = client_of(app, desk, "ngo_x")
    listed = ngo_x.get("/staff/appointments/organisation").get_data(as_text=True)
    assert "Πολίτης Χ" in listed and "Πολίτης Υ" not in listed and "Γκισέ" not in listed
    for code in (theirs, desk_booking):
        assert ngo_x.get(f"/staff/appointments/organisation/{code}").status_code == 404
        assert ngo_x.post(f"/staff/appointments/organisation/{code}/cancel",
                          data={"reason": "x"}).status_code == 404
        assert ngo_x.get(f"/staff/appointments/organisation/{code}/print").status_code == 404
    assert ngo_x.get(f"/staff/appointments/organisation/{mine}").status_code == 200
    # An office's pages are not theirs.
    assert ngo_x.get(f"/staff/appointments/ATH1/{mine}").status_code == 403
    done = ngo_x.post(f"/staff/appointments/organisation/{mine}/cancel",
                      data={"reason": "Ο πολίτης βρήκε δουλειά"})
    assert done.status_code == 302
    statuses = {row[0]: row[4] for row in appointments(app)}
    assert statuses == {mine: AppointmentStatus.cancelled, theirs: AppointmentStatus.confirmed,
                        desk_booking: AppointmentStatus.confirmed}
    assert audit_actions(app)[-1][:2] == ("booking.cancel", desk["users"]["ngo_x"])


# -- what is read out, printed and sent ----------------------------------------------------------

def test_the_text_message_fits_in_160_characters_in_either_language(app, desk):
    code = book_directly(app, desk, 9)
    with app.test_request_context():
        appointment = db.session.scalar(select(Appointment).where(Appointment.code == code))
        appointment.service.name = {"el": "Μ" * 150, "en": "L" * 150}
        appointment.office.name = {"el": "Γ" * 90, "en": "O" * 90}
        for language in ("el", "en"):
            appointment.language = language
            text = texts.short_text(appointment)
            assert len(text) <= texts.SMS_LENGTH
            assert appointment.display_code in text and "09:00" in text
        appointment.language = "en"
        assert texts.short_text(appointment).startswith("Appointment")
        db.session.rollback()


def test_the_staff_menu_links_to_appointments(app, desk):
    for name in ("clerk_a", "ngo_x"):
        home = client_of(app, desk, name).get("/staff/").get_data(as_text=True)
        assert 'href="/staff/appointments/"' in home
    assert 'href="/staff/appointments/"' not in app.test_client().get("/").get_data(
        as_text=True)
    index = client_of(app, desk, "clerk_a").get("/staff/appointments/").get_data(as_text=True)
    assert "/staff/appointments/ATH1/book" in index and "THE1" not in index


@pytest.mark.parametrize("value", ["\x00", "٣", "99999999999999999999", "0001-01-01",
                                   "31/12/9999", "Ω" * 300, "9999-12-31T23:59:59-05:00"])
def test_hostile_parameters_get_no_server_error(app, desk, value):
    clerk, ngo = client_of(app, desk, "clerk_a"), client_of(app, desk, "ngo_x")
    day = desk["day"].isoformat()
    chosen = {"service": "family", "day": day}
    for client, path, args, data in (
            (clerk, "/staff/appointments/ATH1", {}, None),
            (clerk, "/staff/appointments/ATH1/book", {}, None),
            (clerk, "/staff/appointments/ATH1/book", chosen, details()),
            (ngo, "/staff/appointments/organisation/book", {**chosen, "office": "ATH1"},
             details()),
            (ngo, "/staff/appointments/organisation", {}, None)):
        for field in ("day", "view", "service", "office", "show", "page"):
            response = client.get(path, query_string={**args, field: value})
            assert response.status_code < 500, (path, field, value)
        if data is not None:
            # (Not the name: "1e309" has a letter, so it is a name. NGO staff choose no pool.)
            fields = ["start", "language", "interpreter", "phone", "email"]
            if "organisation" not in path:
                fields += ["pool", "channel"]
            for field in fields:
                response = client.post(path, query_string=args, data={
                    **data, "start": start_at(app, desk, 9), field: value})
                assert response.status_code < 500, (path, field, value)
                assert count_rows(app) == 0, (path, field, response.status_code)
    assert count_rows(app) == 0  # every probe had one hostile value: nothing booked


def test_staff_forms_carry_and_need_their_csrf_token(app, desk, make_app):
    """With CSRF protection on (as in production), each form works with its token only."""
    guarded = make_app(RATELIMIT_ENABLED=False)
    clerk = guarded.test_client()
    with guarded.app_context():
        sign_in_client(clerk, db.session.get(StaffUser, desk["users"]["clerk_a"]))
    url = f"/staff/appointments/ATH1/book?service=family&day={desk['day']}"
    data = {"start": start_at(app, desk, 9), **details()}
    assert clerk.post(url, data=data).status_code == 400  # refused: no token
    assert count_rows(app) == 0
    page = clerk.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    booked = clerk.post(url, data={**data, "csrf_token": token})
    assert booked.status_code == 302
    code = appointments(app)[0][0]
    _begun(app, code)
    assert clerk.post(f"/staff/appointments/ATH1/{code}/attended").status_code == 400
    shown = clerk.get(f"/staff/appointments/ATH1/{code}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', shown).group(1)
    assert clerk.post(f"/staff/appointments/ATH1/{code}/attended",
                      data={"csrf_token": token}).status_code == 302
    assert appointments(app)[0][4] == AppointmentStatus.attended
