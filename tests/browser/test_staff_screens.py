"""Staff screens in a real browser: the administrator's menu on one line at 1280 px, tables
that use the whole width, and tables that scroll inside themselves on a phone."""
import pytest

from citizen_desk.extensions import db
from citizen_desk.staff.models import Role, TokenPurpose
from tests.browser.test_staff import sign_in
from tests.factories import create_office, create_token, create_user

pytestmark = pytest.mark.browser


@pytest.fixture
def staffed(app):
    with app.app_context():
        office = create_office("ATH1", name={"el": "ΚΕΠ Δήμου Αθηναίων – Κεντρικό",
                                             "en": "KEP Athens – Central"})
        create_user("admin@example.gr", Role.admin, display_name="Γιώργος Αντωνίου")
        for name in ("Οθόνη αίθουσας αναμονής Α", "Κιόσκι εισόδου"):
            token, _ = create_token(TokenPurpose.display, office)
            token.name = name
        db.session.commit()


@pytest.mark.parametrize("lang", ["el", "en"])
def test_admin_menu_fits_one_line_at_1280(page, live_server, staffed, lang):
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/staff/tokens?lang={lang}")
    tops = page.eval_on_selector_all(".cd-staff-nav .govgr-nav__list-item",
                                     "items => items.map(i => Math.round(i.getBoundingClientRect().top))")
    assert len(tops) >= 6 and len(set(tops)) == 1, tops
    nav = page.eval_on_selector(".cd-staff-nav", "n => n.getBoundingClientRect().height")
    assert nav < 100


def test_tables_use_the_whole_width_at_1280(page, live_server, staffed):
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/staff/tokens")
    table = page.eval_on_selector(".govgr-table", "t => t.getBoundingClientRect().width")
    container = page.eval_on_selector("main", "m => m.getBoundingClientRect().width")
    assert table >= container - 2, (table, container)


def test_wide_tables_scroll_inside_themselves_on_a_phone(page, live_server, staffed):
    sign_in(page, live_server.url)
    page.set_viewport_size({"width": 390, "height": 800})
    for path in ("/staff/tokens", "/staff/catalog/offices/ATH1", "/staff/users", "/staff/audit"):
        page.goto(live_server.url + path)
        main_right = page.eval_on_selector("main", "m => m.getBoundingClientRect().right")
        rights = page.eval_on_selector_all(
            ".govgr-table, .cd-table-scroll",
            "ts => ts.map(t => t.getBoundingClientRect().right)")
        assert all(right <= main_right + 1 for right in rights), (path, rights, main_right)
        assert page.is_visible(".cd-staff-nav"), path  # the staff bar stays on a phone
