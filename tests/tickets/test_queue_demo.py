"""The demo's walk-in queue: device tokens per office printed as kiosk and display links that
pair a browser, and a few desk tickets waiting today, followed on their tracking pages."""
from __future__ import annotations

import re

from sqlalchemy import select

from citizen_desk.extensions import db
from citizen_desk.queue.models import CounterSession, Ticket, TicketKind, TicketStatus
from citizen_desk.staff.models import AccessToken, TokenPurpose


def seeded(runner):
    result = runner.invoke(args=["demo", "seed", "--base-url", "http://127.0.0.1:5999"])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_demo_has_tickets_waiting_today(app, runner):
    seeded(runner)
    with app.app_context():
        tickets = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
        assert len(tickets) >= 6
        assert {t.office.code for t in tickets} == {"ATH1", "THE1"}
        assert {t.status for t in tickets} == {TicketStatus.waiting}
        assert {t.kind for t in tickets} == {TicketKind.staff}
        assert all(t.day == t.office.today() for t in tickets)
        assert any(t.priority for t in tickets)
        assert any(t.needs.get("interpreter") for t in tickets)
        assert any(t.language == "en" for t in tickets)
        # Numbered per office and prefix from 1, as a morning starts.
        ath1_a = [t.number for t in tickets if t.office.code == "ATH1" and t.prefix == "A"]
        assert ath1_a == ["A001", "A002", "A003"]
        # Nobody sits at a counter; the offices keep the house settings.
        assert db.session.scalars(select(CounterSession)).all() == []
        assert {t.office.queue_settings or None for t in tickets} == {None}
        db.session.remove()


def test_the_printed_device_links_pair_a_kiosk_and_a_display(app, runner):
    output = seeded(runner)
    for code in ("ATH1", "THE1"):
        kiosk = re.search(rf"{code} kiosk: http://127\.0\.0\.1:5999(\S+)", output)
        display = re.search(rf"{code} waiting-room display: http://127\.0\.0\.1:5999(\S+)",
                            output)
        assert kiosk and display, output
        client = app.test_client()
        paired = client.get(kiosk.group(1))
        assert paired.status_code in (302, 303) and "token=" not in paired.headers["Location"]
        assert client.get(paired.headers["Location"]).status_code == 200
        shown = app.test_client().get(display.group(1), follow_redirects=True)
        assert shown.status_code == 200
    with app.app_context():
        purposes = db.session.scalars(select(AccessToken.purpose).where(
            AccessToken.purpose.in_([TokenPurpose.kiosk, TokenPurpose.display]))).all()
        assert purposes.count(TokenPurpose.display) >= 2
        db.session.remove()


def test_the_printed_tracking_link_shows_the_ticket(app, runner):
    output = seeded(runner)
    found = re.search(r"ATH1 ticket (\w+) followed by its citizen: http://127\.0\.0\.1:5999(\S+)",
                      output)
    assert found, output
    page = app.test_client().get(found.group(2))
    assert page.status_code == 200
    assert found.group(1) in page.get_data(as_text=True)
    assert "/staff/queue/" in output
