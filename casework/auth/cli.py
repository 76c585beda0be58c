"""``flask --app wsgi users create``: accounts from the command line (passwords never as arguments)."""

from __future__ import annotations

import secrets
import sys

import click
from flask.cli import with_appcontext

from casework import vocab
from casework.admin import services as admin_services
from casework.auth.passwords import PasswordPolicyError
from casework.db import session


@click.group("users", help="User accounts.")
def users_cli() -> None:
    pass


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([c.code for c in vocab.ROLES]))
@click.option("--org", "org_name", required=True, help="Organisation name (created if new).")
@click.option("--name", "display_name", help="Display name (default: the email's local part).")
@click.option(
    "--generate-password",
    is_flag=True,
    help="Generate a one-time password, print it once, and require a change at first sign-in.",
)
@with_appcontext
def create_command(email: str, role: str, org_name: str, display_name: str | None, generate_password: bool) -> None:
    """Create a user. The password is read from stdin (or prompted), never from an argument."""
    if generate_password:
        password = secrets.token_urlsafe(15)
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        org = admin_services.get_or_create_organisation(org_name, admin_services.default_org_kind(role))
        user = admin_services.create_user(
            email=email,
            display_name=display_name or email.split("@")[0],
            role=role,
            organisation=org,
            password=password,
            must_change_password=generate_password,
            actor=None,
        )
    except (PasswordPolicyError, admin_services.AccountError) as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    session.commit()
    click.echo(f"created {user.role} {user.email} in {org.name}")
    if generate_password:
        click.echo(f"one-time password (shown once, must be changed at first sign-in): {password}")


@users_cli.command("bootstrap")
@click.option("--email", default="admin@casework.local", show_default=True)
@click.option("--org", "org_name", default="Lead agency", show_default=True)
@with_appcontext
def bootstrap_command(email: str, org_name: str) -> None:
    """Create the first administrator if there is none; print its one-time password once."""
    from sqlalchemy import select

    from casework.auth.models import User

    if session.execute(select(User.id).where(User.role == "admin", User.active.is_(True))).first():
        click.echo("an administrator exists; nothing to do")
        return
    password = secrets.token_urlsafe(15)
    org = admin_services.get_or_create_organisation(org_name, "lead_agency")
    admin_services.create_user(
        email=email,
        display_name="Administrator",
        role="admin",
        organisation=org,
        password=password,
        must_change_password=True,
        actor=None,
    )
    session.commit()
    click.echo("=" * 64)
    click.echo(f"First administrator: {email}")
    click.echo(f"One-time password (shown once; change it at first sign-in): {password}")
    click.echo("Two-factor authentication is set up at first sign-in.")
    click.echo("=" * 64)
