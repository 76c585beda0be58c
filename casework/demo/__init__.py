"""``flask --app wsgi demo ...``: demo accounts and realistic synthetic cases.

Never for production: every command refuses to run when ``CASEWORK_ENV=production``.
"""

from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import OperationalError, ProgrammingError

from casework.admin.services import AccountError
from casework.auth.passwords import PasswordPolicyError
from casework.db import session
from casework.demo import accounts as demo_accounts
from casework.synthetic import DEFAULT_PARAMETERS, SyntheticParameters


@click.group("demo", help="Demo accounts and synthetic cases (refused in production).")
def demo_cli() -> None:
    pass


def _refuse_production() -> None:
    if current_app.config["CASEWORK"].is_production:
        raise click.ClickException("demo data is never created in a production deployment")


def _accounts(org: str, with_totp: bool) -> demo_accounts.DemoOrganisations:
    """Create the demo organisations and accounts (commits) and print new credentials once."""
    try:
        orgs = demo_accounts.demo_organisations(org)
        created = demo_accounts.ensure_demo_accounts(orgs, with_totp=with_totp)
    except (AccountError, PasswordPolicyError) as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    except (OperationalError, ProgrammingError):
        session.rollback()
        raise click.ClickException("the database has no schema yet: run `flask --app wsgi db upgrade` first") from None
    session.commit()
    new = [a for a in created if a.password is not None]
    for account in created:
        if account.password is None:
            click.echo(f"  {account.role:<11} {account.email}  (exists; password unchanged)")
    if new:
        click.echo("Demo accounts (passwords are shown this once; they are not stored anywhere readable):")
        for account in new:
            click.echo(f"  {account.role:<11} {account.email}  password: {account.password}  ({account.organisation})")
            if account.totp_secret:
                click.echo(f"  {'':<11} TOTP secret for your authenticator app: {account.totp_secret}")
        if not with_totp:
            click.echo(
                "Admin and supervisor accounts must enrol two-factor authentication at first sign-in "
                "(or create them with --totp to get a secret now)."
            )
    return orgs


@demo_cli.command("users")
@click.option("--org", default=demo_accounts.LEAD_ORG, show_default=True, help="Lead agency name.")
@click.option("--totp", "with_totp", is_flag=True, help="Give new admin/supervisor accounts a TOTP secret (printed).")
@with_appcontext
def users_command(org: str, with_totp: bool) -> None:
    """One demo account per role: admin, supervisor, caseworker (lead agency), partner (partner
    NGO), researcher (research institute). Existing demo accounts are left unchanged."""
    _refuse_production()
    _accounts(org, with_totp)


@demo_cli.command("seed")
@click.option("--cases", "n", type=click.IntRange(1, 10_000_000), default=1000, show_default=True)
@click.option("--seed", type=int, default=DEFAULT_PARAMETERS.seed, show_default=True, help="Random seed.")
@click.option("--org", default=demo_accounts.LEAD_ORG, show_default=True, help="Lead agency that owns the cases.")
@click.option("--chunk-size", type=click.IntRange(100, 50_000), default=5000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 16),
    default=min(2, os.cpu_count() or 1),
    show_default=True,
    help="Processes that build and encrypt rows while this one inserts (SQLite).",
)
@click.option("--totp", "with_totp", is_flag=True, help="New admin/supervisor demo accounts get a TOTP secret.")
@with_appcontext
def seed_command(n: int, seed: int, org: str, chunk_size: int, workers: int, with_totp: bool) -> None:
    """Insert N synthetic cases (profiles, consents, services, notes, referrals to the partner
    NGO), assigned to the lead agency's caseworkers. Missing demo accounts are created first."""
    from casework.demo import seed as seeding

    _refuse_production()
    orgs = _accounts(org, with_totp)
    params = SyntheticParameters(seed=seed) if seed != DEFAULT_PARAMETERS.seed else DEFAULT_PARAMETERS

    def progress(done: int, total: int) -> None:
        click.echo(f"  seeded {done:>9,} / {total:,} cases", err=True)

    try:
        result = seeding.seed_cases(n, orgs, params, chunk_size=chunk_size, workers=workers, progress=progress)
    except seeding.SeedError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    rows = ", ".join(f"{count:,} {table}" for table, count in result.counts.items())
    click.echo(
        f"seeded {n:,} cases for {orgs.lead.name} in {result.seconds:.1f} s "
        f"(CPU {result.cpu_seconds:.1f} s here, {result.worker_cpu_seconds:.1f} s in workers): {rows}"
    )
