"""``flask tasks sync``: derive the deadlines of records stored before deadlines were derived."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from casework.db import session
from casework.tasks import derived


@click.group("tasks", help="Tasks and derived deadlines.")
def tasks_cli() -> None:
    pass


@tasks_cli.command("sync")
@with_appcontext
def sync_command() -> None:
    """Derive (or move) the deadline of every dated record; safe to run again."""
    seen = derived.sync_all(session)
    click.echo(f"records looked at: {seen}")
