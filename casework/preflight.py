"""``flask --app wsgi preflight``: what scripts/serve checks before it starts gunicorn.

The schema must be at this release's head (several hosts start at once: none of them
migrates; `db upgrade` is run once, from one host, per release), and the keyring must be the
database's own (:mod:`casework.crypto.ownership`). Alembic is imported here, in the short-lived
preflight process, and never by a gunicorn worker.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


class SchemaNotCurrent(click.ClickException):
    """The database is not at the migrations' head."""


def schema_problem() -> str | None:
    """Why the database's schema is not this release's, or None. Raises SQLAlchemyError when
    the database cannot be read."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from casework.db import get_db
    from casework.migrate import alembic_config

    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with get_db(current_app).engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current == heads:
        return None
    have = ", ".join(sorted(current)) or "no schema"
    return f"the database is at {have}, this release needs {', '.join(sorted(heads))}"


@click.command("preflight")
@with_appcontext
def preflight_command() -> None:
    """Refuse to serve unless the schema is current and the keyring is the database's own."""
    from sqlalchemy.exc import SQLAlchemyError

    from casework.crypto.ownership import KeyringMismatch, check_keyring_matches_database

    try:
        problem = schema_problem()
    except SQLAlchemyError as exc:
        raise click.ClickException(f"the database cannot be read ({type(exc).__name__})") from None
    if problem is not None:
        raise SchemaNotCurrent(f"{problem}: run `scripts/manage db upgrade` on one host, then start again.")
    try:
        check_keyring_matches_database(current_app)
    except KeyringMismatch as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("schema current; the keyring matches the database")
