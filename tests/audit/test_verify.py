"""The audit log: `flask audit verify` finds a changed, deleted or inserted row, or a cut-off
end, and names the event id (or the leaf of the tree) where it breaks."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from casework.audit.verify import verify_chain
from casework.crypto import get_keyring
from casework.db import session
from tests.audit.helpers import audit_events


def verify(runner, *extra: str):
    return runner.invoke(args=["audit", "verify", *extra])


def test_intact_chain(runner, write_events):
    write_events(7)
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "chain intact: 7 events" in result.output


def test_empty_chain_is_intact(runner):
    result = verify(runner)
    assert result.exit_code == 0
    assert "chain intact: 0 events" in result.output


@pytest.mark.parametrize("batch_size", ["1", "2", "3", "1000"])
def test_batches_do_not_change_the_answer(runner, write_events, raw_sql, batch_size):
    write_events(6)
    assert "chain intact: 6 events" in verify(runner, "--batch-size", batch_size).output
    raw_sql("UPDATE audit_events SET outcome = 'refused' WHERE id = 5")
    result = verify(runner, "--batch-size", batch_size)
    assert result.exit_code == 1 and "event id 5" in result.output


def test_changed_row_is_detected(runner, write_events, raw_sql):
    write_events(6)
    raw_sql("UPDATE audit_events SET action = 'case.harmless' WHERE id = 3")
    result = verify(runner)
    assert result.exit_code == 1
    assert "chain broken at event id 3" in result.output
    assert "does not match its MAC" in result.output


def test_changed_details_are_detected(runner, write_events, raw_sql):
    write_events(4)
    raw_sql("UPDATE audit_events SET details = '{\"n\": 99}' WHERE id = 2")
    result = verify(runner)
    assert result.exit_code == 1 and "event id 2" in result.output


def test_row_with_a_new_mac_but_no_key_is_detected(runner, write_events, raw_sql):
    # An attacker who rewrites a row and its MAC still cannot forge the MAC.
    write_events(5)
    raw_sql("UPDATE audit_events SET action = 'case.harmless', mac = :forged WHERE id = 2", forged="f" * 64)
    result = verify(runner)
    assert result.exit_code == 1 and "event id 2" in result.output


def test_an_event_not_integrated_yet_is_checked_on_its_own(runner, write_events, raw_sql):
    write_events(3)
    write_events(2, integrate=False)
    assert "chain intact: 5 events (3 in the tree" in verify(runner).output
    raw_sql("UPDATE audit_events SET outcome = 'refused' WHERE id = 5")
    result = verify(runner)
    assert result.exit_code == 1 and "event id 5" in result.output


def test_deleted_row_is_detected(runner, write_events, raw_sql):
    write_events(6)
    raw_sql("DELETE FROM audit_events WHERE id = 4")
    result = verify(runner)
    assert result.exit_code == 1
    assert "chain broken at leaf 3 of the tree" in result.output
    assert "missing" in result.output


def test_deleted_first_row_is_detected(runner, write_events, raw_sql):
    write_events(3)
    raw_sql("DELETE FROM audit_events WHERE id = 1")
    result = verify(runner)
    assert result.exit_code == 1 and "leaf 0" in result.output


def test_deleted_and_renumbered_rows_are_detected(runner, write_events, raw_sql):
    write_events(5)
    raw_sql("DELETE FROM audit_events WHERE id = 3")
    raw_sql("UPDATE audit_events SET id = id - 1, leaf_index = leaf_index - 1 WHERE id > 3")
    result = verify(runner)
    assert result.exit_code == 1 and "chain broken" in result.output


def test_cut_off_end_is_detected(runner, write_events, raw_sql):
    write_events(5)
    raw_sql("DELETE FROM audit_events WHERE id = 5")
    result = verify(runner)
    assert result.exit_code == 1
    assert "names 5 events, the tree holds 4" in result.output


def test_inserted_row_is_detected(runner, write_events, raw_sql):
    write_events(4)
    raw_sql(
        "INSERT INTO audit_events (id, occurred_at, action, outcome, prev_mac, mac) "
        "SELECT 5, occurred_at, 'login.success', 'ok', mac, :forged FROM audit_events WHERE id = 4",
        forged="a" * 64,
    )
    result = verify(runner)
    assert result.exit_code == 1
    assert "chain broken at event id 5" in result.output


def test_inserted_row_with_head_moved_is_detected(runner, write_events, raw_sql):
    write_events(4)
    raw_sql(
        "INSERT INTO audit_events (id, occurred_at, action, outcome, prev_mac, mac) "
        "SELECT 5, occurred_at, 'login.success', 'ok', mac, :forged FROM audit_events WHERE id = 4",
        forged="a" * 64,
    )
    raw_sql("UPDATE audit_chain_head SET last_event_id = 5, last_mac = :forged", forged="a" * 64)
    result = verify(runner)
    assert result.exit_code == 1 and "event id 5" in result.output


def test_inserted_row_in_a_gap_is_detected(runner, write_events, raw_sql):
    write_events(4)
    raw_sql(
        "INSERT INTO audit_events (id, occurred_at, action, outcome, prev_mac, mac) "
        "SELECT 40, occurred_at, 'login.success', 'ok', mac, :forged FROM audit_events WHERE id = 4",
        forged="a" * 64,
    )
    result = verify(runner)
    assert result.exit_code == 1 and "event id 40" in result.output


def test_deleted_checkpoints_are_detected(runner, write_events, raw_sql):
    write_events(2)
    raw_sql("DELETE FROM audit_checkpoints")
    result = verify(runner)
    assert result.exit_code == 1 and "have no checkpoint" in result.output


def test_a_forged_checkpoint_is_detected(runner, write_events, raw_sql):
    write_events(3)
    raw_sql("UPDATE audit_checkpoints SET root_hash = :forged", forged="ab" * 32)
    result = verify(runner)
    assert result.exit_code == 1 and "signature" in result.output


def test_a_copied_row_is_refused(app, write_events, raw_sql):
    write_events(3, integrate=False)
    with pytest.raises(IntegrityError):
        raw_sql(
            "INSERT INTO audit_events (occurred_at, action, outcome, details, nonce, mac) "
            "SELECT occurred_at, action, outcome, details, nonce, mac FROM audit_events WHERE id = 2"
        )


def test_the_chain_goes_on_after_verification(app, runner, write_events):
    write_events(3)
    assert verify(runner).exit_code == 0
    write_events(2)
    assert "chain intact: 5 events" in verify(runner).output


def test_a_wrong_key_fails_at_the_first_event(app, write_events):
    write_events(2)
    with app.app_context():
        assert verify_chain(session, get_keyring().audit_key).ok
        report = verify_chain(session, b"k" * 32)
        assert not report.ok and report.problem == "checkpoint"


def test_verify_button(app, make_user, login, raw_sql):
    admin = make_user("operator")
    client = app.test_client()
    login(client, admin)
    response = client.post("/audit/verify", follow_redirects=True)
    assert response.status_code == 200
    assert "The audit chain is intact" in response.get_data(as_text=True)
    (event,) = audit_events(app, "audit.verify")
    assert event.outcome == "ok" and event.actor_id == admin.id

    raw_sql("UPDATE audit_events SET outcome = 'refused' WHERE id = 2")
    page = client.post("/audit/verify", follow_redirects=True).get_data(as_text=True)
    assert "broken at event 2" in page
    assert audit_events(app, "audit.verify")[-1].outcome == "failed"


def test_verify_needs_csrf_and_permission(app, make_user, login):
    supervisor = make_user("supervisor")
    client = app.test_client()
    login(client, supervisor)
    assert client.post("/audit/verify").status_code == 403
    assert client.get("/audit/").status_code == 403
    admin = make_user("operator")
    admin_client = app.test_client()
    login(admin_client, admin)
    assert admin_client.post("/audit/verify", csrf=False).status_code == 400
    assert not audit_events(app, "audit.verify")
