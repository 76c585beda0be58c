"""Fault script: gunicorn workers killed (SIGKILL) in the middle of saving.

A production-mode deployment on its own PostgreSQL database (default ``casework_faults``),
one gunicorn worker with several threads; caseworker clients keep creating service records
(GET form + POST) while this script SIGKILLs the worker every ``--interval`` seconds (the
master starts a new one). Afterwards: every service row has its kind's row, every service
created has its audit event, ``flask audit verify`` says the chain is intact, and every save a
client saw succeed is in the database. Prints a verdict and RESULT lines; exits 1 on failure.

Run: ``.venv/bin/python bench/fault_worker_kill.py [--seconds 30] [--interval 1.5]``
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _faults  # noqa: E402
import requests  # noqa: E402


def worker_pids(master: int) -> list[int]:
    command = ["ps", "--ppid", str(master), "-o", "pid="]
    out = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603, S607 - fixed argv
    return [int(p) for p in out.stdout.split()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--interval", type=float, default=1.5, help="seconds between kills")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--database", default="casework_faults")
    args = parser.parse_args()

    deployment = _faults.deploy(args.database, users=args.clients)
    deployment.start(workers=1, threads=4)
    assert deployment.server is not None
    since = datetime.now(UTC)
    outcomes: Counter[str] = Counter()
    saved_ids: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def client_loop(account: dict[str, object]) -> None:
        caseworker = _faults.Caseworker(deployment.host, account)  # type: ignore[arg-type]
        while not stop.is_set():
            try:
                response = caseworker.new_service()
                key = f"HTTP {response.status_code}"
                if response.status_code == 302:
                    with lock:
                        saved_ids.append(response.headers.get("Location", ""))
            except requests.RequestException:
                key = "connection dropped (worker killed)"
                time.sleep(0.1)
            with lock:
                outcomes[key] += 1

    threads = [threading.Thread(target=client_loop, args=(a,)) for a in deployment.prepared["users"]]
    kills = 0
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            time.sleep(args.interval)
            for pid in worker_pids(deployment.server.pid):
                os.kill(pid, signal.SIGKILL)
                kills += 1
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        stop.set()
        deployment.stop()
    checks = _faults.integrity(deployment, since)
    created = checks["services created during the fault"]
    acknowledged = outcomes["HTTP 302"]
    failures = [
        k for k in outcomes if k.startswith("HTTP 5") and k != "HTTP 503"
    ]  # a killed worker drops the connection; it never sends a 500
    ok = (
        checks["services without their kind's row"] == 0
        and checks["services without a service.create audit event"] == 0
        and checks["audit verify"] == "chain intact"
        and created >= acknowledged
        and not failures
        and kills > 0
    )
    print(f"worker kills: {kills}; client outcomes: {dict(outcomes)}")
    for name, value in checks.items():
        print(f"  {name}: {value}")
    print(f"  saves acknowledged (302): {acknowledged}; services in the database: {created}")
    print(f"VERDICT: {'PASS' if ok else 'FAIL'}: no partial service or audit rows after {kills} SIGKILLs")
    value, met = ("none, intact", "yes") if ok else ("FAILED", "no")
    print(f"RESULT|fault: worker SIGKILL mid-save (partial rows, chain)|{value}|none, intact|{met}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
