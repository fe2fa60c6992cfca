"""Booked appointments for the tests of pages and mails (committed, as a request would see them)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from citizen_desk.booking import availability, operations as ops
from citizen_desk.booking.models import Appointment
from citizen_desk.catalog.models import Service
from citizen_desk.core import uow
from citizen_desk.extensions import db
from tests.booking.conftest import at
from tests.factories import add_rule, create_office, create_service

DETAILS = {"name": "Νίκος Γεωργίου", "email": "nikos@example.gr", "phone": None,
           "language": "el", "identifiers": {}, "needs": {}}
DOCUMENTS = {"el": ["Αστυνομική ταυτότητα", "Πρόσφατος λογαριασμός ΔΕΚΟ"],
             "en": ["Identity card", "A recent utility bill"]}


@dataclass
class Place:
    office_id: int
    service_id: int
    office_code: str
    service_code: str


@dataclass
class Link:
    code: str
    token: str
    id: int

    @property
    def url(self) -> str:
        return f"/appointments/{self.code}/{self.token}"


def create_place(app, **office) -> Place:
    """An office open Mon–Fri 09:00–12:00 (3 public, 1 staff seat per 15 min) and a service."""
    with app.app_context():
        office.setdefault("holiday_country", None)
        office.setdefault("min_notice_hours", 0)
        office.setdefault("phone", "210 123 4567")
        created = create_office(**office)
        add_rule(created, start_time=time(9), end_time=time(12),
                 seats={"public": 3, "staff": 1})
        service = create_service(offices=[created], duration_minutes=15, documents=DOCUMENTS,
                                 name={"el": "Πιστοποιητικό οικογενειακής κατάστασης",
                                       "en": "Certificate of family status"})
        db.session.commit()
        return Place(created.id, service.id, created.code, service.code)


def book(app, place: Place, day, hour: int, minute: int = 0, **details) -> Link:
    """Book through the operation in a unit of work (its mail goes after the commit)."""
    with app.app_context():
        def work():
            office = availability.load_office(place.office_id)
            service = db.session.get(Service, place.service_id)
            booked = ops.book(office, service, at(office, day, hour, minute),
                              DETAILS | details)
            return Link(booked.appointment.code, booked.token, booked.appointment.id)
        link = uow.run(work)
        db.session.remove()
        return link


def load(app, link: Link) -> Appointment:
    """The appointment as it is in the database now (detached, attributes loaded)."""
    with app.app_context():
        appointment = db.session.get(Appointment, link.id)
        appointment.office, appointment.service  # noqa: B018  (load them)
        db.session.expunge_all()
        return appointment
