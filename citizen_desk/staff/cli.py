"""``flask --app citizen_desk staff …``: accounts and tokens from the command line."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from citizen_desk.core import uow
from citizen_desk.core.validation import ValidationError
from citizen_desk.extensions import db
from citizen_desk.offices import queries as offices
from citizen_desk.staff import operations
from citizen_desk.staff.models import AccessToken, Organisation, Role, StaffUser, TokenPurpose

staff = AppGroup("staff", help="Staff accounts, organisations and access tokens.")


def _office_id(code: str | None) -> int | None:
    if not code:
        return None
    office_id = offices.office_id(code)
    if office_id is None:
        raise click.BadParameter(f"no office with code {code!r}", param_hint="--office")
    return office_id


def _run(work):
    """Run ``work`` as one unit of work; a refusal prints its messages and exits 1."""
    try:
        return uow.run(work)
    except ValidationError as exc:
        _fail(exc)


def _fail(exc: ValidationError):
    for field, message in exc.errors.items():
        click.echo(f"error: {field}: {message}" if field else f"error: {message}", err=True)
    sys.exit(1)


@staff.command("create")
@click.option("--email", required=True)
@click.option("--name", "display_name", help="Full name (defaults to the e-mail address).")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--office", help="Office code, for managers and clerks (e.g. ATH1).")
@click.option("--organisation", help="Organisation name, for NGO staff.")
@click.option("--locale", default="el", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create(email, display_name, role, office, organisation, locale, password_stdin):
    """Create a staff account (prompts for the password)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

    def create_user():
        organisation_id = None
        if organisation:
            organisation_id = db.session.scalar(select(Organisation.id).where(
                Organisation.name == organisation))
            if organisation_id is None:
                raise click.BadParameter(f"no organisation named {organisation!r}",
                                         param_hint="--organisation")
        return operations.create_user(
            email=email, display_name=display_name or email, role=Role(role),
            office_id=_office_id(office), organisation_id=organisation_id, password=password,
            locale=locale).email
    created = _run(create_user)
    click.echo(f"created {created} ({role}{' at ' + office if office else ''})")


@staff.command("organisation")
@click.argument("name")
@click.option("--contact-name", default="")
@click.option("--contact-email", default="")
@click.option("--contact-phone", default="")
def organisation(name, contact_name, contact_email, contact_phone):
    """Register an organisation (NGO)."""
    _run(lambda: operations.create_organisation(
        name=name, contact_name=contact_name, contact_email=contact_email,
        contact_phone=contact_phone))
    click.echo(f"created organisation {name!r}")


@staff.command("token")
@click.option("--email", help="A staff member: an integration token acting as them.")
@click.option("--device", help="A device name, e.g. \"Display hall A\".")
@click.option("--office", help="The device's office code.")
@click.option("--purpose", type=click.Choice(["kiosk", "display"]))
def token(email, device, office, purpose):
    """Issue a bearer token; it is printed once and stored only as a hash."""
    if bool(email) == bool(device):
        raise click.UsageError("give either --email or --device (with --office and --purpose)")
    if device and (not office or not purpose):
        raise click.UsageError("--device needs --office and --purpose")

    def issue():
        if email:
            user = operations.find_user(email)
            if user is None:
                raise click.BadParameter(f"no account {email!r}", param_hint="--email")
            row, secret = operations.issue_user_token(user)
        else:
            row, secret = operations.issue_device_token(
                name=device, office_id=_office_id(office), purpose=TokenPurpose(purpose))
        return row.id, row.purpose.value, secret
    token_id, kind, secret = _run(issue)
    click.echo(secret)  # printed only once the token is stored
    click.echo(f"(token #{token_id}, {kind}; shown once, keep it safe)", err=True)


@staff.command("revoke-token")
@click.argument("token_id", type=int)
def revoke_token(token_id):
    """Revoke a token by its number."""
    def revoke():
        row = db.session.get(AccessToken, token_id)
        if row is None:
            raise click.BadParameter(f"no token #{token_id}")
        operations.revoke_token(row)
    _run(revoke)
    click.echo(f"revoked token #{token_id}")


@staff.command("list")
def list_():
    """List staff accounts with their roles."""
    for user in db.session.scalars(select(StaffUser).order_by(StaffUser.email)):
        roles = ", ".join(r.role.value + (f"@{r.office.code}" if r.office else "")
                          for r in user.roles)
        state = "" if user.active else " [disabled]"
        click.echo(f"{user.email:40} {user.display_name:30} {roles}{state}")


@staff.command("disable")
@click.option("--email", required=True)
def disable(email):
    """Disable an account: its sessions and tokens stop working at once."""
    def disable_user():
        user = operations.find_user(email)
        if user is None:
            raise click.BadParameter(f"no account {email!r}", param_hint="--email")
        operations.set_active(user, False)
        return user.email
    click.echo(f"disabled {_run(disable_user)}")
