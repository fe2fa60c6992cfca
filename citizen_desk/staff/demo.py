"""The staff part of the demo: one account per role, and a kiosk and a display token."""
from citizen_desk.core.seed import demo_seeder
from citizen_desk.offices import queries as offices
from citizen_desk.staff import operations
from citizen_desk.staff.models import Role, TokenPurpose

#: Demo only: every demo account shares this pass phrase.
DEMO_PASSWORD = "lemon-harbour-kiosk-2026"


@demo_seeder(order=20)
def seed_staff(report):
    athens, thessaloniki = offices.office_id("ATH1"), offices.office_id("THE1")
    ngo = operations.create_organisation(
        name="Δίκτυο Αλληλεγγύης Προσφύγων", contact_name="Ελένη Παπαδοπούλου",
        contact_email="info@solidarity.example.org", contact_phone="+30 210 555 0100")
    people = [("admin@demo.gov.gr", "Γιώργος Αντωνίου", Role.admin, None, None)]
    if athens:
        people += [
            ("manager.ath@demo.gov.gr", "Μαρία Κωνσταντίνου", Role.manager, athens, None),
            ("clerk.ath@demo.gov.gr", "Νίκος Δημητρίου", Role.clerk, athens, None),
        ]
    if thessaloniki:
        people += [("clerk.the@demo.gov.gr", "Σοφία Γεωργίου", Role.clerk, thessaloniki, None)]
    people += [("ngo@demo.gov.gr", "Ελένη Παπαδοπούλου", Role.ngo, None, ngo.id)]
    login = report.link("/staff/login")
    for email, name, role, office_id, organisation_id in people:
        operations.create_user(email=email, display_name=name, role=role, office_id=office_id,
                               organisation_id=organisation_id, password=DEMO_PASSWORD)
        report.add("Staff (sign in at " + login + ")",
                   f"{role.value:8} {email:28} password: {DEMO_PASSWORD}")
    if athens:
        for name, purpose in (("Κιόσκι εισόδου", TokenPurpose.kiosk),
                              ("Οθόνη αίθουσας αναμονής Α", TokenPurpose.display)):
            _, secret = operations.issue_device_token(name=name, office_id=athens,
                                                      purpose=purpose)
            report.add("Devices of ATH1 (Authorization: Bearer …)",
                       f"{purpose.value:8} {secret}")
