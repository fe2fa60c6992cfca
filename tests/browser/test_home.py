"""First journeys in a real browser: the home page, the language switcher, accessibility."""
import pytest

pytestmark = pytest.mark.browser


def test_home_renders_in_greek_and_switches_to_english_and_back(page, live_server):
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "el"
    assert page.locator("h1").inner_text() == "Οι υπηρεσίες του δημοσίου στη θυρίδα, χωρίς αναμονή"

    page.get_by_role("link", name="English").click()
    page.wait_for_url("**lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Public services at the counter, without the wait"

    # The choice is remembered in the session: a plain link stays English.
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "en"

    page.get_by_role("link", name="Ελληνικά").click()
    page.wait_for_url("**lang=el")
    assert page.locator("html").get_attribute("lang") == "el"


def test_skip_link_moves_focus_to_main_content(page, live_server):
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Μετάβαση στο κύριο περιεχόμενο")
    assert skip.evaluate("el => el === document.activeElement")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main-content"


@pytest.mark.parametrize("path", ["/", "/?lang=en", "/no-such-page"])
def test_pages_have_no_serious_accessibility_violations(page, live_server, axe_scan, path):
    page.goto(live_server.url + path)
    assert axe_scan() == []
