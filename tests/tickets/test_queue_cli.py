"""The queue from the command line: a clerk's account and API token made with
``flask staff create|token`` call tickets through the API; ``flask queue close-day``
expires what was left open and erases the contacts."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from citizen_desk.catalog.models import Service
from citizen_desk.core import uow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import operations as ops
from citizen_desk.queue.models import Ticket, TicketStatus


def office_code(app, desk) -> str:
    with app.app_context():
        code = db.session.get(Office, desk.office_id).code
        db.session.remove()
    return code


def issue(app, desk, **kw) -> int:
    def work():
        ticket, _ = ops.issue(db.session.get(Office, desk.office_id),
                              db.session.get(Service, desk.a_id), **kw)
        return ticket.id
    with app.app_context():
        try:
            return uow.run(work)
        finally:
            db.session.remove()


def ticket(app, ticket_id) -> Ticket:
    with app.app_context():
        found = db.session.get(Ticket, ticket_id)
        db.session.expunge(found)
        db.session.remove()
    return found


def test_a_clerk_made_on_the_command_line_calls_through_the_api(app, desk, runner):
    code = office_code(app, desk)
    made = runner.invoke(args=["staff", "create", "--email", "clerk.cli@example.gr", "--role",
                               "clerk", "--office", code, "--password-stdin"],
                         input="a-long-enough-pass-phrase-2026\n")
    assert made.exit_code == 0, made.output
    assert f"clerk at {code}" in made.output
    issued = runner.invoke(args=["staff", "token", "--email", "clerk.cli@example.gr"])
    assert issued.exit_code == 0, issued.output
    secret = issued.stdout.strip().splitlines()[0]
    assert secret.startswith("cd_") and len(secret) > 30

    waiting = issue(app, desk)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    called = client.post(f"/api/v1/counters/{desk.counter1_id}/call-next", headers=headers)
    assert called.status_code == 200, called.get_data(as_text=True)
    assert called.json["number"] == ticket(app, waiting).number
    assert called.json["counter"]["id"] == desk.counter1_id
    assert client.post(f"/api/v1/counters/{desk.counter1_id}/call-next",
                       headers=headers).status_code == 204
    # The token acts for that clerk only at their office: another office's counter is refused.
    with app.app_context():
        from tests.factories import create_office
        other = create_office()
        from citizen_desk.catalog import operations as catalog_ops
        foreign = catalog_ops.add_counter(other, "9", {"el": "Θυρίδα 9"}).id
        db.session.commit()
        db.session.remove()
    refused = client.post(f"/api/v1/counters/{foreign}/call-next", headers=headers)
    assert refused.status_code in (403, 404)


def test_a_clerk_needs_an_existing_office(app, runner):
    made = runner.invoke(args=["staff", "create", "--email", "x@example.gr", "--role", "clerk",
                               "--office", "NOPE", "--password-stdin"],
                         input="a-long-enough-pass-phrase-2026\n")
    assert made.exit_code != 0
    with app.app_context():
        from citizen_desk.staff.models import StaffUser
        assert db.session.scalar(select(StaffUser).where(StaffUser.email == "x@example.gr")) \
            is None
        db.session.remove()


def test_close_day_expires_yesterdays_tickets_and_erases_contacts(app, desk, runner):
    old = issue(app, desk, notify_phone="+306912345678")
    today = issue(app, desk, notify_email="today@example.org")
    with app.app_context():
        row = db.session.get(Ticket, old)
        row.day = row.day - timedelta(days=1)
        db.session.commit()
        db.session.remove()

    result = runner.invoke(args=["queue", "close-day"])
    assert result.exit_code == 0, result.output
    assert "expired: 1, contacts erased: 1" in result.output
    closed = ticket(app, old)
    assert closed.status == TicketStatus.expired and closed.notify_phone is None
    assert ticket(app, today).status == TicketStatus.waiting
    assert ticket(app, today).notify_email == "today@example.org"

    again = runner.invoke(args=["queue", "close-day"])
    assert "expired: 0, contacts erased: 0" in again.output

    code = office_code(app, desk)
    closing = runner.invoke(args=["queue", "close-day", "--office", code, "--today"])
    assert closing.exit_code == 0 and "expired: 1, contacts erased: 1" in closing.output
    assert ticket(app, today).status == TicketStatus.expired
    assert ticket(app, today).notify_email is None


def test_close_day_refuses_an_unknown_office(runner):
    result = runner.invoke(args=["queue", "close-day", "--office", "NOPE"])
    assert result.exit_code != 0 and "NOPE" in result.output
