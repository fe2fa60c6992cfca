"""Staff journeys in a real browser: sign in, the admin pages, accessibility."""
import pytest

from citizen_desk.extensions import db
from citizen_desk.staff.models import Role
from tests.factories import PASSWORD, create_office, create_user

pytestmark = pytest.mark.browser


@pytest.fixture
def admin(app):
    with app.app_context():
        office = create_office("ATH1")
        create_user("admin@example.gr", Role.admin, display_name="Γιώργος Αντωνίου")
        create_user("clerk@example.gr", Role.clerk, office, display_name="Νίκος Δημητρίου")
        db.session.commit()


def sign_in(page, base, email="admin@example.gr", password=PASSWORD):
    page.goto(base + "/staff/login?lang=el")
    page.get_by_label("Διεύθυνση e-mail").fill(email)
    page.get_by_label("Κωδικός πρόσβασης").fill(password)
    page.get_by_role("button", name="Σύνδεση").click()


def test_sign_in_fails_then_succeeds_and_signs_out(page, live_server, admin, axe_scan):
    sign_in(page, live_server.url, password="wrong-password-123")
    assert page.get_by_role("alert").inner_text().startswith("Υπάρχει πρόβλημα")
    assert axe_scan() == []
    sign_in(page, live_server.url)
    page.wait_for_url("**/staff/")
    assert "Καλώς ήρθατε, Γιώργος Αντωνίου" in page.locator("h1").inner_text()
    assert axe_scan() == []
    page.get_by_role("button", name="Αποσύνδεση").click()
    page.wait_for_url("**/staff/login")
    page.goto(live_server.url + "/staff/")
    assert "/staff/login" in page.url


def test_admin_pages_are_accessible(page, live_server, admin, axe_scan):
    sign_in(page, live_server.url)
    page.wait_for_url("**/staff/")
    for path in ("/staff/users", "/staff/users/new", "/staff/tokens", "/staff/tokens/new",
                 "/staff/organisations", "/staff/audit", "/staff/password"):
        page.goto(live_server.url + path)
        assert axe_scan() == [], path


def test_create_account_shows_errors_then_the_temporary_password(page, live_server, admin, axe_scan):
    sign_in(page, live_server.url)
    page.wait_for_url("**/staff/")
    page.goto(live_server.url + "/staff/users/new")
    page.get_by_role("button", name="Δημιουργία λογαριασμού").click()
    summary = page.get_by_role("alert")
    assert "Συμπληρώστε διεύθυνση e-mail" in summary.inner_text()
    assert axe_scan() == []
    page.get_by_label("Ονοματεπώνυμο").fill("Σοφία Γεωργίου")
    page.get_by_label("Διεύθυνση e-mail").fill("sofia@example.gr")
    page.get_by_label("Ρόλος").select_option("clerk")
    page.get_by_label("Γραφείο").select_option(index=1)  # “Γραφείο … (ATH1)”
    page.get_by_role("button", name="Δημιουργία λογαριασμού").click()
    assert page.locator(".cd-secret").inner_text().strip()
