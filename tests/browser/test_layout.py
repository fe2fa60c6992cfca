"""The shared layout in a real browser: phones, zoom, Greek typography, the favicon, printing.

Widths: 390 px is a common phone, 320 px the narrowest one WCAG's reflow
criterion (1.4.10) asks for; 200 % zoom of a 1280 px window is a 640 px wide
CSS viewport at a device pixel ratio of 2, which is what Chromium gives a page
zoomed that way.
"""
import re

import pytest

from citizen_desk.catalog.demo import demo_document
from citizen_desk.catalog.transfer.importer import import_catalog
from citizen_desk.extensions import db
from citizen_desk.staff.models import Role
from tests.browser.test_staff import sign_in
from tests.factories import create_user

pytestmark = pytest.mark.browser

PUBLIC = ["/", "/services", "/services?q=πιστοποιητικο", "/services?q=xyzzy",
          "/services/family-status", "/offices", "/offices/ATH1", "/no-such-page"]
STAFF = ["/staff/", "/staff/catalog/offices/ATH1", "/staff/catalog/services", "/staff/users",
         "/staff/tokens", "/staff/audit", "/staff/users/new",
         "/staff/catalog/services/family-status/edit"]

SCROLL_WIDTH = "[document.documentElement.scrollWidth, window.innerWidth]"


@pytest.fixture
def demo(app):
    with app.app_context():
        import_catalog(demo_document())
        create_user("admin@example.gr", Role.admin, display_name="Γιώργος Αντωνίου")
        db.session.commit()


@pytest.fixture
def new_page(browser, live_server):
    """Pages with a chosen viewport; closed at the end of the test."""
    contexts = []

    def make(width, height=800, scale=1):
        context = browser.new_context(locale="el-GR", device_scale_factor=scale,
                                      viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page
    yield make
    for context in contexts:
        context.close()


def with_lang(path, lang):
    return path + ("&" if "?" in path else "?") + "lang=" + lang


def sideways(page, base, paths, lang):
    """The pages (of ``paths``) wider than the window, with their widths."""
    wide = {}
    for path in paths:
        page.goto(base + with_lang(path, lang))
        scroll, inner = page.evaluate(SCROLL_WIDTH)
        if scroll > inner:
            wide[path] = scroll
    return wide


@pytest.mark.parametrize("lang", ["el", "en"])
@pytest.mark.parametrize("width", [390, 320])
def test_public_pages_do_not_scroll_sideways_on_a_phone(demo, live_server, new_page, width, lang):
    page = new_page(width)
    assert sideways(page, live_server.url, PUBLIC, lang) == {}


@pytest.mark.parametrize("lang", ["el", "en"])
@pytest.mark.parametrize("width", [390, 320])
def test_staff_pages_do_not_scroll_sideways_on_a_phone(demo, live_server, new_page, width, lang):
    page = new_page(width)
    sign_in(page, live_server.url)
    page.wait_for_url("**/staff/")
    assert sideways(page, live_server.url, ["/staff/login"] + STAFF, lang) == {}


@pytest.mark.parametrize("lang", ["el", "en"])
def test_public_pages_do_not_scroll_sideways_at_200_percent_zoom(demo, live_server, new_page,
                                                                  lang):
    page = new_page(640, 450, scale=2)
    assert page.evaluate("window.devicePixelRatio") == 2
    assert sideways(page, live_server.url, PUBLIC, lang) == {}


def test_header_and_footer_span_the_phone_and_the_english_link_is_on_screen(
        demo, live_server, new_page):
    page = new_page(390)
    page.goto(live_server.url + "/services/family-status")
    for selector in ("header", "footer"):
        box = page.locator(selector).bounding_box()
        assert (box["x"], box["width"]) == (0, 390), selector
    english = page.get_by_role("link", name="English").bounding_box()
    assert english["x"] >= 0 and english["x"] + english["width"] <= 390


@pytest.mark.parametrize("width", [1280, 390])
def test_header_title_main_column_and_footer_share_one_left_edge(demo, live_server, new_page,
                                                                 width):
    page = new_page(width)
    page.goto(live_server.url + "/")
    lefts = page.evaluate("""() => [
        '.govgr-header-title', 'main h1', '.govgr-footer__inline-list-item a',
        '.govgr-footer__licence-description',
    ].map(s => Math.round(document.querySelector(s).getBoundingClientRect().left))""")
    assert len(set(lefts)) == 1, lefts


@pytest.mark.parametrize("path", ["/", "/services", "/services/family-status"])
def test_the_lead_paragraph_keeps_its_distance_from_what_follows(demo, live_server, new_page,
                                                                path):
    for width in (1280, 390):
        page = new_page(width)
        page.goto(live_server.url + path)
        gap = page.evaluate("""() => {
            const lead = document.querySelector('main .govgr-body-l');
            const next = lead.nextElementSibling;
            return next.getBoundingClientRect().top - lead.getBoundingClientRect().bottom;
        }""")
        assert gap >= 16, (path, width, gap)


# A word is split when its text, wrapped in its own inline box, makes two line boxes.
SPLIT_WORDS = """(selector) => {
    const split = [];
    for (const element of document.querySelectorAll(selector)) {
        const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
        const texts = [];
        while (walker.nextNode()) texts.push(walker.currentNode);
        for (const text of texts) {
            const range = document.createRange();
            for (const match of text.data.matchAll(/[^\\s\\u2013–-]+/g)) {
                range.setStart(text, match.index);
                range.setEnd(text, match.index + match[0].length);
                const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                if (lines.size > 1) split.push(match[0]);
            }
        }
    }
    return split;
}"""


@pytest.mark.parametrize("lang", ["el", "en"])
@pytest.mark.parametrize("width", [1280, 1024, 768, 640, 390, 320])
def test_no_word_is_split_across_lines_on_the_service_page(demo, live_server, new_page,
                                                           width, lang):
    page = new_page(width)
    page.goto(live_server.url + with_lang("/services/family-status", lang))
    assert page.evaluate(SPLIT_WORDS, "main dt, main th, main h1, main h2, main h3") == []


def greek(app, message, **values):
    """``message`` as the Greek pages show it (English until its translation is merged)."""
    from flask_babel import gettext
    with app.test_request_context("/?lang=el"):
        return gettext(message, **values)


def test_a_search_that_finds_nothing_says_so_and_suggests_what_to_do(app, demo, live_server,
                                                                    new_page):
    page = new_page(1280)
    page.goto(live_server.url + "/services?q=xyzzy&lang=el")
    heading = page.locator("h2#results").inner_text()
    assert heading == greek(app, "No services found for “%(query)s”", query="xyzzy")
    assert "0" not in heading
    assert "Ελέγξτε την ορθογραφία" in page.locator("main").inner_text()
    page.get_by_role("link", name=greek(app, "Browse the services by category")).click()
    page.wait_for_url(re.compile(r".*/services$"))
    page.goto(live_server.url + "/services?q=xyzzy&lang=en")
    assert page.locator("h2#results").inner_text() == "No services found for “xyzzy”"


def test_one_result_is_counted_in_the_singular(demo, live_server, new_page):
    page = new_page(1280)
    page.goto(live_server.url + "/services?q=ΓΝΗΣΙΟΥ ΥΠΟΓΡΑΦΗΣ&lang=el")
    assert page.locator("h2#results").inner_text().startswith("Βρέθηκε 1 υπηρεσία για")


def test_the_staff_menu_is_reachable_on_a_phone(demo, live_server, new_page):
    page = new_page(390)
    sign_in(page, live_server.url)
    page.wait_for_url("**/staff/")
    menu = page.get_by_role("navigation", name="Μενού προσωπικού")
    link = menu.get_by_role("link", name="Λογαριασμοί", exact=True)
    assert link.is_visible()
    box = link.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    link.click()
    page.wait_for_url("**/staff/users")


def test_every_page_has_an_icon_and_nothing_it_loads_is_missing(demo, live_server, new_page):
    page = new_page(1280)
    failed = []
    page.on("response", lambda r: r.status >= 400 and failed.append((r.status, r.url)))
    page.goto(live_server.url + "/services/family-status")
    page.wait_for_load_state("networkidle")
    assert failed == []
    icons = page.eval_on_selector_all("link[rel~=icon]", "ls => ls.map(l => l.href)")
    assert icons
    for url in icons + [live_server.url + "/favicon.ico"]:
        response = page.request.get(url)
        assert response.status == 200, url
        assert response.headers["content-type"].startswith("image/"), url


def test_the_checklist_has_a_print_button_and_prints_without_the_site_around_it(
        app, demo, live_server, new_page):
    page = new_page(1280)
    # Record the call instead of opening the print dialog.
    page.add_init_script("window.print = () => { window.printed = (window.printed || 0) + 1; }")
    page.goto(live_server.url + "/services/family-status?lang=el")
    button = page.get_by_role("button", name=greek(app, "Print the list"))
    button.click()
    assert page.evaluate("window.printed") == 1

    page.emulate_media(media="print")
    for selector in ("header", "footer", ".govgr-breadcrumbs", ".cd-print-button"):
        assert not page.locator(selector).first.is_visible(), selector
    assert page.get_by_role("heading", name="Έγγραφα που χρειάζεστε").is_visible()
    address = page.locator(".cd-print-address")
    assert address.is_visible()
    assert live_server.url + "/services/family-status" in address.inner_text()
    colours = page.evaluate("""() => [...document.querySelectorAll('main *')]
        .filter(e => e.offsetParent && e.textContent.trim())
        .map(e => getComputedStyle(e).color)""")
    assert set(colours) == {"rgb(0, 0, 0)"}


def test_the_print_button_is_hidden_without_javascript(app, demo, browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/services/family-status?lang=el")
        assert not page.get_by_role("button", name=greek(app, "Print the list")).is_visible()
        assert "εκτυπώστε" in page.locator(".cd-checklist").inner_text()
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/", "/services?q=xyzzy", "/services/family-status",
                                  "/offices/ATH1"])
def test_phone_pages_have_no_serious_accessibility_violations(demo, page, live_server,
                                                              axe_scan, path):
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(live_server.url + path)
    assert axe_scan() == []
