"""``flask --app citizen_desk notify …``: the booking jobs that cron runs.

- ``notify reminders`` (once a day, e.g. at 18:00): a reminder mail for each
  confirmed appointment of tomorrow (in its office's zone) that has an e-mail
  address and has not been reminded. Idempotent: run it twice, or twice at
  once, and each appointment is reminded once (``notices.send_reminders``).
- ``notify expire`` (every few minutes): pending double opt-in bookings past
  their deadline are marked expired. Their seats were free from the deadline
  on already; this only tidies their status (and their event).

Each run is one unit of work; the reminders are sent after its commit, over
one SMTP connection, and what could not be sent stays in the outbox for
``outbox send``.
"""
from __future__ import annotations

import click
from flask.cli import AppGroup

from citizen_desk.booking import notices, operations
from citizen_desk.core import uow
from citizen_desk.core.outbox import send_due

notify = AppGroup("notify", help="Reminders and other booking jobs (run by cron).")


@notify.command("reminders")
def reminders_command():
    """Send reminders for tomorrow's appointments (run once a day)."""
    mail_ids = uow.run(notices.send_reminders)
    report = send_due(limit=len(mail_ids), ids=mail_ids) if mail_ids else None
    click.echo(f"reminders: {len(mail_ids)} queued, {report.sent if report else 0} sent")


@notify.command("expire")
def expire_command():
    """Mark pending bookings whose confirmation deadline passed as expired."""
    expired = uow.run(operations.expire_unconfirmed)
    click.echo(f"expired: {expired}")


def init_app(app):
    app.cli.add_command(notify)
