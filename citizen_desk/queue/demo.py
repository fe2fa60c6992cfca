"""The walk-in queue's part of the demo: device tokens per office and a morning's first tickets.

Each demo office gets a kiosk and a waiting-room display token; the seed
report prints the kiosk and display pages with ``?token=`` (opened once, the
browser keeps the device's cookie: ``staff/devices.py``). A few tickets wait
for today — issued at the desk by the office's clerk (desk tickets are not
bound by the opening hours, so the demo has them whenever it is seeded),
some with a priority group, a language and needs — so that the console, the
display and a tracking page show something at once. No counter is held and
the offices keep the house queue settings.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from citizen_desk.catalog.models import Service
from citizen_desk.core.seed import demo_seeder
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import operations
from citizen_desk.queue.models import TicketKind
from citizen_desk.queue.schemas import TRACKING_PATH
from citizen_desk.staff import operations as staff_operations
from citizen_desk.staff.models import StaffUser, TokenPurpose

#: The office's clerk who issues its demo tickets at the desk.
CLERKS = {"ATH1": "clerk.ath@demo.gov.gr", "THE1": "clerk.the@demo.gov.gr"}


@dataclass(frozen=True)
class DemoTicket:
    office: str
    service: str
    priority: str | None = None
    language: str = "el"
    needs: dict = field(default_factory=dict)


TICKETS = [
    DemoTicket("ATH1", "family-status"),
    DemoTicket("ATH1", "family-status", priority="senior"),
    DemoTicket("ATH1", "amka-issue", language="en", needs={"interpreter": "ar"}),
    DemoTicket("ATH1", "family-status"),
    DemoTicket("ATH1", "signature-authentication", needs={"wheelchair": True}),
    DemoTicket("ATH1", "amka-issue"),
    DemoTicket("THE1", "family-status"),
    DemoTicket("THE1", "amka-issue", priority="pregnancy"),
    DemoTicket("THE1", "family-status", language="en"),
]


@demo_seeder(order=40)
def seed_queue(report):
    offices = {office.code: office for office in db.session.scalars(
        select(Office).where(Office.code.in_(CLERKS), Office.retired.is_(False)))}
    for code, office in sorted(offices.items()):
        devices = {}
        for name, purpose in (("Κιόσκι έκδοσης αριθμών", TokenPurpose.kiosk),
                              ("Οθόνη κλήσεων", TokenPurpose.display)):
            _, devices[purpose] = staff_operations.issue_device_token(
                name=name, office_id=office.id, purpose=purpose)
        report.add("Walk-in queue", f"{code} kiosk: " + report.link(
            f"/offices/{code}/kiosk?token={devices[TokenPurpose.kiosk]}"))
        report.add("Walk-in queue", f"{code} waiting-room display: " + report.link(
            f"/offices/{code}/display?token={devices[TokenPurpose.display]}"))

    first = {}
    for plan in TICKETS:
        office = offices.get(plan.office)
        service = db.session.scalar(select(Service).where(Service.code == plan.service))
        clerk = db.session.scalar(select(StaffUser).where(
            StaffUser.email == CLERKS[plan.office]))
        if office is None or service is None or clerk is None or office not in service.offices:
            continue  # a catalog or staff without it: nothing to show
        ticket, _ = operations.issue(office, service, kind=TicketKind.staff,
                                     priority=plan.priority, language=plan.language,
                                     needs=plan.needs, issued_by=clerk)
        first.setdefault(plan.office, ticket)
    for code, ticket in sorted(first.items()):
        report.add("Walk-in queue", f"{code} ticket {ticket.number} followed by its citizen: "
                   + report.link(TRACKING_PATH.format(public_id=ticket.public_id)))
    if first:
        report.add("Walk-in queue", "Counter console (clerk.ath@demo.gov.gr): "
                   + report.link("/staff/queue/"))
