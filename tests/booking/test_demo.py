"""The demo's appointments: booked through the operations, shown where staff and citizens look."""
from __future__ import annotations

import re

from sqlalchemy import select

from citizen_desk.booking.models import Appointment, AppointmentStatus, Channel, SeatClaim
from citizen_desk.extensions import db
from citizen_desk.staff.models import StaffUser
from tests.factories import sign_in_client


def seeded(runner):
    result = runner.invoke(args=["demo", "seed", "--base-url", "http://127.0.0.1:5999"])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_demo_books_a_handful_of_real_looking_appointments(app, runner):
    seeded(runner)
    with app.app_context():
        appointments = db.session.scalars(select(Appointment)).all()
        assert len(appointments) >= 8
        by_name = {a.name: a for a in appointments}
        assert all(re.search("[α-ωΑ-Ω]", name) for name in by_name)  # Greek names
        statuses = [a.status for a in appointments]
        assert statuses.count(AppointmentStatus.cancelled) == 1
        assert statuses.count(AppointmentStatus.confirmed) == len(appointments) - 1
        assert {a.office.code for a in appointments} == {"ATH1", "THE1"}
        interpreted = by_name["Μοχάμεντ Αλ-Χασάν"]
        assert interpreted.needs["interpreter"] == "ar"
        assert (interpreted.pool, interpreted.channel) == ("ngo", Channel.ngo)
        assert interpreted.organisation_id is not None and interpreted.booked_by_id
        phoned = by_name["Νικόλαος Ζαχαρίου"]
        assert (phoned.pool, phoned.channel, phoned.needs["wheelchair"]) == (
            "staff", Channel.phone, True)
        assert by_name["Μαρία Σταθοπούλου"].needs["sign_language"]
        # From the first days the offices' notice allows: within the next two weeks.
        soonest = min(a.start_dt for a in appointments)
        assert all((a.start_dt - soonest).days < 14 for a in appointments)
        # Each live one holds its seats in the ledger; the cancelled one gave them back.
        for a in appointments:
            claims = db.session.scalars(select(SeatClaim).where(
                SeatClaim.appointment_id == a.id)).all()
            assert bool(claims) == a.is_live, a
        db.session.remove()


def test_the_demo_links_lead_to_its_bookings(app, runner):
    output = seeded(runner)
    manage = re.search(r"manage link \((\w{3}-\w{3}), ([^)]+)\): http://127\.0\.0\.1:5999(\S+)",
                       output)
    day_list = re.search(r"ATH1's appointments on \S+: http://127\.0\.0\.1:5999(\S+)", output)
    availability = re.search(r"Availability API \([^)]*\): http://127\.0\.0\.1:5999(\S+)", output)
    assert manage and day_list and availability, output
    client = app.test_client()
    page = client.get(manage.group(3), follow_redirects=True)  # the secret leaves the address
    assert page.status_code == 200
    assert manage.group(1) in page.get_data(as_text=True)
    answer = client.get(availability.group(1))
    assert answer.status_code == 200 and answer.get_json()["slots"]

    with app.app_context():
        clerk = db.session.scalar(select(StaffUser).where(
            StaffUser.email == "clerk.ath@demo.gov.gr"))
        staff_client = sign_in_client(app.test_client(), clerk)
        db.session.remove()
    listed = staff_client.get(day_list.group(1))
    assert listed.status_code == 200
    text = listed.get_data(as_text=True)
    assert "Γεώργιος Παπαδόπουλος" in text and manage.group(1) in text
