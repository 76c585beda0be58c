"""Fault script: PostgreSQL restarted under load (restarts the SHARED local server, briefly).

A production-mode deployment (3 gunicorn workers) on its own database (default
``casework_faults``); caseworker clients open case files and create service records while
this script restarts the PostgreSQL cluster (``pg_ctlcluster --skip-systemctl-redirect VERSION
main restart``). Requests in flight must fail cleanly (the 503 page "nothing was saved", never
a 500 or a traceback); the app must recover without a restart (pool_pre_ping): ``/health``
answers 200 again and the clients' requests succeed. The server is started again if anything
fails. Prints a verdict and RESULT lines; exits 1 on failure.

Run: ``.venv/bin/python bench/fault_pg_restart.py [--seconds 20]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _faults  # noqa: E402
import requests  # noqa: E402


def cluster() -> tuple[str, str]:
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir())
    return versions[-1], "main"


def pg_ctl(action: str) -> subprocess.CompletedProcess[str]:
    version, name = cluster()
    return subprocess.run(  # noqa: S603 - fixed argv
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action],  # noqa: S607 - Debian's wrapper
        capture_output=True,
        text=True,
        check=False,
    )


def pg_is_up() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode == 0  # noqa: S607


def ensure_pg_running() -> None:
    for _ in range(30):
        if pg_is_up():
            return
        pg_ctl("start")
        time.sleep(1)
    raise SystemExit("PostgreSQL is not running and could not be started: start it by hand!")


def health(host: str) -> int:
    try:
        with urllib.request.urlopen(f"{host}/health", timeout=5) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="load duration; the restart is at a third")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--database", default="casework_faults")
    args = parser.parse_args()

    deployment = _faults.deploy(args.database, users=args.clients)
    outcomes: Counter[str] = Counter()
    bad_pages: list[str] = []
    after_recovery: Counter[str] = Counter()
    stop = threading.Event()
    recovered = threading.Event()
    lock = threading.Lock()

    def client_loop(account: dict[str, object], index: int) -> None:
        caseworker = _faults.Caseworker(deployment.host, account)  # type: ignore[arg-type]
        while not stop.is_set():
            try:
                response = caseworker.new_service() if index % 2 else caseworker.case_file()
                key = f"HTTP {response.status_code}"
                if response.status_code >= 500 and (
                    response.status_code != 503
                    or "Nothing was saved" not in response.text
                    or "Traceback" in response.text
                ):
                    with lock:
                        bad_pages.append(f"{response.status_code}: {response.text[:200]!r}")
            except requests.RequestException as exc:
                key = f"connection error ({type(exc).__name__})"
            with lock:
                outcomes[key] += 1
                if recovered.is_set():
                    after_recovery[key] += 1

    restart = None
    recovery_seconds = None
    since = datetime.now(UTC)
    try:
        deployment.start(workers=3, threads=4)
        threads = [
            threading.Thread(target=client_loop, args=(a, i)) for i, a in enumerate(deployment.prepared["users"])
        ]
        for thread in threads:
            thread.start()
        time.sleep(args.seconds / 3)
        began = time.monotonic()
        restart = pg_ctl("restart")
        # /health must come back by itself: the pool drops dead connections (pool_pre_ping).
        while time.monotonic() - began < 60 and health(deployment.host) != 200:
            time.sleep(0.2)
        recovery_seconds = time.monotonic() - began
        time.sleep(1)
        recovered.set()
        time.sleep(max(2.0, args.seconds * 2 / 3 - recovery_seconds))
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        stop.set()
        ensure_pg_running()
        final_health = health(deployment.host) if deployment.server is not None else 0
        deployment.stop()
    checks = _faults.integrity(deployment, since)
    server_log = deployment.log.read_text(errors="replace")
    answered_500 = sum(1 for line in server_log.splitlines() if '"status":500' in line or '"status": 500' in line)
    recovered_ok = sum(v for k, v in after_recovery.items() if k in ("HTTP 200", "HTTP 302"))
    failed_after = sum(v for k, v in after_recovery.items() if k not in ("HTTP 200", "HTTP 302"))
    ok = (
        restart is not None
        and restart.returncode == 0
        and not bad_pages
        and answered_500 == 0
        and final_health == 200
        and recovered_ok > 0
        and failed_after == 0
        and checks["services without their kind's row"] == 0
        and checks["services without a service.create audit event"] == 0
        and checks["audit verify"] == "chain intact"
    )
    print(f"restart: {'ok' if restart is not None and restart.returncode == 0 else restart}")
    print(f"/health back to 200 after {recovery_seconds:.1f} s (no app restart)" if recovery_seconds else "no recovery")
    print(f"client outcomes: {dict(outcomes)}")
    print(f"after recovery: {dict(after_recovery)}")
    print(f"unclean error pages: {len(bad_pages)} {bad_pages[:3]}; server 500s: {answered_500}")
    for name, value in checks.items():
        print(f"  {name}: {value}")
    print(f"VERDICT: {'PASS' if ok else 'FAIL'}: in-flight requests fail with the 503 page, the app recovers by itself")
    unclean = len(bad_pages) + answered_500
    print(f"RESULT|fault: PostgreSQL restart under load (unclean errors)|{unclean}|0|{'yes' if ok else 'no'}")
    if recovery_seconds is not None:
        print(f"RESULT|fault: PostgreSQL restart, /health back after s|{recovery_seconds:.1f}|-|-")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
