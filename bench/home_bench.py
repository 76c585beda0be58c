"""Benchmark of the work list home page (``/home``) as the deployment grows (not a test).

Bulk-inserts cases (Core ``executemany``: no encryption, the work list reads none) with three
tasks each (one overdue, one due this week, one later) and a pending referral on every tenth,
spread over 200 caseworkers, plus 50 cases of the measured caseworker; then, at each size
(default 1,000, 10,000 and 100,000 cases), signs in through the real form and times ``GET
/home`` ``--repeat`` times: the fastest and median time, the SQL time and the statements, for
the caseworker and, for reference, for a supervisor of the organisation (whose team counts
cover the organisation's tasks due by the end of the week: they grow with it, by design).

Target: the caseworker's time and query count flat from the smallest to the largest size
(met when the fastest time at the largest size is within 2x the smallest's and the query count
is equal; the SQL time shows where time goes).

Run: ``.venv/bin/python bench/home_bench.py [--sizes 1000,10000,100000] [--repeat 20]
[--database-url postgresql://...]``
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyotp  # noqa: E402
from sqlalchemy import event, insert, text  # noqa: E402

from casework import create_app  # noqa: E402
from casework.crypto.keyring import Keyring  # noqa: E402
from casework.db import Base, get_db, session  # noqa: E402

PASSWORD = "bench-password-0123456789-long"  # noqa: S105 - a throwaway database
OTHERS = 200
MINE = 50
TOTP_SECRET = pyotp.random_base32()


def build(directory: Path, database_url: str | None) -> Any:
    keyring = directory / "keyring.json"
    Keyring.generate().save(keyring)
    app = create_app(
        {
            "env": "testing",
            "secret_key": "bench-secret-key-that-is-long-enough-0123456789",
            "instance_path": directory / "instance",
            "database_url": database_url or f"sqlite:///{directory / 'home_bench.sqlite3'}",
            "keyring_path": keyring,
            "argon2_time_cost": 1,
            "argon2_memory_kib": 8,
            "wtf_csrf_enabled": False,
        }
    )
    engine = get_db(app).engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    Base.metadata.create_all(engine)
    logging.getLogger("casework").setLevel(logging.WARNING)
    return app


def people(app: Any) -> tuple[Any, Any, list[uuid.UUID]]:
    from casework.admin import services as admin_services
    from casework.auth.models import Organisation

    with app.app_context():
        org = Organisation(name="Bench agency", kind="lead_agency")
        session.add(org)
        session.flush()

        def user(role: str, n: int | str) -> Any:
            return admin_services.create_user(
                email=f"{role}{n}@bench.example",
                display_name=f"{role} {n}",
                role=role,
                organisation=org,
                password=PASSWORD,
                must_change_password=False,
                actor=None,
            )

        me, boss = user("caseworker", "me"), user("supervisor", "boss")
        boss.totp_secret = TOTP_SECRET
        boss.totp_enabled = True
        others = [user("caseworker", n).id for n in range(OTHERS)]
        session.commit()
        return (org.id, me.id, me.email), (boss.id, boss.email), others


def add_cases(app: Any, org_id: uuid.UUID, assignees: list[uuid.UUID], start: int, count: int) -> None:
    """``count`` cases (numbered from ``start``), three tasks each, a pending referral on every tenth."""
    from casework.cases.models import Case
    from casework.partners.models import Referral
    from casework.tasks.models import Task

    today = date.today()
    now = datetime.now(UTC)
    engine = get_db(app).engine
    batch = 5_000
    for first in range(start, start + count, batch):
        cases, tasks, referrals = [], [], []
        for n in range(first, min(first + batch, start + count)):
            case_id = uuid.uuid4()
            cases.append(
                {
                    "id": case_id,
                    "reference": f"CT-2026-{n:07d}",
                    "owner_org_id": org_id,
                    "assigned_to_id": assignees[n % len(assignees)],
                    "status": "open",
                    "opened_on": today - timedelta(days=n % 700),
                    "year_of_registration": 2026,
                    "created_at": now,
                    "updated_at": now - timedelta(days=n % 200),
                    "version_id": 1,
                    "data_source": "case_management",
                }
            )
            for offset in (-3, 2, 40):
                tasks.append(
                    {
                        "id": uuid.uuid4(),
                        "case_id": case_id,
                        "title_code": "visit",
                        "due_on": today + timedelta(days=offset),
                        "status": "open",
                        "created_at": now,
                        "updated_at": now,
                        "version_id": 1,
                    }
                )
            if n % 10 == 0:
                referrals.append(
                    {
                        "id": uuid.uuid4(),
                        "case_id": case_id,
                        "from_org_id": org_id,
                        "to_org_id": org_id,
                        "service_kind": "shelter",
                        "field_scope": frozenset(),
                        "status": "pending",
                        "created_at": now,
                        "version_id": 1,
                    }
                )
        with engine.begin() as connection:
            connection.execute(insert(Case), cases)
            connection.execute(insert(Task), tasks)
            if referrals:
                connection.execute(insert(Referral.__table__), referrals)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))
        else:
            connection.execute(text("ANALYZE"))


def sign_in(app: Any, email: str) -> Any:
    client = app.test_client()
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    if response.status_code == 302 and "two-factor" in response.headers.get("Location", ""):
        response = client.post("/auth/two-factor", data={"code": pyotp.TOTP(TOTP_SECRET).now()})
    if response.status_code != 302:
        raise SystemExit(f"sign-in failed for {email}: {response.status_code}")
    return client


def measure(app: Any, client: Any, repeat: int) -> tuple[float, float, float, int]:
    """(fastest ms, median ms, fastest SQL ms, statements) of ``repeat`` GETs of /home. The
    machine is shared: the fastest of several runs is the least disturbed figure."""
    engine = get_db(app).engine
    statements: list[float] = []
    started_at: list[float] = []

    def before(*_: Any) -> None:
        started_at.append(time.perf_counter())

    def after(*_: Any) -> None:
        statements.append((time.perf_counter() - started_at.pop()) * 1000)

    if client.get("/home").status_code != 200:  # warm up
        raise SystemExit("/home did not answer 200")
    timings, sql, counts = [], [], []
    for _ in range(repeat):
        statements.clear()
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        started = time.perf_counter()
        response = client.get("/home")
        timings.append((time.perf_counter() - started) * 1000)
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        if response.status_code != 200:
            raise SystemExit(f"/home answered {response.status_code}")
        sql.append(sum(statements))
        counts.append(len(statements))
    return min(timings), statistics.median(timings), min(sql), max(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", help="a PostgreSQL database to use (its public schema is dropped)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    with tempfile.TemporaryDirectory(prefix="home-bench-") as tmp:
        app = build(Path(tmp), args.database_url)
        (org_id, me_id, me_email), (_boss_id, boss_email), others = people(app)
        add_cases(app, org_id, [me_id], 0, MINE)
        total = MINE
        worker_client, boss_client = sign_in(app, me_email), sign_in(app, boss_email)
        rows = []
        print(
            f"{'cases':>8} {'caseworker ms (min/median)':>27} {'SQL ms':>7} {'queries':>8} "
            f"{'supervisor ms (min)':>20} {'SQL ms':>7} {'queries':>8}"
        )
        for size in sizes:
            started = time.perf_counter()
            add_cases(app, org_id, others, total, size - total)
            seeded = time.perf_counter() - started
            total = size
            worker = measure(app, worker_client, args.repeat)
            boss = measure(app, boss_client, max(3, args.repeat // 4))
            rows.append((size, worker, boss))
            print(
                f"{size:>8} {worker[0]:>13.1f} / {worker[1]:<11.1f} {worker[2]:>7.1f} {worker[3]:>8} "
                f"{boss[0]:>20.1f} {boss[2]:>7.1f} {boss[3]:>8}   (seeded in {seeded:.1f} s)",
                flush=True,
            )
        first, last = rows[0], rows[-1]
        flat_time = last[1][0] <= 2 * first[1][0]
        flat_queries = last[1][3] == first[1][3]
        print(
            f"RESULT|/home caseworker fastest ms at {first[0]:,} cases (SQL ms)|"
            f"{first[1][0]:.1f} ({first[1][2]:.1f})|-|-"
        )
        print(
            f"RESULT|/home caseworker fastest ms at {last[0]:,} cases (SQL ms)|{last[1][0]:.1f} ({last[1][2]:.1f})|"
            f"<= 2x {first[1][0]:.1f}|{'yes' if flat_time else 'no'}"
        )
        print(
            f"RESULT|/home caseworker queries {first[0]:,} -> {last[0]:,} cases|{first[1][3]} -> {last[1][3]}|equal|"
            f"{'yes' if flat_queries else 'no'}"
        )
        print(
            f"RESULT|/home supervisor fastest ms at {last[0]:,} cases (team counts; SQL ms)|"
            f"{last[2][0]:.1f} ({last[2][2]:.1f})|-|-"
        )


if __name__ == "__main__":
    main()
