"""Database migrations (Alembic), run from the app's configuration: ``flask --app wsgi db upgrade``."""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import current_app
from flask.cli import with_appcontext

from casework.db import get_db

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config() -> AlembicConfig:
    """An Alembic configuration bound to the current app's engine."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    cfg.attributes["engine"] = get_db(current_app).engine
    return cfg


def upgrade(revision: str = "head") -> None:
    command.upgrade(alembic_config(), revision)


def downgrade(revision: str) -> None:
    command.downgrade(alembic_config(), revision)


@click.group("db", help="Database schema migrations.")
def db_cli() -> None:
    pass


def current_revision() -> str:
    """The database's revision(s), comma-separated ("base" before the first migration)."""
    from alembic.migration import MigrationContext

    with get_db(current_app).engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return ", ".join(heads) or "base"


# Relative revisions ("-1", "+1") start with a dash: take them as the argument, not an option.
RELATIVE = {"ignore_unknown_options": True}


@db_cli.command("upgrade", context_settings=RELATIVE)
@click.argument("revision", default="head")
@with_appcontext
def upgrade_command(revision: str) -> None:
    """Apply migrations up to REVISION (default: head; +1 for one step)."""
    upgrade(revision)
    click.echo(f"database at {current_revision()}")


@db_cli.command("downgrade", context_settings=RELATIVE)
@click.argument("revision")
@with_appcontext
def downgrade_command(revision: str) -> None:
    """Revert migrations down to REVISION (-1: undo the last one; base: everything)."""
    downgrade(revision)
    click.echo(f"database at {current_revision()}")


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@with_appcontext
def revision_command(message: str) -> None:
    """Autogenerate a migration from the models (review it before committing)."""
    command.revision(alembic_config(), message=message, autogenerate=True)


@db_cli.command("current")
@with_appcontext
def current_command() -> None:
    """The database's revision."""
    click.echo(current_revision())
