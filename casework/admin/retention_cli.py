"""``flask --app wsgi retention apply [--dry-run]``: erase closed cases whose organisation's
retention period (Organisation.retention_years after closure) has passed."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext

from casework.admin import retention


@click.group("retention", help="Retention: erase closed cases after their organisation's retention period.")
def retention_cli() -> None:
    pass


@retention_cli.command("apply")
@click.option("--dry-run", is_flag=True, help="Only list what would be erased; change nothing.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Apply the rule as of this day (YYYY-MM-DD; default: today).",
)
@with_appcontext
def apply_command(dry_run: bool, today: object) -> None:
    """Erase (crypto-shred) every case due, with the reason "retention policy". Prints case
    references and dates only, never personal data."""
    day = today.date() if today is not None else date.today()  # type: ignore[attr-defined]
    items = retention.apply_retention(day, dry_run=dry_run)
    verb = "would erase" if dry_run else "erased"
    for item in items:
        click.echo(f"{verb} {item.reference}\tclosed {item.closed_on.isoformat()}\tdue {item.due_on.isoformat()}")
    click.echo(f"{len(items)} case(s) {verb}{' (dry run: nothing changed)' if dry_run else ''}.")
