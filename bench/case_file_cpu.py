"""CPU cost of a case file against /health, in one process (prints figures; not a test).

The load test (bench/load_test.py) says what share of the ``/health`` ceiling case files reach;
on a shared machine its rates are noisy. This bench measures what sets that share, the CPU
time one request costs, with ``time.process_time()`` (CPU of this process only: other work on
the machine inflates it much less than wall time):

1. Seeds ``--cases`` synthetic cases into a PostgreSQL database (``--database``, recreated
   unless ``--reuse``) with the load test's own preparation (bench/load_test.py ``prepare``:
   keyring, ``flask db upgrade``, caseworker accounts, casework.demo.seed).
2. Builds the deployment gunicorn serves, in this process: ``CASEWORK_ENV=production`` and the
   load test's environment, bench/floor_app.py's app (production app plus the two floor
   routes). The audit sequencer and the keyring watcher threads are off here (neither runs
   inside a request; step 4 measures what the sequencer adds per event, which is per case
   file: leaving it out once hid that it cost more than the case file's own queries).
3. Signs a caseworker in through the real form (a Secure session cookie, over https to the
   Flask test client) and times, in interleaved rounds, the pages of the load test's phases:
   ``/health``, the signed-in small-form page (``/auth/password``), the case file at its
   default tab (``/cases/<id>``, as bench/locustfile.py opens it: the view's audit event is
   written) and the floor routes (``/bench/case-floor/<id>``, ``/bench/case-query/<id>``).
4. Then what the audit sequencer adds per event, which the load test's workers pay beside the
   requests: blocks of 5 x ``--repeat`` case files with this process's sequencer thread running
   and without, ``--sequencer-pairs`` of each, alternating.

For each: CPU ms per request of this process (the cheapest round's mean: other work on a shared
machine only adds to a round), of the PostgreSQL backends this process talks to (from /proc,
when readable; clock ticks, so coarse), SQL statements per request and the ratio to ``/health``.
The load test's throughput share is about the ratio of the CPU a /health and a case file cost
the machine (app, PostgreSQL, gunicorn, load generator): the bench estimates it with gunicorn's
and the load generator's costs from bench/RESULTS.md, against the 30 % target. ``--profile N``
runs cProfile over N more case files and prints the top of it; ``--statements`` prints the SQL
of one case file.

Run: ``.venv/bin/python bench/case_file_cpu.py [--database casework_cpu] [--cases 3000]
[--repeat 300] [--reuse] [--profile 200]``
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import load_test  # noqa: E402

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
BASE_URL = "https://localhost"  # production cookies are Secure; the test client stands behind TLS


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """The seeded database's accounts (created now, or read back with ``--reuse``)."""
    workdir = Path(args.workdir)
    state = workdir / "accounts.json"
    if args.reuse and state.exists():
        return dict(json.loads(state.read_text()))
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("keyring.json", "unused.json", "audit-anchor.log"):
        (workdir / stale).unlink(missing_ok=True)
    load_test.recreate_database(args.server, args.database)
    accounts = load_test.prepare(database_url(args), workdir, args.cases, args.users)
    state.write_text(json.dumps(accounts))
    return accounts


def database_url(args: argparse.Namespace) -> str:
    return f"postgresql://postgres@{args.server}/{args.database}"


def production_app(args: argparse.Namespace, accounts: dict[str, Any]) -> Any:
    """bench/floor_app.py's app, built from the production environment the load test gives gunicorn."""
    env = load_test.production_env(
        database_url(args),
        Path(accounts["keyring"]),
        {
            "CASEWORK_SECRET_KEY": accounts["secret"],
            # Background threads would add their CPU to this process's time.
            "CASEWORK_AUDIT_SEQUENCER": "0",
            "CASEWORK_KEYRING_POLL_SECONDS": "0",
            "CASEWORK_JOBS_TICKER_SECONDS": "0",
        },
    )
    os.environ.clear()
    os.environ.update(env)
    from bench import floor_app

    app = floor_app.app
    # The request log stays on (production writes it); to /dev/null rather than this terminal.
    import logging

    for handler in logging.getLogger("casework").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - for the process's life
    return app


def sign_in(app: Any, account: dict[str, Any]) -> Any:
    client = app.test_client()
    page = client.get("/auth/login", base_url=BASE_URL).get_data(as_text=True)
    token = CSRF.search(page).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/auth/login",
        data={"email": account["email"], "password": account["password"], "csrf_token": token},
        base_url=BASE_URL,
        headers={"Referer": f"{BASE_URL}/auth/login"},  # Flask-WTF's check of https posts
    )
    if response.status_code != 302 or "/auth/" in response.headers.get("Location", ""):
        raise SystemExit(f"sign-in refused: {response.status_code} {response.headers.get('Location')}")
    return client


class Counter:
    """SQL statements run, and the CPU of the PostgreSQL backends of the app's connections."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.statements = 0
        self.log: list[str] | None = None  # the statements' text, while a list
        self.backends: set[int] = set()
        event.listen(engine, "before_cursor_execute", self._count)
        event.listen(engine, "connect", self._connect)
        engine.dispose()  # every connection from now on is seen connecting

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements += 1
        if self.log is not None:
            self.log.append(" ".join(statement.split()))

    def _connect(self, dbapi_connection: Any, _record: Any) -> None:
        self.backends.add(int(dbapi_connection.info.backend_pid))  # psycopg 3, no round trip

    def backend_cpu(self) -> float | None:
        """Seconds of CPU (user + system) of the backends so far; None where /proc says nothing."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        try:
            for pid in self.backends:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            return None
        return total / tick


def measure(
    clients: dict[str, Any], urls: dict[str, list[str]], counter: Counter, repeat: int, rounds: int
) -> dict[str, Any]:
    per_round = max(1, repeat // rounds)
    app_ms: dict[str, list[float]] = {name: [] for name in urls}
    pg_ms: dict[str, list[float]] = {name: [] for name in urls}
    statements: dict[str, float] = {}
    for _round in range(rounds):
        for name, targets in urls.items():
            counter.statements = 0
            pg_before = counter.backend_cpu()
            cpu = time.process_time()
            for i in range(per_round):
                response = clients[name].get(targets[i % len(targets)], base_url=BASE_URL)
                if response.status_code != 200:
                    raise SystemExit(f"{name}: {response.status_code} {response.headers.get('Location')}")
            app_ms[name].append((time.process_time() - cpu) * 1000 / per_round)
            pg_after = counter.backend_cpu()
            if pg_before is not None and pg_after is not None:
                pg_ms[name].append((pg_after - pg_before) * 1000 / per_round)
            statements[name] = counter.statements / per_round
    return {
        name: {
            # The least disturbed round: other work on the machine only ever adds to a round's
            # CPU time (caches, the other hyperthread), never takes from it.
            "app": min(app_ms[name]),
            "pg": statistics.median(pg_ms[name]) if pg_ms[name] else None,
            "statements": statements[name],
        }
        for name in urls
    }


# What this process does not see of a request in the load test (bench/RESULTS.md, quiet
# machine): gunicorn's HTTP work (its /health cost 1.5 ms of app CPU there, about 0.6 more than
# here) and the load generator's CPU per /health and per case file (0.6 and 1.3 ms).
GUNICORN_MS = 0.6
GENERATOR_MS = {"/health": 0.6, "case file": 1.3}
TARGET_SHARE = 0.30


def estimated_share(health: dict[str, Any], case_file: dict[str, Any]) -> float:
    """The case file's share of the /health ceiling the load test would show: the ratio of the
    CPU both cost the machine per request (app, PostgreSQL, gunicorn, load generator)."""

    def total(f: dict[str, Any], name: str) -> float:
        return float(f["app"] + (f["pg"] or 0.0) + GUNICORN_MS + GENERATOR_MS[name])

    return total(health, "/health") / total(case_file, "case file")


def sequencer_cost(
    app: Any, client: Any, urls: list[str], counter: Counter, requests: int, pairs: int
) -> tuple[float, float]:
    """What the audit sequencer adds per case file (one event each), app and PostgreSQL CPU ms:
    blocks of ``requests`` case files with this process's sequencer thread running (one round a
    second, as in a worker) and without, alternating, ``pairs`` of each; the medians' difference.
    The sequencer's connection is the same engine's, so its backend is counted."""
    from casework.audit.sequencer import Sequencer, integrate_pending

    def block(with_sequencer: bool) -> tuple[float, float]:
        thread = Sequencer(app, interval=1.0, node="bench") if with_sequencer else None
        with app.app_context():
            while integrate_pending() is not None:  # start from an integrated log
                pass
        if thread is not None:
            thread.start()
        pg_before, cpu = counter.backend_cpu(), time.process_time()
        for i in range(requests):
            client.get(urls[i % len(urls)], base_url=BASE_URL)
        if thread is not None:
            thread.stop()  # its last round done: every event of the block integrated
        app_ms = (time.process_time() - cpu) * 1000 / requests
        pg_after = counter.backend_cpu()
        pg_ms = (pg_after - pg_before) * 1000 / requests if pg_before is not None and pg_after is not None else 0.0
        return app_ms, pg_ms

    on: list[tuple[float, float]] = []
    off: list[tuple[float, float]] = []
    for _pair in range(pairs):
        off.append(block(False))
        on.append(block(True))
    return (
        statistics.median(a for a, _ in on) - statistics.median(a for a, _ in off),
        statistics.median(p for _, p in on) - statistics.median(p for _, p in off),
    )


def profile(client: Any, urls: list[str], n: int, sort: str) -> None:
    profiler = cProfile.Profile(time.process_time)  # CPU, not the waits on PostgreSQL
    profiler.enable()
    for i in range(n):
        client.get(urls[i % len(urls)], base_url=BASE_URL)
    profiler.disable()
    for key in sort.split(","):
        print(f"\n--- cProfile of {n} case files, by {key}")
        pstats.Stats(profiler).sort_stats(key).print_stats(45)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="127.0.0.1:5432", help="PostgreSQL host:port (user postgres, trust)")
    parser.add_argument("--database", default="casework_cpu", help="recreated unless --reuse (never 'test')")
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--users", type=int, default=3, help="caseworker accounts (the first one is measured)")
    parser.add_argument("--repeat", type=int, default=300, help="requests per page")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds (the cheapest one counts)")
    workdir = str(Path(tempfile.gettempdir()) / "casework-case-file-cpu")
    parser.add_argument("--workdir", default=workdir, help="keyring and accounts")
    parser.add_argument("--reuse", action="store_true", help="reuse the database --workdir describes")
    parser.add_argument("--profile", type=int, default=0, help="then profile this many case files")
    parser.add_argument("--statements", action="store_true", help="then print one case file's SQL")
    parser.add_argument(
        "--sequencer-pairs", type=int, default=3, help="then the sequencer's cost per event: blocks with and without it"
    )
    parser.add_argument("--sort", default="cumulative,tottime", help="cProfile sort keys for --profile")
    args = parser.parse_args()

    accounts = prepare(args)
    app = production_app(args, accounts)
    # As gunicorn.conf.py's pre_fork does in the master: the loaded app out of the cyclic
    # collector's reach (a collection would otherwise walk every module's objects).
    gc.freeze()
    from casework.db import get_db

    counter = Counter(get_db(app).engine)
    account = accounts["users"][0]
    client = sign_in(app, account)
    cases = account["case_ids"]
    urls = {
        "/health": ["/health"],
        "form page": ["/auth/password"],
        "case file": [f"/cases/{case_id}" for case_id in cases],
        "case floor": [f"/bench/case-floor/{case_id}" for case_id in cases],
        "case query": [f"/bench/case-query/{case_id}" for case_id in cases],
    }
    # /health as the load test's HealthUser asks for it: no session cookie.
    clients = {name: app.test_client() if name == "/health" else client for name in urls}
    measure(clients, urls, counter, len(urls) * 20, 1)  # warm up: pools, templates, caches
    figures = measure(clients, urls, counter, args.repeat, args.rounds)
    health = figures["/health"]["app"]
    print(
        f"\nCPU per request, {args.repeat} requests each in {args.rounds} interleaved rounds"
        " (process_time; app: the cheapest round, PostgreSQL: the median one):"
    )
    print(f"{'page':<12} {'app ms':>8} {'PG ms':>7} {'statements':>10} {'app / /health':>14}")
    for name, f in figures.items():
        pg = f"{f['pg']:.2f}" if f["pg"] is not None else "-"
        print(f"{name:<12} {f['app']:8.2f} {pg:>7} {f['statements']:10.1f} {f['app'] / health:13.2f}x")
    case_file = figures["case file"]
    for name, f in figures.items():
        pg = f" / PostgreSQL {f['pg']:.2f}" if f["pg"] is not None else ""
        label = "app / PostgreSQL" if pg else "app"
        print(f"RESULT|case-file CPU: {name} ms per request ({label})|{f['app']:.2f}{pg}|-|-")
    print(f"RESULT|case-file CPU: statements per case file|{case_file['statements']:.0f}|-|-")
    ratio = case_file["app"] / health
    print(f"RESULT|case-file CPU: case file app CPU / /health app CPU|{ratio:.2f}x|-|-")
    estimate = estimated_share(figures["/health"], case_file)
    met = "yes" if estimate >= TARGET_SHARE else "no"
    print(f"RESULT|case-file CPU: estimated load-test share of the /health ceiling|{estimate:.0%}|>= 30%|{met}")
    if args.sequencer_pairs:
        app_ms, pg_ms = sequencer_cost(app, client, urls["case file"], counter, args.repeat * 5, args.sequencer_pairs)
        figure = f"{app_ms:.2f} / PostgreSQL {pg_ms:.2f}"
        print(f"RESULT|case-file CPU: the audit sequencer per event (app / PostgreSQL)|{figure}|-|-")
    if args.statements:
        counter.log = []
        clients["case file"].get(urls["case file"][0], base_url=BASE_URL)
        print(f"\n--- the {len(counter.log)} statements of one case file:")
        for statement in counter.log:
            print(f"- ({len(statement):,} characters) {statement[:400]}")
        counter.log = None
    if args.profile:
        profile(client, urls["case file"], args.profile, args.sort)


if __name__ == "__main__":
    main()
