"""``flask --app citizen_desk display public CODE [--off]``: a public waiting-room display.

A public display needs no device token: anyone may open
``/offices/CODE/display``, its stream and its state JSON (ticket numbers and
counters only). Off by default; the change is in the audit log.
"""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from citizen_desk.core import uow
from citizen_desk.display import operations
from citizen_desk.extensions import db
from citizen_desk.offices.models import Office

display = AppGroup("display", help="Waiting-room displays.")


@display.command("public")
@click.argument("code")
@click.option("--off", is_flag=True, help="Close it again: only the office's display tokens.")
def public_command(code, off):
    """Let anyone watch the display of office CODE (or, with --off, no longer)."""
    def work():
        office = db.session.scalar(select(Office).where(Office.code == code))
        if office is None:
            raise click.ClickException(f"no office with code {code!r}")
        return operations.set_public(office, not off)
    changed = uow.run(work)
    state = "private" if off else "public"
    click.echo(f"{code}: display {state}" + ("" if changed else " (unchanged)"))
