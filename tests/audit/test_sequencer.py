"""The sequencer: one lease holder per deployment (taken over when it expires, fenced by its
epoch), threads in app processes that integrate within a second, and `audit prove`."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import func, select

from casework.audit import writer
from casework.audit.models import AuditEvent
from casework.audit.sequencer import (
    Lease,
    LeaseLost,
    acquire_lease,
    get_sequencer,
    integrate_pending,
    read_anchor,
    stop_sequencer,
)
from casework.db import session

BOTH_DATABASES = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("database", BOTH_DATABASES)
def test_one_holder_at_a_time_and_a_stale_one_writes_nothing(app, write_events, database):
    write_events(3, integrate=False)
    with app.app_context():
        first = acquire_lease("host-a:1", seconds=60)
        assert first is not None
        assert acquire_lease("host-b:2", seconds=60) is None
        assert acquire_lease("host-a:1", seconds=-1) == first  # renewed (here: to an expired one)
        second = acquire_lease("host-b:2", seconds=60)
        assert second is not None and second.epoch == first.epoch + 1
        with pytest.raises(LeaseLost):
            integrate_pending(lease=first)
        assert session.execute(select(func.count()).where(AuditEvent.leaf_index.is_not(None))).scalar() == 0
        checkpoint = integrate_pending(lease=second)
        assert checkpoint is not None and checkpoint.tree_size == 3
        with pytest.raises(LeaseLost):
            integrate_pending(lease=Lease("host-b:2", second.epoch + 5))


@pytest.mark.parametrize("database", BOTH_DATABASES)
def test_threads_in_two_processes_integrate_each_event_once(make_app, database):
    apps = [make_app(audit_sequencer=True, audit_sequencer_interval=0.05, node_name=f"host-{n}") for n in "ab"]
    try:
        for app in apps:
            app.test_client().get("/auth/login")  # the first request starts the thread
            assert get_sequencer(app) is not None
        with apps[0].app_context():
            for number in range(20):
                writer.record("test.event", details={"n": number})
                session.commit()
        deadline = time.monotonic() + 20
        with apps[1].app_context():
            while time.monotonic() < deadline:
                waiting = session.execute(select(func.count()).where(AuditEvent.leaf_index.is_(None))).scalar()
                session.rollback()
                if waiting == 0:
                    break
                time.sleep(0.05)
            assert waiting == 0
    finally:
        for app in apps:
            stop_sequencer(app)
    result = apps[0].test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "chain intact: 20 events (20 in the tree" in result.output, result.output
    # Each checkpoint went to the anchor of the process that signed it.
    sizes = [cp.tree_size for app in apps for _, cp in read_anchor(app.config["CASEWORK"].audit_anchor_path) if cp]
    assert max(sizes) == 20


def test_prove_an_event(app, runner, write_events, raw_sql):
    write_events(7)
    write_events(1, integrate=False)
    result = runner.invoke(args=["audit", "prove", "3"])
    assert result.exit_code == 0, result.output
    assert "leaf 2 of 7" in result.output and "inclusion proved" in result.output
    waiting = runner.invoke(args=["audit", "prove", "8"])
    assert waiting.exit_code != 0 and "not in the tree yet" in waiting.output
    assert runner.invoke(args=["audit", "prove", "99"]).exit_code != 0
    # A leaf moved elsewhere in the tree no longer proves against the signed root.
    raw_sql("UPDATE audit_events SET leaf_index = 100 WHERE id = 2")
    raw_sql("UPDATE audit_events SET leaf_index = 1 WHERE id = 3")
    raw_sql("UPDATE audit_events SET leaf_index = 2 WHERE id = 100 OR leaf_index = 100")
    moved = runner.invoke(args=["audit", "prove", "3"])
    assert moved.exit_code != 0


def test_checkpoints_also_go_to_syslog(make_app):
    import socket
    from logging.handlers import SysLogHandler

    from casework.audit.sequencer import anchor_log

    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    app = make_app(audit_syslog=f"127.0.0.1:{receiver.getsockname()[1]}")
    try:
        with app.app_context():
            writer.record("test.event")
            session.commit()
            checkpoint = integrate_pending()
        message = receiver.recv(4096).decode()
        assert checkpoint is not None and checkpoint.line() in message
    finally:
        for handler in [h for h in anchor_log.handlers if isinstance(h, SysLogHandler)]:
            anchor_log.removeHandler(handler)
            handler.close()
        receiver.close()


@pytest.mark.parametrize("database", BOTH_DATABASES)
def test_a_round_takes_what_waited_and_leaves_what_comes_meanwhile_to_the_next(app, monkeypatch, database):
    """Under a steady stream of appends, one round of the sequencer thread integrates what
    waited when it began, in one checkpoint; what is appended meanwhile waits for the next
    round, an interval later. (The round used to integrate again until nothing waited: on a
    busy deployment it chased the stream in batches of one or two events, each with its lease
    check, checkpoint, commit and anchor line, and cost more CPU than the appends.)"""
    from casework.audit import sequencer as sequencer_module
    from casework.audit.models import AuditCheckpoint

    anchor = sequencer_module.append_to_anchor
    appended_meanwhile: list[int] = []

    def anchor_while_the_stream_goes_on(path: Any, checkpoint: Any) -> None:
        anchor(path, checkpoint)
        if len(appended_meanwhile) < 20:  # a request appends while the round runs
            writer.record("test.event", details={"n": len(appended_meanwhile)})
            session.commit()
            appended_meanwhile.append(checkpoint.tree_size)

    monkeypatch.setattr(sequencer_module, "append_to_anchor", anchor_while_the_stream_goes_on)
    with app.app_context():
        for number in range(5):
            writer.record("test.event", details={"n": number})
        session.commit()
    thread = sequencer_module.Sequencer(app, interval=1.0, node="host-a")
    try:
        assert thread.step() == 5
        with app.app_context():
            assert session.execute(select(func.count()).select_from(AuditCheckpoint)).scalar() == 1
            assert session.execute(select(func.count()).where(AuditEvent.leaf_index.is_(None))).scalar() == 1
            session.rollback()
        assert thread.step() == 1  # the next round takes it
        with app.app_context():
            assert session.execute(select(func.count()).select_from(AuditCheckpoint)).scalar() == 2
    finally:
        thread.stop()


def test_a_round_still_drains_a_backlog_larger_than_a_batch(app, write_events):
    """Batches that come back full mean a backlog (a sequencer that was down): the round goes on
    until it is gone rather than taking one batch per interval."""
    from casework.audit.sequencer import Sequencer

    write_events(7, integrate=False)
    thread = Sequencer(app, interval=1.0, node="host-a")
    thread.batch_size = 2
    try:
        assert thread.step() == 7
        with app.app_context():
            assert session.execute(select(func.count()).where(AuditEvent.leaf_index.is_(None))).scalar() == 0
    finally:
        thread.stop()
