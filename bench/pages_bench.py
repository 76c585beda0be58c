"""Benchmark of the caseworkers' pages (prints a table; not a test).

Seeds N synthetic cases (default 100,000) with casework.demo's seeding (the code behind
``flask --app wsgi demo seed --cases N``: encrypted identities, blind indexes, profiles,
services, consents, notes, referrals) into a temporary SQLite database, signs in as the demo
supervisor through the real sign-in forms (password, then TOTP) and times, with the Flask test
client in one process:

- the minimal page ``/health`` (one ``SELECT 1``): the yardstick;
- the case list (first page, a deep page, filtered by assistance kind, sorted by reference);
- a case file (``/cases/<id>``: redaction, decryption, timeline, audit of the view);
- an exact name search (POST ``/cases/search`` through the blind index);
- the dashboard (``/reports/``: GROUP BY aggregates and SVG charts).

For each page: median and 95th percentile time, the ratio to ``/health``, and the number of
SQL statements one request runs.

Run: ``.venv/bin/python bench/pages_bench.py [--cases 100000] [--repeat 30] [--keep DIR]``
(``--keep DIR`` keeps the seeded database and keyring in DIR and reuses them next time).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyotp  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402

from casework import create_app  # noqa: E402
from casework.crypto.keyring import Keyring  # noqa: E402
from casework.db import Base, get_db, session  # noqa: E402

SETTINGS: dict[str, Any] = {
    "env": "testing",  # plain HTTP cookies for the test client; everything else as deployed
    "secret_key": "bench-secret-key-that-is-long-enough-0123456789",
}
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def build_app(directory: Path) -> Any:
    keyring = directory / "keyring.json"
    if not keyring.exists():
        Keyring.generate().save(keyring)
    app = create_app(
        {
            **SETTINGS,
            "instance_path": directory / "instance",
            "database_url": f"sqlite:///{directory / 'pages_bench.sqlite3'}",
            "keyring_path": keyring,
        }
    )
    engine = get_db(app).engine
    Base.metadata.create_all(engine)
    for table in Base.metadata.sorted_tables:  # a kept database gets indexes added since
        for index in table.indexes:
            index.create(engine, checkfirst=True)
    logging.getLogger("casework").setLevel(logging.WARNING)  # no request log lines in the table
    return app


def seed(app: Any, n: int, workers: int) -> tuple[str, str, str]:
    """Seed n cases (unless already there); returns the supervisor's email, password and TOTP
    secret (a fresh password is set on every run: the demo only prints it once)."""
    from casework.auth import passwords
    from casework.auth.models import User
    from casework.cases.models import Case
    from casework.demo import accounts
    from casework.demo import seed as seeding

    with app.app_context():
        orgs = accounts.demo_organisations()
        accounts.ensure_demo_accounts(orgs, with_totp=True)
        session.commit()
        have = session.execute(select(func.count(Case.id))).scalar_one()
        if have < n:
            print(f"seeding {n - have:,} cases (casework.demo.seed, {workers} workers)...", flush=True)
            started = time.perf_counter()
            seeding.seed_cases(n - have, orgs, workers=workers)
            print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
        supervisor = session.execute(
            select(User).where(User.organisation_id == orgs.lead.id, User.role == "supervisor")
        ).scalar_one()
        password = f"bench {uuid.uuid4().hex} passphrase"
        supervisor.password_hash = passwords.hash_password(password)
        supervisor.must_change_password = False
        supervisor.failed_logins = 0
        supervisor.locked_until = None
        secret = pyotp.random_base32()
        supervisor.totp_secret = secret
        supervisor.totp_enabled = True
        supervisor.totp_last_step = None
        session.commit()
        return supervisor.email, password, secret


def sign_in(client: Any, email: str, password: str, secret: str) -> None:
    token = CSRF.search(client.get("/auth/login").get_data(as_text=True)).group(1)
    response = client.post("/auth/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, f"sign-in refused ({response.status_code})"
    token = CSRF.search(client.get("/auth/two-factor").get_data(as_text=True)).group(1)
    response = client.post("/auth/two-factor", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    assert response.status_code == 302, f"two-factor refused ({response.status_code})"


def samples(app: Any, count: int) -> tuple[list[uuid.UUID], list[str]]:
    """Case ids spread over the table, and the full names of those cases (for the search)."""
    from casework.cases.models import Case

    with app.app_context():
        total = session.execute(select(func.count(Case.id))).scalar_one()
        step = max(1, total // count)
        ids = list(session.execute(select(Case.id).order_by(Case.reference).offset(step // 2).limit(total)).scalars())[
            ::step
        ][:count]
        names = []
        for case_id in ids:
            case = session.get(Case, case_id)
            names.append(f"{case.given_name or ''} {case.family_name or ''}".strip())
        return ids, names


class QueryCounter:
    def __init__(self, engine: Any) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args: Any) -> None:
        self.count += 1


def measure(request: Callable[[int], Any], repeat: int, counter: QueryCounter) -> tuple[list[float], int]:
    for i in range(3):  # warm caches (templates, compiled SQL, SQLite pages)
        request(i)
    times, queries = [], []
    for i in range(repeat):
        before = counter.count
        started = time.perf_counter()
        response = request(i)
        times.append((time.perf_counter() - started) * 1000)
        queries.append(counter.count - before)
        assert response.status_code == 200, f"status {response.status_code}"
    return times, max(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--keep", type=Path, help="directory for a database reused between runs")
    args = parser.parse_args()

    directory = args.keep or Path(tempfile.mkdtemp(prefix="pages-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    app = build_app(directory)
    email, password, secret = seed(app, args.cases, args.workers)
    case_ids, names = samples(app, 10)
    client = app.test_client()
    sign_in(client, email, password, secret)
    counter = QueryCounter(get_db(app).engine)
    deep_page = max(1, args.cases // 50)  # half way through the list

    def search(i: int) -> Any:
        token = CSRF.search(client.get("/cases/search").get_data(as_text=True)).group(1)
        started = time.perf_counter()
        response = client.post("/cases/search", data={"full_name": names[i % len(names)], "csrf_token": token})
        search.last_ms = (time.perf_counter() - started) * 1000  # type: ignore[attr-defined]
        return response

    pages: list[tuple[str, Callable[[int], Any]]] = [
        ("/health (minimal page)", lambda i: client.get("/health")),
        ("case list, page 1 (25 of the organisation, newest first)", lambda i: client.get("/cases/")),
        (
            f"case list, page {deep_page:,} (offset {(deep_page - 1) * 25:,})",
            lambda i: client.get(f"/cases/?page={deep_page}"),
        ),
        ("case list, filtered: return assistance", lambda i: client.get("/cases/?kind=return")),
        ("case list, sorted by reference", lambda i: client.get("/cases/?sort=reference&direction=asc")),
        ("case file", lambda i: client.get(f"/cases/{case_ids[i % len(case_ids)]}")),
        ("name search (GET form + POST)", search),
        ("dashboard", lambda i: client.get("/reports/")),
    ]
    results = []
    for label, request in pages:
        times, queries = measure(request, args.repeat, counter)
        results.append((label, statistics.median(times), sorted(times)[int(0.95 * (len(times) - 1))], queries))
    base = results[0][1]

    with app.app_context():
        from casework.cases.models import Case

        total = session.execute(select(func.count(Case.id))).scalar_one()
    print()
    print(f"casework pages benchmark: {total:,} cases, signed in as the demo supervisor (organisation scope)")
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs; Flask test client, {args.repeat} requests per page after 3 warm-ups"
    )
    print()
    header = f"{'page':<58} {'median ms':>10} {'p95 ms':>8} {'x /health':>10} {'SQL/request':>12}"
    print(header)
    print("-" * len(header))
    for label, median, p95, queries in results:
        print(f"{label:<58} {median:>10.1f} {p95:>8.1f} {median / base:>10.1f} {queries:>12}")
    print()
    print("The name search row includes fetching the search form (for its CSRF token), as a browser would.")
    for label, median, _p95, _queries in results:
        print(f"RESULT|pages ({total:,} cases, SQLite): {label} median ms|{median:.1f}|-|-")
    print(f"Database and keyring: {directory}{'' if args.keep else ' (temporary)'}")


if __name__ == "__main__":
    main()
