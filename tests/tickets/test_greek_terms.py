"""The queue's pages in Greek use the glossary's words (docs/translations.md): «θυρίδα» for a
counter, «αριθμός προτεραιότητας» for a ticket, and «αριθμός» alone in the clerk's console."""
from __future__ import annotations

import html
import json
import re

from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.staff.models import TokenPurpose
from tests.factories import create_token
from tests.tickets.test_console import flashes, issue, signed_in, url


def device_page(app, desk, purpose: TokenPurpose) -> str:
    """The Greek page of the office's kiosk or display, fetched by a client paired with it."""
    with app.app_context():
        office = db.session.get(Office, desk.office_id)
        _, secret = create_token(purpose, office, name=purpose.value)
        path = f"/offices/{office.code}/{purpose.value}"
        db.session.commit()
    client = app.test_client()
    client.get(f"{path}?token={secret}")
    return client.get(path).get_data(as_text=True)


def test_the_kiosk_offers_a_priority_number(app, desk):
    assert "Πάρτε αριθμό προτεραιότητας" in device_page(app, desk, TokenPurpose.kiosk)


def test_the_console_speaks_of_counters_and_numbers(app, desk):
    clerk = signed_in(app, desk.clerk_id)
    issue(app, desk)
    clerk.post(url(desk, "take"))
    index = clerk.get("/staff/queue/?lang=el").get_data(as_text=True)
    assert "Ουρά: θυρίδες" in index and "Η θυρίδα σας: Θυρίδα 1." in index
    assert "Ελεύθερη" in index  # counter 2: the adjective agrees with «η θυρίδα»

    clerk.post(url(desk, "call-next"))
    page = clerk.get(url(desk) + "?lang=el")
    assert "Κλήθηκε ο αριθμός A001." in flashes(page)
    body = page.get_data(as_text=True)
    assert "Στη θυρίδα" in body and "Όλες οι θυρίδες" in body


def test_the_tracking_page_names_the_priority_number(app, desk):
    public_id = issue(app, desk, language="el")
    page = app.test_client().get(f"/t/{public_id}").get_data(as_text=True)
    assert "Ο αριθμός προτεραιότητάς σας" in page


def test_the_display_announces_the_number_and_the_counter(app, desk):
    page = device_page(app, desk, TokenPurpose.display)
    config = json.loads(html.unescape(re.search(r'data-config="([^"]*)"', page).group(1)))
    assert config["headings"]["speech"]["el"] == "Ο αριθμός {number} στη θυρίδα {counter}"
