"""``flask --app citizen_desk queue …``: the queue's jobs.

- ``queue close-day`` (cron, after closing, e.g. 23:00): tickets of past days
  still waiting or called expire, and the contacts given for "leave and come
  back" are erased (``daily.close_day``). ``--today`` closes today too (an
  office that closed early); ``--office CODE`` one office only.
"""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from citizen_desk.core import uow
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office
from citizen_desk.queue import daily

queue = AppGroup("queue", help="Walk-in queue jobs (run by cron).")


@queue.command("close-day")
@click.option("--office", "office_code", help="Only this office (its code).")
@click.option("--today", "include_today", is_flag=True,
              help="Close today's queue too (the office has closed).")
def close_day_command(office_code, include_today):
    """Expire tickets left open at the end of the day and erase their contacts."""
    def work():
        office = None
        if office_code:
            office = db.session.scalar(select(Office).where(Office.code == office_code))
            if office is None:
                raise click.ClickException(f"no office with code {office_code!r}")
        return daily.close_day(office, include_today=include_today)
    report = uow.run(work)
    click.echo(f"expired: {report.expired}, contacts erased: {report.contacts_erased}")


def init_app(app):
    app.cli.add_command(queue)
