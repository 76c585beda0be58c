"""The migrations give exactly the models' schema, on SQLite and PostgreSQL, and round-trip."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from casework import migrate
from casework.db import Base, get_db


def _diff(app) -> list:
    with get_db(app).engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def _check_upgrade_matches_models(make_app) -> None:
    app = make_app(create_schema=False)
    with app.app_context():
        migrate.upgrade("head")
    assert _diff(app) == []
    with app.app_context():
        migrate.downgrade("base")
    tables = set(inspect(get_db(app).engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    with app.app_context():
        migrate.upgrade("head")
    assert _diff(app) == []


def test_sqlite_upgrade_matches_models_and_round_trips(make_app):
    _check_upgrade_matches_models(make_app)


@pytest.mark.postgres
def test_postgres_upgrade_matches_models_and_round_trips(make_app):
    _check_upgrade_matches_models(make_app)


def test_single_head(make_app):
    from alembic.script import ScriptDirectory

    app = make_app(create_schema=False)
    with app.app_context():
        heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert len(heads) == 1


def _check_downgrade_one_step(make_app) -> None:
    """``flask db downgrade -1`` (the README's way to undo the last release's migration) goes
    back exactly one revision, and ``flask db upgrade`` comes back to head."""
    from alembic.script import ScriptDirectory

    app = make_app(create_schema=False)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    with app.app_context():
        script = ScriptDirectory.from_config(migrate.alembic_config())
        head = script.get_current_head()
        previous = script.get_revision(head).down_revision
    result = runner.invoke(args=["db", "downgrade", "-1"])
    assert result.exit_code == 0, result.output
    assert previous in result.output
    with get_db(app).engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == previous
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert _diff(app) == []


def test_sqlite_downgrade_one_step(make_app):
    _check_downgrade_one_step(make_app)


@pytest.mark.postgres
def test_postgres_downgrade_one_step(make_app):
    _check_downgrade_one_step(make_app)
