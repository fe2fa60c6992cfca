"""Booking's part of the demo: a handful of real-looking appointments at both offices.

Booked through ``operations.book`` like any other (checked details, seats
from the ledger, the per-citizen cap, mails to the log), from tomorrow on —
the first days the offices' notice allows — so that the staff day and week
lists, the availability and a manage link show real data: online bookings,
one by phone and one at the counter into the staff seats, one by an NGO
worker into the NGO seats with an Arabic interpreter, needs such as a
wheelchair or sign language, and one already cancelled.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from citizen_desk.booking import availability, identity, operations
from citizen_desk.booking.models import Channel
from citizen_desk.catalog.models import Service
from citizen_desk.core.seed import demo_seeder
from citizen_desk.extensions import db
from citizen_desk.offices import queries as offices
from citizen_desk.staff.models import StaffUser

#: How far ahead the demo looks for its times.
LOOK_AHEAD_DAYS = 21


@dataclass
class DemoBooking:
    office: str
    service: str
    #: The n-th day (0: the first) on which the office has free times for it, and the
    #: wanted local time; the nearest free time of that day is taken.
    day: int
    at: tuple[int, int]
    details: dict
    pool: str = "public"
    channel: Channel = Channel.online
    #: The e-mail of the staff account that books for the citizen.
    booked_by: str | None = None
    cancel_reason: str | None = None
    needs: dict = field(default_factory=dict)


BOOKINGS = [
    DemoBooking("ATH1", "family-status", 0, (8, 30), {
        "name": "Γεώργιος Παπαδόπουλος", "email": "g.papadopoulos@example.gr",
        "phone": "6944123456", "language": "el"}),
    DemoBooking("ATH1", "amka-issue", 0, (9, 0), {
        "name": "Ελένη Καραγιάννη", "email": "eleni.karagianni@example.gr", "language": "el",
        "identifiers": {"afm": "945807306"}}),
    DemoBooking("ATH1", "residence-certificate", 0, (10, 0), {
        "name": "Μοχάμεντ Αλ-Χασάν", "phone": "6977001122", "language": "en",
        "identifiers": {"address": "Αχαρνών 112, 104 46 Αθήνα"}},
        pool="ngo", channel=Channel.ngo, booked_by="ngo@demo.gov.gr",
        needs={"interpreter": "ar"}),
    DemoBooking("ATH1", "signature-authentication", 0, (11, 15), {
        "name": "Νικόλαος Ζαχαρίου", "phone": "6971234567", "language": "el"},
        pool="staff", channel=Channel.phone, booked_by="clerk.ath@demo.gov.gr",
        needs={"wheelchair": True}),
    DemoBooking("ATH1", "ehic", 1, (9, 30), {
        "name": "Ολένα Κοβαλένκο", "email": "olena.kovalenko@example.com", "language": "en",
        "identifiers": {"amka": "12038510009"}}, needs={"interpreter": "uk"}),
    DemoBooking("ATH1", "birth-certificate", 1, (10, 45), {
        "name": "Μαρία Σταθοπούλου", "phone": "6932456789", "language": "el"},
        pool="staff", channel=Channel.counter, booked_by="clerk.ath@demo.gov.gr",
        needs={"sign_language": True}),
    DemoBooking("ATH1", "criminal-record", 1, (12, 0), {
        "name": "Κωνσταντίνος Μαυρίδης", "email": "k.mavridis@example.gr", "language": "el",
        "identifiers": {"afm": "215736815"}},
        cancel_reason="Δεν μπορώ να έρθω λόγω ασθένειας."),
    DemoBooking("ATH1", "copy-certification", 3, (8, 45), {
        "name": "Σοφία Αλεξίου", "email": "sofia.alexiou@example.gr", "language": "el"}),
    DemoBooking("THE1", "family-status", 0, (9, 0), {
        "name": "Αικατερίνη Βασιλείου", "email": "katerina.vasileiou@example.gr",
        "language": "el"}),
    DemoBooking("THE1", "parking-permit", 1, (11, 30), {
        "name": "Παναγιώτης Λαμπράκης", "phone": "6945987654", "language": "el",
        "identifiers": {"address": "Εγνατίας 45, 546 30 Θεσσαλονίκη"}}),
]


def _pick(office, service, pool: str, nth_day: int, hour: int, minute: int):
    """The free time nearest ``hour:minute`` on the ``nth_day``-th day with free times."""
    today = office.today()
    slots = availability.free_slots(office, service, today,
                                    today + timedelta(days=LOOK_AHEAD_DAYS), pool=pool)
    days = sorted({slot.local_start(office).date() for slot in slots})
    if not days:
        return None
    day = days[min(nth_day, len(days) - 1)]
    wanted = datetime(day.year, day.month, day.day, hour, minute, tzinfo=office.zone)
    return min((slot for slot in slots if slot.local_start(office).date() == day),
               key=lambda slot: abs((slot.start - wanted).total_seconds()))


@demo_seeder(order=30)
def seed_bookings(report):
    def manage_url(code, token):
        return report.link(f"/appointments/{code}/{token}")

    booked = []
    for plan in BOOKINGS:
        office_id = offices.office_id(plan.office)
        service = db.session.scalar(select(Service).where(Service.code == plan.service))
        if office_id is None or service is None:
            continue  # a catalog without this office or service: nothing to show
        office = availability.load_office(office_id)
        slot = _pick(office, service, plan.pool, plan.day, *plan.at)
        if slot is None:
            continue
        details = identity.clean_details(
            dict(plan.details, needs=plan.needs), service.required_fields,
            contact_required=plan.channel in (Channel.online, Channel.api))
        staff = (db.session.scalar(select(StaffUser).where(StaffUser.email == plan.booked_by))
                 if plan.booked_by else None)
        result = operations.book(
            office, service, slot.start, details, pool=plan.pool, channel=plan.channel,
            citizen_keys=identity.citizen_keys(details), booked_by=staff,
            organisation_id=staff.organisation_id if plan.channel == Channel.ngo else None,
            manage_url=manage_url)
        if plan.cancel_reason:
            operations.cancel(result.appointment, reason=plan.cancel_reason)
        booked.append((plan, result))
    live = [(plan, result) for plan, result in booked if not plan.cancel_reason]
    if not live:
        return
    first = live[0][1]
    report.add("Citizens", f"A booking's manage link ({first.appointment.display_code}, "
                           f"{first.appointment.name}): "
                           f"{manage_url(first.appointment.code, first.token)}")
    report.add("Citizens", f"Book an appointment: {report.link('/book?service=family-status')}")
    athens = [result.appointment for plan, result in live if plan.office == "ATH1"]
    if athens:
        day = min(appointment.local_start.date() for appointment in athens)
        lists = report.link("/staff/appointments/ATH1")
        report.add("Clerks and managers", f"ATH1's appointments on {day}: {lists}?day={day}")
        report.add("Clerks and managers", f"ATH1's week: {lists}?view=week&day={day}")
        today = athens[0].office.today()
        report.add("Integrations", "Availability API (ATH1, family status, 2 weeks): "
                   + report.link(f"/api/v1/offices/ATH1/services/family-status/availability"
                                 f"?from={today}&to={today + timedelta(days=13)}"))
