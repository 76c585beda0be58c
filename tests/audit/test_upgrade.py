"""A database whose audit log is the former HMAC chain verifies after the upgrade: its events
keep their chain MACs and become the first leaves of the tree; new events follow them."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from casework import migrate
from casework.audit import writer
from casework.audit.sequencer import integrate_pending
from casework.crypto import get_keyring
from casework.db import get_db, session, utcnow

BOTH_DATABASES = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]
BEFORE = "5d1f0a7c3e21"  # the last revision with the HMAC chain


def old_chain_mac(key: bytes, row: dict) -> str:
    """The former writer's MAC (casework/audit/writer.py before issue 17), written out here so
    that this test does not depend on the code it checks."""
    fields = [
        str(row["id"]),
        row["occurred_at"].strftime("%Y-%m-%dT%H:%M:%S.%f"),
        str(row["actor_id"] or ""),
        "",
        row["actor_role"] or "",
        row["action"],
        row["outcome"],
        "",
        "",
        "",
        json.dumps(row["details"] or {}, sort_keys=True, separators=(",", ":")),
        row["remote_addr"] or "",
        row["prev_mac"],
    ]
    return hmac.new(key, "\x1f".join(fields).encode(), hashlib.sha256).hexdigest()


def write_old_chain(app, count: int) -> None:
    with app.app_context():
        key = get_keyring().audit_key
        previous = "0" * 64
        start = utcnow() - timedelta(days=3)
        with get_db(app).engine.begin() as connection:
            for number in range(1, count + 1):
                row = {
                    "id": number,
                    "occurred_at": (start + timedelta(seconds=number)).replace(tzinfo=None),
                    "actor_id": uuid.uuid4(),
                    "actor_role": "caseworker",
                    "action": "case.view",
                    "outcome": "ok",
                    "details": {"n": number},
                    "remote_addr": "10.0.0.7",
                    "prev_mac": previous,
                }
                row["mac"] = old_chain_mac(key, row)
                connection.execute(
                    text(
                        "INSERT INTO audit_events (id, occurred_at, actor_id, actor_role, action, outcome, "
                        "details, remote_addr, prev_mac, mac) VALUES (:id, :occurred_at, :actor_id, :actor_role, "
                        ":action, :outcome, :details, :remote_addr, :prev_mac, :mac)"
                    ),
                    {**row, "details": json.dumps(row["details"]), "actor_id": _uuid_param(app, row["actor_id"])},
                )
                previous = row["mac"]
            connection.execute(
                text("INSERT INTO audit_chain_head (id, last_event_id, last_mac) VALUES (1, :last, :mac)"),
                {"last": count, "mac": previous},
            )


def _uuid_param(app, value: uuid.UUID) -> object:
    return value.hex if get_db(app).is_sqlite else value


def verify(runner):
    return runner.invoke(args=["audit", "verify"])


@pytest.mark.parametrize("database", BOTH_DATABASES)
def test_an_existing_chain_verifies_after_the_upgrade(make_app, database):
    app = make_app(create_schema=False)
    runner = app.test_cli_runner()
    with app.app_context():
        migrate.upgrade(BEFORE)
    write_old_chain(app, 12)
    with app.app_context():
        migrate.upgrade("head")
    # Before the sequencer's first round: the old chain is checked link by link.
    result = verify(runner)
    assert result.exit_code == 0 and "chain intact: 12 events (0 in the tree" in result.output, result.output

    with app.app_context():
        integrate_pending()
        new_id = writer.record("test.after_upgrade")
        session.commit()
        integrate_pending()
        leaves = session.execute(text("SELECT id, leaf_index FROM audit_events ORDER BY leaf_index")).all()
    assert new_id == 13  # PostgreSQL's id sequence continues after the former writer's ids
    assert [(row.id, row.leaf_index) for row in leaves] == [(n, n - 1) for n in range(1, 14)]
    result = verify(runner)
    assert result.exit_code == 0 and "chain intact: 13 events (13 in the tree" in result.output, result.output
    assert runner.invoke(args=["audit", "prove", "4"]).exit_code == 0

    # An old event changed after the upgrade is still caught by its chain MAC.
    with get_db(app).engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET outcome = 'refused' WHERE id = 4"))
    result = verify(runner)
    assert result.exit_code == 1 and "event id 4" in result.output
