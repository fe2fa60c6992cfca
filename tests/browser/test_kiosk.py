"""The kiosk in Chromium: paired by its link, language → service → priority → skip → the
ticket with its QR code, printed once; one tap = one ticket; axe on every screen."""
from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import select

from citizen_desk.catalog import operations as catalog_ops
from citizen_desk.extensions import db
from citizen_desk.queue.models import Ticket
from citizen_desk.staff.models import TokenPurpose
from tests.factories import (add_rule, create_office, create_service, create_token,
                             daytime_zone)

pytestmark = pytest.mark.browser


@pytest.fixture
def kiosk_link(app, live_server):
    """ATH1 open all day for walk-ins, two services, a counter; the kiosk's pairing link."""
    with app.app_context():
        office = create_office(code="ATH1", holiday_country=None, timezone=daytime_zone(),
                               name={"el": "ΚΕΠ Αθηνών", "en": "KEP Athens"})
        add_rule(office, weekdays=[1, 2, 3, 4, 5, 6, 7], start_time=time(0),
                 end_time=time(23, 45), valid_from=date(2026, 1, 1))
        family = create_service(code="family-status", offices=[office], ticket_prefix="A",
                                name={"el": "Πιστοποιητικό οικογενειακής κατάστασης",
                                      "en": "Certificate of family status"})
        create_service(code="birth", offices=[office], ticket_prefix="B",
                       name={"el": "Πιστοποιητικό γέννησης", "en": "Birth certificate"})
        catalog_ops.add_counter(office, "1", {"el": "Θυρίδα 1", "en": "Counter 1"}, [family])
        _, secret = create_token(TokenPurpose.kiosk, office, name="Κιόσκι")
        db.session.commit()
    return f"{live_server.url}/offices/ATH1/kiosk?token={secret}", secret


@pytest.mark.parametrize("lang", ["el", "en"])
def test_a_citizen_takes_a_ticket_at_the_kiosk(app, page, kiosk_link, axe_scan, lang):
    link, secret = kiosk_link
    page.add_init_script("window.print = function () {"
                         " window.__printed = (window.__printed || 0) + 1; };")
    page.goto(link)
    assert page.url.endswith("/offices/ATH1/kiosk") and secret not in page.url
    assert secret not in page.content()
    cookie = [c for c in page.context.cookies() if c["name"] == "cd_device"][0]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.activeElement.id") == "code"  # ready for a scanner
    assert page.locator("[data-language]").all_inner_texts() == ["Ελληνικά", "English"]
    assert axe_scan() == []

    page.click(f"[data-language={lang}]")
    assert page.evaluate("document.documentElement.lang") == lang
    buttons = page.locator("[data-service]")
    assert buttons.count() == 2
    assert axe_scan() == []
    # Every target is large enough to touch.
    heights = page.eval_on_selector_all("a, button", "els => els.map(e => e.offsetHeight)")
    assert min(heights) >= 64
    page.click("[data-service=family-status]")
    assert axe_scan() == []
    page.click("[data-priority='']")
    assert axe_scan() == []
    with page.expect_navigation():
        page.click("[data-skip]")
    page.wait_for_selector("[data-print-ticket]")
    assert page.locator("[data-number]").get_attribute("data-number") == "A001"
    assert page.locator(".cd-ticket svg.segno").count() == 1
    assert page.evaluate("window.__printed") == 1
    assert axe_scan() == []
    page.reload()
    assert page.evaluate("window.__printed") is None  # printed once per ticket
    with app.app_context():
        [ticket] = db.session.scalars(select(Ticket)).all()
        assert ticket.language == lang
    page.click("[data-done]")
    assert page.url.endswith("/offices/ATH1/kiosk")


def test_a_double_tap_is_one_ticket(app, page, kiosk_link):
    link, _ = kiosk_link
    page.goto(link)
    page.click("[data-language=en]")
    page.click("[data-service=birth]")
    page.click("[data-priority='']")
    with page.expect_navigation():
        page.evaluate("() => { const b = document.querySelector('[data-skip]');"
                      " b.click(); b.click(); b.click(); }")
    page.wait_for_selector("[data-print-ticket]")
    with app.app_context():
        assert len(db.session.scalars(select(Ticket)).all()) == 1
