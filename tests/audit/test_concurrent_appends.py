"""Many workers appending to the audit log at once: every event is kept and integrated into one
tree (no event lost, the first ones included), and appends rolled back with their transaction
leave nothing behind."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from flask import Flask
from sqlalchemy import select

from casework.audit import writer
from casework.audit.models import AuditEvent
from casework.audit.sequencer import integrate_pending
from casework.audit.verify import verify_chain
from casework.crypto import get_keyring
from casework.db import session

BOTH_DATABASES = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]
THREADS = 6
EACH = 12


def _run_in_threads(app: Flask, work) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def run(number: int) -> None:
        try:
            with app.app_context():
                start.wait()
                work(number)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def _chain(app: Flask):
    with app.app_context():
        while integrate_pending() is not None:
            pass
        report = verify_chain(session, get_keyring().audit_key)
        ids = list(session.execute(select(AuditEvent.id).order_by(AuditEvent.id)).scalars())
        return report, ids


@pytest.mark.parametrize("database", BOTH_DATABASES)
def test_concurrent_appends_make_one_unbroken_chain(app: Flask, database: str) -> None:
    # Starting from an empty chain: the first appends also race to create the chain head.
    def append(number: int) -> None:
        for i in range(EACH):
            writer.record("test.concurrent", details={"worker": number, "n": i})
            session.commit()

    _run_in_threads(app, append)

    report, ids = _chain(app)
    assert report.ok, report.describe()
    assert ids == list(range(1, THREADS * EACH + 1))
    with app.app_context():
        details = session.execute(select(AuditEvent.details)).scalars()
        per_worker = Counter(d["worker"] for d in details)
    assert per_worker == {n: EACH for n in range(THREADS)}


@pytest.mark.parametrize("database", BOTH_DATABASES)
def test_appends_rolled_back_leave_no_trace_while_others_commit(app: Flask, database: str) -> None:
    def append(number: int) -> None:
        for i in range(EACH):
            writer.record("test.concurrent", details={"worker": number, "n": i})
            if number % 2:
                session.rollback()  # the request failed: its event goes with it
            else:
                session.commit()

    _run_in_threads(app, append)

    report, ids = _chain(app)
    assert report.ok, report.describe()
    # PostgreSQL's id sequence does not give back the ids of rolled-back appends: gaps, no fork.
    assert len(ids) == THREADS // 2 * EACH and report.events == len(ids) == report.tree_size
