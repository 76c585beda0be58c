"""Attacks by someone with write access to the database but not the audit key: cutting off the
end of the log, wiping it, or putting back an older copy of the database. The checkpoints
anchored outside the database (an append-only file) show all three; `keys check` too."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from casework.db import get_db

BOTH_DATABASES = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


def settle(app: Flask) -> None:
    """Integrate every appended event into the tree (as the sequencer does within a second)."""
    try:
        from casework.audit.sequencer import integrate_pending
    except ImportError:  # the code before the Merkle log: nothing to integrate
        return
    with app.app_context():
        while integrate_pending() is not None:
            pass


def attacker(raw_sql, *statements: str) -> None:
    """Run each statement; one naming a table this version does not have is skipped."""
    for statement in statements:
        try:
            raw_sql(statement)
        except SQLAlchemyError:
            pass


def verify(runner):
    return runner.invoke(args=["audit", "verify"])


@pytest.mark.parametrize("database", BOTH_DATABASES)
def test_cutting_off_the_tail_is_detected(app, runner, write_events, raw_sql, database):
    write_events(30)
    settle(app)
    assert verify(runner).exit_code == 0
    # Delete the last 25 events, point the chain head at the new last one, drop what names them.
    attacker(
        raw_sql,
        "DELETE FROM audit_events WHERE id > 5",
        "UPDATE audit_chain_head SET last_event_id = 5, last_mac = (SELECT mac FROM audit_events WHERE id = 5)",
        "DELETE FROM audit_checkpoints WHERE tree_size > 5",
    )
    result = verify(runner)
    assert result.exit_code == 1, result.output
    assert "chain intact" not in result.output


@pytest.mark.parametrize("database", BOTH_DATABASES)
def test_wiping_the_whole_log_is_detected(app, runner, write_events, raw_sql, database):
    write_events(12)
    settle(app)
    attacker(
        raw_sql,
        "DELETE FROM audit_events",
        "DELETE FROM audit_chain_head",
        "DELETE FROM audit_checkpoints",
        "DELETE FROM audit_sequencer_lease",
    )
    result = verify(runner)
    assert result.exit_code == 1, result.output
    assert "chain intact: 0 events" not in result.output
    keys = runner.invoke(args=["keys", "check"])
    assert keys.exit_code != 0, keys.output


def test_putting_back_an_older_copy_of_the_database_is_detected(app, runner, write_events, tmp_path: Path):
    database = Path(get_db(app).engine.url.database or "")
    write_events(10)
    settle(app)
    older = tmp_path / "older.sqlite3"
    with sqlite3.connect(database) as source, sqlite3.connect(older) as copy:
        source.backup(copy)
    write_events(10)
    settle(app)
    assert verify(runner).exit_code == 0
    get_db(app).engine.dispose()
    with sqlite3.connect(older) as copy, sqlite3.connect(database) as target:
        copy.backup(target)
    get_db(app).engine.dispose()
    result = verify(runner)
    assert result.exit_code == 1, result.output
    keys = runner.invoke(args=["keys", "check"])
    assert keys.exit_code != 0, keys.output


@pytest.mark.parametrize("database", BOTH_DATABASES)
def test_rolling_back_the_head_to_an_earlier_event_is_detected(app, runner, write_events, raw_sql, database):
    write_events(8)
    settle(app)
    write_events(4)
    settle(app)
    # The attacker keeps the rows as they were after the first eight events (an older state).
    attacker(
        raw_sql,
        "DELETE FROM audit_events WHERE id > 8",
        "UPDATE audit_chain_head SET last_event_id = 8, last_mac = (SELECT mac FROM audit_events WHERE id = 8)",
        "DELETE FROM audit_checkpoints WHERE tree_size > 8",
    )
    result = verify(runner)
    assert result.exit_code == 1, result.output


def test_a_fresh_database_with_no_anchor_is_intact(runner):
    result = verify(runner)
    assert result.exit_code == 0 and "chain intact: 0 events" in result.output


def test_the_anchor_file_is_outside_the_database(app):
    anchor = app.config["CASEWORK"].audit_anchor_path
    assert anchor.parent == app.config["CASEWORK"].instance_path
