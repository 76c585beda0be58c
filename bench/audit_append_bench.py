"""Audit appends per second under contention (prints a figure; not a pytest test).

Every page that shows a case appends an event to the audit log (casework.audit.writer.record:
one INSERT since issue 17; before, every append of the deployment waited for one row lock).
This runs ``--instances`` app instances (hosts) of ``--processes`` x ``--threads`` appenders, like
gunicorn's workers and threads, each calling ``writer.record_now`` in a loop for ``--seconds``,
optionally beside ``--burners`` processes that keep CPUs busy. Each instance's first process
also runs the sequencer thread (which integrates only while it holds the lease), so the figure
includes integration; after the run the bench waits for the tree to catch up and prints how
long that took. ``--compare`` runs one instance, then two, and prints both figures.

It appends to the chain of a load-test database, with that run's keyring, so the chain stays
verifiable: ``.venv/bin/python bench/audit_append_bench.py --workdir /tmp/load1`` after
``bench/load_test.py --workdir /tmp/load1``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def appender(
    results: Any,
    workdir: Path,
    database_url: str,
    seconds: float,
    threads: int,
    instance: int,
    sequencer: bool,
    hold_ms: float,
) -> None:
    from casework import create_app
    from casework.audit import writer
    from casework.audit.sequencer import get_sequencer
    from casework.db import session

    app = create_app(
        {
            "env": "testing",
            "instance_path": workdir / f"instance-{instance}",
            "database_url": database_url,
            "keyring_path": workdir / "keyring.json",
            "secret_key": "bench-only-" + uuid.uuid4().hex,
            "audit_sequencer": sequencer,
            "node_name": f"bench-host-{instance}",
        }
    )
    running = get_sequencer(app)
    if running is not None:
        running.start()
    counts: list[int] = []

    def loop() -> None:
        appended = 0
        with app.test_request_context("/"):
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if hold_ms:
                    # As a request does: the event is appended, the request goes on working for a
                    # while inside its transaction, then commits.
                    writer.record(
                        "case.view", target_type="Case", target_id=str(uuid.uuid4()), details={"page": "bench"}
                    )
                    time.sleep(hold_ms / 1000)
                    session.commit()
                else:
                    writer.record_now(
                        "case.view", target_type="Case", target_id=str(uuid.uuid4()), details={"page": "bench"}
                    )
                appended += 1
            session.close()
        counts.append(appended)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    lag = None
    if running is not None:
        stopped = time.monotonic()
        _wait_integrated(app, timeout=120)
        lag = time.monotonic() - stopped
        running.stop()
    results.put((sum(counts), lag))


def _wait_integrated(app: Any, timeout: float) -> None:
    from sqlalchemy import func, select

    from casework.audit.models import AuditEvent
    from casework.db import session

    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            waiting = session.execute(select(func.count()).where(AuditEvent.leaf_index.is_(None))).scalar()
            session.rollback()
            if not waiting:
                return
            time.sleep(0.1)


class LockSampler:
    """Samples pg_stat_activity every 50 ms: of the database's connections running a statement
    (or idle in a transaction), the share waiting on a lock."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.busy = 0
        self.waiting = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            while not self._stop.is_set():
                busy, waiting = connection.execute(
                    "SELECT count(*), count(*) FILTER (WHERE wait_event_type = 'Lock') FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND state IN ('active', 'idle in transaction')"
                ).fetchone() or (0, 0)
                self.busy += busy
                self.waiting += waiting
                self._stop.wait(0.05)

    def __enter__(self) -> LockSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def share(self) -> float:
        return self.waiting / self.busy if self.busy else 0.0


def run_once(args: argparse.Namespace, instances: int) -> float:
    """Appends per second with ``instances`` app instances; prints the catch-up time."""
    results: Any = multiprocessing.Queue()
    burners = [multiprocessing.Process(target=burn, args=(args.seconds + 8,)) for _ in range(args.burners)]
    appenders = [
        multiprocessing.Process(
            target=appender,
            args=(
                results,
                args.workdir,
                args.database_url,
                args.seconds,
                args.threads,
                instance,
                number == 0,
                args.hold_ms,
            ),
        )
        for instance in range(instances)
        for number in range(args.processes)
    ]
    for process in burners + appenders:
        process.start()
    with LockSampler(args.database_url) as sampler:
        answers = [results.get() for _ in appenders]
    total = sum(count for count, _lag in answers)
    caught_up = max(lag for _count, lag in answers if lag is not None)
    for process in appenders + burners:
        process.join()
    rate = total / args.seconds
    print(
        f"audit appends: {rate:.0f} events/s with {instances} instance(s) "
        f"({args.processes} processes x {args.threads} threads each, {args.burners} CPU burners, "
        f"transactions held {args.hold_ms:g} ms after the append); "
        f"every event in the tree {caught_up:.1f} s after the appends stopped; "
        f"{sampler.share():.0%} of the busy connections waited on a lock"
    )
    return rate


def burn(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    spins = 0
    while time.monotonic() < deadline:
        spins += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True, help="a bench/load_test.py work directory")
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/casework_load")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--burners", type=int, default=2, help="CPU-bound processes beside the appenders")
    parser.add_argument("--instances", type=int, default=1, help="app instances (hosts) appending at once")
    parser.add_argument("--compare", action="store_true", help="one instance, then two")
    parser.add_argument(
        "--hold-ms",
        type=float,
        default=0.0,
        help="keep each append's transaction open this long before its commit, as a request that appends "
        "and then goes on working does (a lock taken by the append would be held as long)",
    )
    args = parser.parse_args()
    if args.compare:
        one = run_once(args, 1)
        two = run_once(args, 2)
        print(f"audit appends: two instances / one = {two / one:.2f}")
    else:
        run_once(args, args.instances)


if __name__ == "__main__":
    main()
