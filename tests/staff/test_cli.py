"""``flask staff …`` commands."""
from sqlalchemy import select

from citizen_desk.extensions import db
from citizen_desk.staff.models import AccessToken, StaffUser
from tests.factories import create_office


def test_create_list_token_disable(app, runner):
    with app.app_context():
        create_office("ATH1")
        db.session.commit()
    result = runner.invoke(args=["staff", "create", "--email", "Clerk@Example.gr", "--name",
                                 "Νίκος", "--role", "clerk", "--office", "ATH1",
                                 "--password-stdin"], input="lemon-harbour-kiosk-2026\n")
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["staff", "list"])
    assert "clerk@example.gr" in result.output and "clerk@ATH1" in result.output
    result = runner.invoke(args=["staff", "token", "--device", "Οθόνη Α", "--office", "ATH1",
                                 "--purpose", "display"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[0]
    assert secret.startswith("cd_")
    assert app.test_client().get("/api/v1/health",
                                 headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    result = runner.invoke(args=["staff", "token", "--email", "clerk@example.gr"])
    assert result.exit_code == 0
    result = runner.invoke(args=["staff", "disable", "--email", "clerk@example.gr"])
    assert result.exit_code == 0
    with app.app_context():
        user = db.session.scalar(select(StaffUser))
        assert not user.active
        integration = db.session.scalar(select(AccessToken).where(AccessToken.user_id == user.id))
        assert integration.revoked


def test_create_refuses_weak_password_and_unknown_office(app, runner):
    result = runner.invoke(args=["staff", "create", "--email", "a@example.gr", "--role",
                                 "admin", "--password-stdin"], input="password\n")
    assert result.exit_code == 1 and "password" in result.output
    result = runner.invoke(args=["staff", "create", "--email", "a@example.gr", "--role",
                                 "clerk", "--office", "NOPE", "--password-stdin"],
                           input="lemon-harbour-kiosk-2026\n")
    assert result.exit_code != 0 and "NOPE" in result.output
    with app.app_context():
        assert db.session.scalar(select(StaffUser)) is None


def test_ngo_staff_needs_an_existing_organisation(app, runner):
    result = runner.invoke(args=["staff", "create", "--email", "n@example.gr", "--role", "ngo",
                                 "--organisation", "Άγνωστη", "--password-stdin"],
                           input="lemon-harbour-kiosk-2026\n")
    assert result.exit_code != 0
    runner.invoke(args=["staff", "organisation", "Δίκτυο Αλληλεγγύης"])
    result = runner.invoke(args=["staff", "create", "--email", "n@example.gr", "--role", "ngo",
                                 "--organisation", "Δίκτυο Αλληλεγγύης", "--password-stdin"],
                           input="lemon-harbour-kiosk-2026\n")
    assert result.exit_code == 0, result.output


def test_token_needs_email_or_device(runner):
    assert runner.invoke(args=["staff", "token"]).exit_code != 0
    assert runner.invoke(args=["staff", "token", "--device", "X"]).exit_code != 0
