"""Audit appends per second under contention (prints a figure; not a pytest test).

Every page that shows a case appends an event to the audit chain, and every append in the
deployment waits for the chain head's row lock (casework.audit.writer.record). This runs
``--processes`` x ``--threads`` appenders, like gunicorn's workers and threads, each calling
``writer.record_now`` in a loop for ``--seconds``, optionally beside ``--burners`` processes that
keep CPUs busy (as rendering does under load: a lock holder then waits for a CPU between its
round trips, and so does everyone queued behind it).

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


def appender(results: Any, workdir: Path, database_url: str, seconds: float, threads: int) -> None:
    from casework import create_app
    from casework.audit import writer
    from casework.db import session

    app = create_app(
        {
            "env": "testing",
            "instance_path": workdir / "instance",
            "database_url": database_url,
            "keyring_path": workdir / "keyring.json",
            "secret_key": "bench-only-" + uuid.uuid4().hex,
        }
    )
    counts: list[int] = []

    def loop() -> None:
        appended = 0
        with app.test_request_context("/"):
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
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
    results.put(sum(counts))


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
    args = parser.parse_args()
    results: Any = multiprocessing.Queue()
    burners = [multiprocessing.Process(target=burn, args=(args.seconds + 8,)) for _ in range(args.burners)]
    appenders = [
        multiprocessing.Process(
            target=appender, args=(results, args.workdir, args.database_url, args.seconds, args.threads)
        )
        for _ in range(args.processes)
    ]
    for process in burners + appenders:
        process.start()
    total = sum(results.get() for _ in appenders)
    for process in appenders + burners:
        process.join()
    print(
        f"audit appends: {total / args.seconds:.0f} events/s "
        f"({args.processes} processes x {args.threads} threads, {args.burners} CPU burners)"
    )


if __name__ == "__main__":
    main()
