"""``flask --app wsgi audit verify``: check the audit chain from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from casework.audit.verify import BATCH_SIZE, verify_current_chain


@click.group("audit", help="The tamper-evident audit log.")
def audit_cli() -> None:
    pass


@audit_cli.command("verify")
@click.option("--batch-size", default=BATCH_SIZE, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def verify_command(batch_size: int) -> None:
    """Recompute every event's MAC and check every link; exit 1 at the first broken one."""
    report = verify_current_chain(batch_size)
    if report.ok:
        click.echo(report.describe())
        return
    click.echo(report.describe(), err=True)
    sys.exit(1)
