"""Load test of a production-mode deployment on PostgreSQL (prints figures; not a pytest test).

1. (Re)creates a separate PostgreSQL database (default ``casework_load``; never ``test``), a
   keyring (``flask keys init``) and the schema (``flask db upgrade``).
2. Creates ``--users`` caseworker accounts in the demo lead agency and seeds ``--cases``
   synthetic cases (casework.demo.seed, the code behind ``flask demo seed``), which assigns them
   round-robin to the agency's caseworkers: every simulated user has its own cases.
3. Starts gunicorn with gunicorn.conf.py in production mode (``CASEWORK_ENV=production``) on a
   free loopback port, ``--workers`` x ``--threads``, serving the production app plus
   bench/floor_app.py's two bench-only routes.
4. Runs locust headless (bench/locustfile.py) in phases against that deployment:
   ``/health`` only, as fast as it answers (the ceiling), and case files only, in ``--pairs``
   alternating pairs (the share is the median pair's: a shared machine's speed drifts over
   minutes, and a ratio holds best between phases run side by side; with how busy the CPUs
   were and how often the database connections waited on a lock); a signed-in page with one
   small form only (the floor of any signed-in page: session, user, CSRF token, layout); a
   case file's first steps only (the scoped case
   query and the view's audit event, then a static page of its size: the best share a case
   file could reach if rendering cost nothing), and the query alone; then the mix for
   ``--duration`` seconds: ``--users`` signed-in caseworkers with 0.5-1.5 s think time doing
   case list, case file, name search (POST), case edit (POST) and new service records (POST).
5. Checks the server log for 5xx answers and the audit chain (``flask audit verify``), prints a
   table and ``RESULT|figure|value|target|met`` lines (collected by bench/run_all.py).

Targets: 0 errors, p95 <= 300 ms for every request type of the mix, case-file throughput
>= 30 % of the ceiling. Locust runs on the same machine and takes CPU from the server: the
figures are a lower bound for a deployment with a separate load generator.

Run: ``.venv/bin/python bench/load_test.py [--cases 100000] [--users 50] [--duration 60]``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PASSWORD_LENGTH = 24


def run(command: list[str], env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, env=env, check=check, capture_output=True, text=True)  # noqa: S603 - fixed argv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def recreate_database(server: str, name: str) -> None:
    if name in ("test", "postgres", "template0", "template1"):
        raise SystemExit(f"refusing to drop the shared database {name!r}")
    host, port = server.split(":")
    args = ["-h", host, "-p", port, "-U", "postgres"]
    run(["dropdb", *args, "--if-exists", "--force", name])
    run(["createdb", *args, name])


def production_env(url: str, keyring: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")}
    env.update(
        CASEWORK_ENV="production",
        CASEWORK_DATABASE_URL=url,
        CASEWORK_SECRET_KEY=secrets.token_urlsafe(48),
        CASEWORK_KEYRING=str(keyring),
        CASEWORK_AUDIT_ANCHOR=str(keyring.parent / "audit-anchor.log"),
        PATH=f"{BIN}:{os.environ.get('PATH', '')}",
    )
    env.update(extra or {})
    return env


def prepare(url: str, directory: Path, n_cases: int, n_users: int) -> dict[str, Any]:
    """Keyring, schema, accounts, seeded cases; returns the accounts file's content."""
    keyring = directory / "keyring.json"
    env = production_env(url, keyring)
    # A production start needs the keyring to exist already: create it in a testing environment.
    init_env = {**env, "CASEWORK_ENV": "testing", "CASEWORK_KEYRING": str(directory / "unused.json")}
    run([str(BIN / "flask"), "--app", "wsgi", "keys", "init", "--path", str(keyring)], init_env)
    migrated = run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], env, check=False)
    from sqlalchemy import func, select, text

    from casework import create_app
    from casework.admin import services as admin_services
    from casework.cases.models import Case
    from casework.db import Base, get_db, session
    from casework.demo import accounts as demo_accounts
    from casework.demo import seed as seeding

    # Seeding runs in this process (demo commands refuse production): same database and keyring.
    app = create_app(
        {
            "env": "testing",
            "instance_path": directory / "instance",
            "database_url": url,
            "keyring_path": keyring,
            "secret_key": env["CASEWORK_SECRET_KEY"],
        }
    )
    if migrated.returncode != 0:
        print("flask db upgrade failed; creating the schema from the models instead:", file=sys.stderr)
        print(migrated.stderr[-2000:], file=sys.stderr)
        Base.metadata.create_all(get_db(app).engine)
    users = []
    with app.app_context():
        orgs = demo_accounts.demo_organisations()
        demo_accounts.ensure_demo_accounts(orgs)
        for i in range(n_users):
            password = secrets.token_urlsafe(PASSWORD_LENGTH)
            user = admin_services.create_user(
                email=f"load{i:03d}@demo-lead-agency.example.org",
                display_name=f"Load Caseworker {i}",
                role="caseworker",
                organisation=orgs.lead,
                password=password,
                must_change_password=False,
                actor=None,
            )
            users.append({"id": user.id, "email": user.email, "password": password})
        session.commit()
        started = time.perf_counter()
        print(f"seeding {n_cases:,} cases into PostgreSQL...", flush=True)
        seeding.seed_cases(n_cases, orgs, progress=lambda done, total: print(f"  {done:,}/{total:,}", flush=True))
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
        session.commit()
    # Planner statistics and the visibility map (index-only scans), as autovacuum would leave
    # them soon after a bulk load. VACUUM cannot run inside a transaction.
    with get_db(app).engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    with app.app_context():
        for account in users:
            cases = list(
                session.execute(
                    select(Case).where(Case.assigned_to_id == account["id"], Case.status == "open").limit(40)
                ).scalars()
            )
            account["case_ids"] = [str(c.id) for c in cases]
            account["names"] = [f"{c.given_name or ''} {c.family_name or ''}".strip() for c in cases[:10]]
            account["id"] = str(account["id"])
            if not cases:
                raise SystemExit(f"{account['email']} has no open case: seed more cases")
        total = session.execute(select(func.count(Case.id))).scalar_one()
    get_db(app).engine.dispose()
    return {"users": users, "cases": total, "keyring": str(keyring), "secret": env["CASEWORK_SECRET_KEY"]}


def start_server(
    url: str, keyring: Path, secret: str, port: int, workers: int, threads: int, log: Path
) -> subprocess.Popen[bytes]:
    env = production_env(
        url,
        keyring,
        {
            "CASEWORK_SECRET_KEY": secret,
            "CASEWORK_BIND": f"127.0.0.1:{port}",
            "CASEWORK_WORKERS": str(workers),
            "CASEWORK_THREADS": str(threads),
        },
    )
    handle = log.open("wb")
    server = subprocess.Popen(  # noqa: S603 - fixed argv
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "bench.floor_app:app"],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=handle,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
        if server.poll() is not None:
            break
    server.kill()
    raise SystemExit(f"gunicorn did not come up; see {log}")


def locust(user_class: str, users: int, seconds: int, host: str, accounts: Path, prefix: Path) -> list[dict[str, str]]:
    env = {**os.environ, "CASEWORK_LOAD_USERS": str(accounts)}
    command = [
        str(BIN / "locust"),
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--reset-stats",  # the figures start once every user is signed in
        "--host",
        host,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        user_class,
    ]
    subprocess.run(command, cwd=ROOT, env=env, check=False, capture_output=True)  # noqa: S603 - fixed argv
    with open(f"{prefix}_stats.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# Processes whose CPU time the phases split up: the deployment (gunicorn's master and workers),
# the database server (postmaster and backends) and the load generator.
PROCESS_GROUPS = {"app": "gunicorn", "PostgreSQL": "postgres", "load generator": "locust"}


def group_cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of each of PROCESS_GROUPS, children that exited and were waited for
    included (gunicorn recycles workers; PostgreSQL ends backends)."""
    ticks = dict.fromkeys(PROCESS_GROUPS, 0)
    for pid in (entry for entry in os.listdir("/proc") if entry.isdigit()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        for group, marker in PROCESS_GROUPS.items():
            if marker in command:
                ticks[group] += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
                break
    hertz = os.sysconf("SC_CLK_TCK")
    return {group: value / hertz for group, value in ticks.items()}


class PhaseSampler:
    """While a phase runs: how busy the CPUs are (/proc/stat), how much CPU each process group
    spends (/proc/<pid>/stat) and what the deployment's database connections wait for
    (pg_stat_activity, every 50 ms). Tells whether a phase is bound by CPU or by waiting (e.g. on
    the audit chain head, which every audited page locks briefly), and where the CPU goes."""

    SETTLE_SECONDS = 3.0  # locust starts and spawns its users first

    def __init__(self, server: str, database: str) -> None:
        self.server, self.database = server, database
        self.samples: dict[str, int] = {}
        self.cpu_snapshots: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._cpu_thread = threading.Thread(target=self._sample_cpu, daemon=True)

    @staticmethod
    def _cpu() -> tuple[float, float]:
        with open("/proc/stat", encoding="ascii") as handle:
            values = [float(v) for v in handle.readline().split()[1:]]
        return sum(values), values[3] + values[4]  # all, idle + iowait

    def _sample(self) -> None:
        import psycopg

        host, port = self.server.split(":")
        query = "SELECT state, wait_event_type FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
        with psycopg.connect(host=host, port=port, user="postgres", dbname=self.database, autocommit=True) as db:
            while not self._stop.wait(0.05):
                for state, wait_type in db.execute(query, (self.database,)):
                    key = "lock" if wait_type == "Lock" else (state or "other")
                    self.samples[key] = self.samples.get(key, 0) + 1

    def _sample_cpu(self) -> None:
        if self._stop.wait(self.SETTLE_SECONDS):
            return
        while True:
            self.cpu_snapshots.append((time.monotonic(), group_cpu_seconds()))
            if self._stop.wait(1.0):
                return

    def __enter__(self) -> PhaseSampler:
        self._start = self._cpu()
        self._thread.start()
        self._cpu_thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._cpu_thread.join()
        end = self._cpu()
        total = end[0] - self._start[0]
        self.cpu_busy = 1 - (end[1] - self._start[1]) / total if total else 0.0

    def share(self, *keys: str) -> float:
        """Of the samples of connections doing something (not idle between requests), the share in ``keys``."""
        busy = sum(v for k, v in self.samples.items() if k != "idle")
        return sum(self.samples.get(k, 0) for k in keys) / busy if busy else 0.0

    def cpu_ms_per_request(self, requests_per_second: float) -> dict[str, float] | None:
        """CPU milliseconds per request of each process group, over the phase's steady part:
        from the first snapshot after the settle time to the last but one (the last may fall
        after the load generator exited, taking its CPU time with it)."""
        if len(self.cpu_snapshots) < 3 or requests_per_second <= 0:
            return None
        (started, first), (ended, last) = self.cpu_snapshots[0], self.cpu_snapshots[-2]
        requests = requests_per_second * (ended - started)
        return {group: (last[group] - first[group]) * 1000 / requests for group in PROCESS_GROUPS}


def cpu_split_text(split: dict[str, float] | None) -> str:
    if split is None:
        return "-"
    parts = [f"{group} {value:.1f}" for group, value in split.items()]
    return f"{' / '.join(parts)} (total {sum(split.values()):.1f})"


def sign_in_all(host: str, accounts: list[dict[str, Any]]) -> list[float]:
    """Sign every account in through the real form; keeps each session cookie in its account.
    Returns the sign-in times in ms (password check with the production argon2id cost)."""
    import re
    from http.cookiejar import DefaultCookiePolicy

    import requests

    # Production cookies are Secure; this client stands where the TLS proxy would.
    DefaultCookiePolicy.return_ok_secure = lambda *_args: True  # type: ignore[method-assign]
    token_pattern = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
    times = []
    for account in accounts:
        client = requests.Session()
        token = token_pattern.search(client.get(f"{host}/auth/login", timeout=30).text).group(1)  # type: ignore[union-attr]
        started = time.perf_counter()
        response = client.post(
            f"{host}/auth/login",
            data={"email": account["email"], "password": account["password"], "csrf_token": token},
            allow_redirects=False,
            timeout=30,
        )
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 302 or "/auth/" in response.headers.get("Location", ""):
            raise SystemExit(f"sign-in refused for {account['email']}: {response.status_code}")
        account["cookie"] = client.cookies.get("casework_session")
    return times


def rate(rows: list[dict[str, str]], name: str) -> float:
    """Requests per second of ``name`` in a phase's stats (0 when it answered none)."""
    found = row(rows, name)
    return float(found["Requests/s"]) if found else 0.0


def row(rows: list[dict[str, str]], name: str) -> dict[str, str] | None:
    return next((r for r in rows if r["Name"] == name), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50, help="concurrent signed-in caseworkers")
    parser.add_argument("--duration", type=int, default=60, help="seconds of the mixed load")
    parser.add_argument("--throughput-seconds", type=int, default=20, help="seconds of each throughput phase")
    parser.add_argument(
        "--pairs", type=int, default=3, help="alternating pairs of /health and case-file phases (the median counts)"
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=6, help="threads per worker")
    parser.add_argument("--server", default="127.0.0.1:5432", help="PostgreSQL host:port (trust auth, user postgres)")
    parser.add_argument("--database", default="casework_load", help="dropped and recreated")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--workdir", type=Path, help="keep the keyring, accounts and logs here (default: a new temporary directory)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the database and accounts a previous run left in --workdir instead of seeding again",
    )
    args = parser.parse_args()

    url = f"postgresql://postgres@{args.server}/{args.database}"
    directory = args.workdir or Path(tempfile.mkdtemp(prefix="casework-load-"))
    directory.mkdir(parents=True, exist_ok=True)
    accounts = directory / "accounts.json"
    if args.reuse and accounts.exists():
        prepared = json.loads(accounts.read_text())
        print(f"reusing {prepared['cases']:,} cases in {args.database} and the accounts in {directory}", flush=True)
    else:
        recreate_database(args.server, args.database)
        prepared = prepare(url, directory, args.cases, args.users)
        accounts.write_text(json.dumps(prepared))
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    log = directory / "gunicorn.log"
    server = start_server(url, Path(prepared["keyring"]), prepared["secret"], port, args.workers, args.threads, log)
    try:
        sign_in_ms = sign_in_all(host, prepared["users"])
        accounts.write_text(json.dumps(prepared))
        # The ceiling and the case files in alternating pairs: on a shared machine the speed
        # drifts over minutes, and a ratio of two phases run side by side holds better than one
        # of phases run minutes apart. The headline is the median pair's ratio.
        pairs: list[tuple[float, float]] = []
        paired_rows: list[dict[str, str]] = []
        for number in range(1, args.pairs + 1):
            print(f"phase 1 ({number}/{args.pairs}): /health only (ceiling)...", flush=True)
            with PhaseSampler(args.server, args.database) as ceiling_phase:
                ceiling = locust(
                    "HealthUser", args.users, args.throughput_seconds, host, accounts, directory / f"ceiling{number}"
                )
            print(f"phase 3 ({number}/{args.pairs}): case files only...", flush=True)
            with PhaseSampler(args.server, args.database) as casefile_phase:
                files = locust(
                    "CaseFileUser", args.users, args.throughput_seconds, host, accounts, directory / f"casefile{number}"
                )
            pairs.append((rate(ceiling, "/health"), rate(files, "case file")))
            paired_rows += ceiling + files
        print("phase 2: a signed-in form page only (the floor of a signed-in page)...", flush=True)
        with PhaseSampler(args.server, args.database) as floor_phase:
            floor = locust("FormPageUser", args.users, args.throughput_seconds, host, accounts, directory / "formpage")
        print("phase 3b: a case file's first steps only, with and without the view's audit event...", flush=True)
        with PhaseSampler(args.server, args.database) as case_floor_phase:
            case_floor = locust(
                "CaseFloorUser", args.users, args.throughput_seconds, host, accounts, directory / "cfloor"
            )
        with PhaseSampler(args.server, args.database) as case_query_phase:
            case_query = locust(
                "CaseQueryUser", args.users, args.throughput_seconds, host, accounts, directory / "cquery"
            )
        print(f"phase 4: the mix, {args.users} users for {args.duration} s...", flush=True)
        mix = locust("CaseworkerUser", args.users, args.duration, host, accounts, directory / "mix")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    server_log = log.read_text(errors="replace")
    server_5xx = sum(1 for line in server_log.splitlines() if '"status":5' in line)
    tracebacks = server_log.count("Traceback")
    verify = run(
        [str(BIN / "flask"), "--app", "wsgi", "audit", "verify"],
        production_env(url, Path(prepared["keyring"])),
        check=False,
    )
    chain = (
        "intact"
        if "chain intact" in (verify.stdout + verify.stderr)
        else "BROKEN: " + (verify.stdout + verify.stderr)[-300:]
    )

    pair_ratios = sorted(case_rps / health_rps if health_rps else 0.0 for health_rps, case_rps in pairs)
    ratio = statistics.median(pair_ratios)
    ceiling_rps = statistics.median(health_rps for health_rps, _ in pairs)
    casefile_rps = statistics.median(case_rps for _, case_rps in pairs)
    # The CPU split and lock figures below are the last pair's.
    last_ceiling_rps, last_casefile_rps = pairs[-1]
    floor_row = row(floor, "form page")
    floor_rps = float(floor_row["Requests/s"]) if floor_row else 0.0
    floor_ratio = floor_rps / ceiling_rps if ceiling_rps else 0.0
    case_floor_rps = float((row(case_floor, "case floor") or {}).get("Requests/s", 0))
    case_query_rps = float((row(case_query, "case query") or {}).get("Requests/s", 0))
    case_floor_ratio = case_floor_rps / ceiling_rps if ceiling_rps else 0.0
    case_query_ratio = case_query_rps / ceiling_rps if ceiling_rps else 0.0
    types = [
        "case list",
        "case file",
        "search form",
        "name search (POST)",
        "edit form",
        "case edit (POST)",
        "service form",
        "service record (POST)",
    ]
    aggregated = row(mix, "Aggregated") or {}
    errors = sum(int(r["Failure Count"]) for r in mix if r["Name"] != "Aggregated")
    throughput_rows = paired_rows + floor + case_floor + case_query
    errors += sum(int(r["Failure Count"]) for r in throughput_rows if r["Name"] != "Aggregated")

    print()
    print(
        f"casework load test: {prepared['cases']:,} cases on PostgreSQL, gunicorn {args.workers} workers x "
        f"{args.threads} threads (production mode), {args.users} signed-in caseworkers, {os.cpu_count()} CPUs "
        "shared with the load generator"
    )
    print()
    header = f"{'request':<26} {'requests':>9} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>7}"
    print(header)
    print("-" * len(header))
    table = []
    for name in types:
        r = row(mix, name)
        if r is None:
            continue
        entry = {
            "request": name,
            "count": int(r["Request Count"]),
            "rps": float(r["Requests/s"]),
            "p50": float(r["50%"]),
            "p95": float(r["95%"]),
            "p99": float(r["99%"]),
            "errors": int(r["Failure Count"]),
        }
        table.append(entry)
        print(
            f"{name:<26} {entry['count']:>9} {entry['rps']:>7.1f} {entry['p50']:>7.0f} {entry['p95']:>7.0f} "
            f"{entry['p99']:>7.0f} {entry['errors']:>7}"
        )
    print(
        f"{'all (mix)':<26} {aggregated.get('Request Count', '0'):>9} {float(aggregated.get('Requests/s', 0)):>7.1f} "
        f"{float(aggregated.get('50%', 0)):>7.0f} {float(aggregated.get('95%', 0)):>7.0f} "
        f"{float(aggregated.get('99%', 0)):>7.0f} {aggregated.get('Failure Count', '0'):>7}"
    )
    print()
    print(
        f"ceiling: /health alone, {args.users} users without think time: {ceiling_rps:.0f} req/s "
        f"(median of {len(pairs)} phases)"
    )
    print(
        f"case files alone, {args.users} users without think time: {casefile_rps:.0f} req/s; "
        f"each pair's case files / ceiling: {', '.join(f'{r:.0%}' for r in pair_ratios)} "
        f"(median {ratio:.0%} of the ceiling)"
    )
    print(
        f"  during it: CPUs {casefile_phase.cpu_busy:.0%} busy; of the database connections at work, "
        f"{casefile_phase.share('lock'):.0%} waited on a lock (the audit chain head), "
        f"{casefile_phase.share('idle in transaction'):.0%} waited on the application"
    )
    print(
        f"a signed-in page with one small form alone (the floor of any signed-in page): {floor_rps:.0f} req/s "
        f"({floor_ratio:.0%} of the ceiling)"
    )
    print(
        "a case file's first steps alone, answering a static page of its size (bench/floor_app.py): "
        f"scoped case query and the view's audit event {case_floor_rps:.0f} req/s ({case_floor_ratio:.0%} of the "
        f"ceiling; CPUs {case_floor_phase.cpu_busy:.0%} busy, {case_floor_phase.share('lock'):.0%} of the "
        f"connections at work waiting on the audit chain head); the query alone {case_query_rps:.0f} req/s "
        f"({case_query_ratio:.0%})"
    )
    splits = {
        "/health": ceiling_phase.cpu_ms_per_request(last_ceiling_rps),
        "form page": floor_phase.cpu_ms_per_request(floor_rps),
        "case file": casefile_phase.cpu_ms_per_request(last_casefile_rps),
        "case floor": case_floor_phase.cpu_ms_per_request(case_floor_rps),
        "case query": case_query_phase.cpu_ms_per_request(case_query_rps),
    }
    print("CPU ms per request, by process (" + " / ".join(PROCESS_GROUPS) + "), each alone without think time:")
    for name, split in splits.items():
        print(f"  {name:<10} {cpu_split_text(split)}")
    print(f"sign-in (argon2id, production cost), one at a time: median {statistics.median(sign_in_ms):.0f} ms")
    print(f"load average at the end (other processes included): {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"server log: {server_5xx} answers 5xx, {tracebacks} tracebacks; audit chain {chain}")
    print(f"work directory (keyring, accounts, locust CSVs, server log): {directory}")
    worst_p95 = max((e["p95"] for e in table), default=0.0)
    results = [
        ("load: requests (mix)", aggregated.get("Request Count", "0"), "-", "-"),
        ("load: requests/s (mix)", f"{float(aggregated.get('Requests/s', 0)):.1f}", "-", "-"),
        ("load: errors (all phases)", str(errors + server_5xx), "0", "yes" if errors + server_5xx == 0 else "no"),
        ("load: worst p95 ms (mix)", f"{worst_p95:.0f}", "<= 300", "yes" if worst_p95 <= 300 else "no"),
        ("load: case file p95 ms", f"{row(mix, 'case file')['95%'] if row(mix, 'case file') else '-'}", "-", "-"),
        ("load: /health ceiling req/s", f"{ceiling_rps:.0f}", "-", "-"),
        ("load: case-file req/s / ceiling (median pair)", f"{ratio:.0%}", ">= 30%", "yes" if ratio >= 0.3 else "no"),
        ("load: case-file req/s / ceiling (each pair)", ", ".join(f"{r:.0%}" for r in pair_ratios), "-", "-"),
        ("load: case-file phase: CPUs busy", f"{casefile_phase.cpu_busy:.0%}", "-", "-"),
        ("load: case-file phase: connections waiting on a lock", f"{casefile_phase.share('lock'):.0%}", "-", "-"),
        ("load: signed-in form page req/s / ceiling", f"{floor_ratio:.0%}", "-", "-"),
        ("load: case file's floor (query + audit event, static page) / ceiling", f"{case_floor_ratio:.0%}", "-", "-"),
        ("load: case floor phase: connections waiting on a lock", f"{case_floor_phase.share('lock'):.0%}", "-", "-"),
        ("load: case query alone (no audit event, static page) / ceiling", f"{case_query_ratio:.0%}", "-", "-"),
        *(
            (f"load: CPU ms per {name} ({' / '.join(PROCESS_GROUPS)})", cpu_split_text(split), "-", "-")
            for name, split in splits.items()
        ),
        ("load: machine load average at the end", f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", "-", "-"),
        ("load: audit chain after load", chain.split(":")[0], "intact", "yes" if chain == "intact" else "no"),
    ]
    for figure, value, target, met in results:
        print(f"RESULT|{figure}|{value}|{target}|{met}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "cases": prepared["cases"],
                    "users": args.users,
                    "ceiling_rps": ceiling_rps,
                    "casefile_rps": casefile_rps,
                    "casefile_ceiling_ratios": pair_ratios,
                    "form_page_rps": floor_rps,
                    "case_floor_rps": case_floor_rps,
                    "case_query_rps": case_query_rps,
                    "casefile_phase_cpu_busy": casefile_phase.cpu_busy,
                    "casefile_phase_lock_share": casefile_phase.share("lock"),
                    "mix": table,
                    "errors": errors,
                    "server_5xx": server_5xx,
                    "audit_chain": chain,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
