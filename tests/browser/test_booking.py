"""The citizen's booking journey in Chromium: with the keyboard alone, axe on every step, and
without JavaScript."""
from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from citizen_desk.booking.models import Appointment, AppointmentStatus
from citizen_desk.extensions import db
from tests.factories import add_rule, create_office, create_service

pytestmark = pytest.mark.browser


@pytest.fixture
def place(app):
    """An office open every day 09:00–12:00 with 3 public seats, no holidays, no notice; a
    service that asks for the AMKA."""
    with app.app_context():
        office = create_office(code="ATH1", holiday_country=None, min_notice_hours=0,
                               name={"el": "ΚΕΠ Αθηνών", "en": "KEP Athens"})
        add_rule(office, weekdays=[1, 2, 3, 4, 5, 6, 7], start_time=time(9),
                 end_time=time(12), seats={"public": 3})
        create_service(code="family-status", offices=[office], duration_minutes=15,
                       required_fields=["amka"],
                       documents={"el": ["Αστυνομική ταυτότητα"], "en": ["Identity card"]},
                       name={"el": "Πιστοποιητικό οικογενειακής κατάστασης",
                             "en": "Certificate of family status"})
        db.session.commit()


def tab_to(page, selector: str, limit: int = 120):
    """Press Tab until the focused element matches ``selector``; fail if it never does."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)",
                         selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def type_into(page, selector: str, text: str):
    tab_to(page, selector)
    page.keyboard.type(text)


def press_enter_and_wait(page):
    with page.expect_navigation():
        page.keyboard.press("Enter")


def booked(app):
    with app.app_context():
        return db.session.scalars(select(Appointment)).all()


@pytest.mark.parametrize("lang", ["el", "en"])
def test_book_with_the_keyboard_with_no_accessibility_violations(app, place, page, live_server,
                                                                 axe_scan, lang):
    page.goto(f"{live_server.url}/services/family-status?lang={lang}")
    assert axe_scan() == []

    tab_to(page, ".cd-book a")
    press_enter_and_wait(page)
    assert page.url.endswith("/book/family-status/ATH1/day")
    assert page.locator("table caption").is_visible()
    assert axe_scan() == []

    tab_to(page, "button.cd-month__day--free")
    label = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert label and label[0].isupper() and "," in label
    press_enter_and_wait(page)
    assert "/time?day=" in page.url
    assert axe_scan() == []

    tab_to(page, "input[name=start]")
    page.keyboard.press("ArrowDown")  # the second time; arrows move and check in a group
    chosen = page.evaluate("document.activeElement.value")
    assert page.evaluate("document.activeElement.checked")
    tab_to(page, ".cd-times-form button[type=submit]")
    press_enter_and_wait(page)
    assert page.url.endswith("/details")
    assert axe_scan() == []

    # Sending nothing shows the error summary, which the keyboard reaches first.
    tab_to(page, "main form button[type=submit]")
    press_enter_and_wait(page)
    assert page.locator(".govgr-error-summary").is_visible()
    assert axe_scan() == []

    type_into(page, "#name", "Νίκος Γεωργίου")
    type_into(page, "#email", "nikos@example.gr")
    type_into(page, "#amka", "01017000017")
    tab_to(page, "#interpreter")
    page.keyboard.press("ArrowDown")  # the first language of the list
    tab_to(page, "#wheelchair")
    page.keyboard.press("Space")
    tab_to(page, "main form button[type=submit]")
    press_enter_and_wait(page)
    assert page.url.endswith("/check")
    main = page.locator("main").inner_text()
    assert "Νίκος Γεωργίου" in main and "01017000017" in main
    assert axe_scan() == []

    tab_to(page, "main form button[type=submit]")
    press_enter_and_wait(page)
    assert page.url.endswith("/book/confirmation")
    assert axe_scan() == []
    (appointment,) = booked(app)
    assert appointment.status == AppointmentStatus.confirmed
    assert appointment.start_dt.isoformat() == chosen
    assert appointment.needs["wheelchair"] is True and appointment.needs["interpreter"]
    assert appointment.display_code in page.locator(".cd-code").inner_text()
    manage = page.locator(".cd-manage-link a").get_attribute("href")
    assert f"/appointments/{appointment.code}/" in manage


def test_the_privacy_notice_and_the_services_step_are_accessible(place, page, live_server,
                                                                 axe_scan):
    for path in ("/privacy", "/privacy?lang=en", "/book", "/book?lang=en"):
        page.goto(live_server.url + path)
        assert axe_scan() == [], path


def test_the_journey_works_without_javascript(app, place, browser, live_server):
    context = browser.new_context(java_script_enabled=False, locale="el-GR")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{live_server.url}/book?service=family-status&lang=en")
        page.locator("button.cd-month__day--free").first.click()
        page.wait_for_url("**/time?day=*")
        page.locator("input[name=start]").first.check()
        page.locator(".cd-times-form button[type=submit]").click()
        page.wait_for_url("**/details")
        page.fill("#name", "Amina Haddad")
        page.fill("#phone", "6912345678")
        page.fill("#amka", "01017000017")
        page.locator("main form button[type=submit]").click()
        page.wait_for_url("**/check")
        page.locator("main form button[type=submit]").click()
        page.wait_for_url("**/book/confirmation")
        assert page.locator(".cd-code").is_visible()
        # The print button needs script: without it, it stays hidden.
        assert page.locator("[data-print]").is_hidden()
    finally:
        context.close()
    assert len(booked(app)) == 1


def test_an_office_with_proof_of_work_books_after_the_browser_solves_it(app, page, live_server,
                                                                       axe_scan):
    with app.app_context():
        office = create_office(code="THE1", holiday_country=None, min_notice_hours=0)
        office.proof_of_work = True
        add_rule(office, weekdays=[1, 2, 3, 4, 5, 6, 7], start_time=time(9),
                 end_time=time(12), seats={"public": 3})
        create_service(code="parking", offices=[office], duration_minutes=15,
                       name={"el": "Κάρτα στάθμευσης", "en": "Parking permit"})
        db.session.commit()
    page.goto(f"{live_server.url}/book?service=parking&lang=en")
    page.locator("button.cd-month__day--free").first.click()
    page.locator("input[name=start]").first.check()
    page.locator(".cd-times-form button[type=submit]").click()
    page.fill("#name", "Amina Haddad")
    page.fill("#email", "amina@example.org")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/check")
    page.locator("altcha-widget").get_by_text("I am not a robot").wait_for()
    assert axe_scan() == []
    tab_to(page, "main form button.govgr-btn-primary")
    page.keyboard.press("Enter")  # the widget solves, then sends the form
    page.wait_for_url("**/book/confirmation", timeout=30_000)
    assert len(booked(app)) == 1
