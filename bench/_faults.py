"""Shared set-up of the fault scripts (bench/fault_*.py): a small production-mode deployment on
its own PostgreSQL database, signed-in caseworker clients, and the integrity checks run after
the fault. Uses load_test.py's helpers so that both set up the deployment the same way."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load_test  # noqa: E402
import requests  # noqa: E402

# Production cookies are Secure; these clients stand where the TLS proxy would (loopback only).
DefaultCookiePolicy.return_ok_secure = lambda *_args: True  # type: ignore[method-assign]
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class Deployment:
    url: str
    directory: Path
    prepared: dict[str, Any]
    port: int = 0
    server: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=Path)

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def keyring(self) -> Path:
        return Path(self.prepared["keyring"])

    def start(self, workers: int, threads: int) -> None:
        self.port = load_test.free_port()
        self.log = self.directory / f"gunicorn-{self.port}.log"
        self.server = load_test.start_server(
            self.url, self.keyring, self.prepared["secret"], self.port, workers, threads, self.log
        )
        load_test.sign_in_all(self.host, self.prepared["users"])

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()


def deploy(database: str, cases: int = 300, users: int = 4, server: str = "127.0.0.1:5432") -> Deployment:
    url = f"postgresql://postgres@{server}/{database}"
    directory = Path(tempfile.mkdtemp(prefix=f"casework-{database}-"))
    load_test.recreate_database(server, database)
    return Deployment(url, directory, load_test.prepare(url, directory, cases, users))


class Caseworker:
    """One signed-in caseworker (its own requests session) acting on its own cases."""

    def __init__(self, host: str, account: dict[str, Any]) -> None:
        self.host, self.account = host, account
        self.http = requests.Session()
        self.http.cookies.set("casework_session", account["cookie"], domain="127.0.0.1", path="/")

    def case_file(self) -> requests.Response:
        return self.http.get(f"{self.host}/cases/{random.choice(self.account['case_ids'])}", timeout=30)

    def new_service(self) -> requests.Response:
        url = f"{self.host}/cases/{random.choice(self.account['case_ids'])}/assistance/psychosocial/new"
        form = self.http.get(url, timeout=30)
        if form.status_code != 200:
            return form
        match = TOKEN.search(form.text)
        data = {
            "csrf_token": match.group(1) if match else "",
            "status": "in_progress",
            "started_on": (date.today() - timedelta(days=random.randint(1, 300))).isoformat(),
            "support_types": "individual_counselling",
            "sessions_planned": "6",
            "sessions_attended": "1",
            "notes": "Fault script session.",
        }
        return self.http.post(url, data=data, allow_redirects=False, timeout=30)


def integrity(deployment: Deployment, since: datetime) -> dict[str, Any]:
    """Checks after a fault: every service row has its kind's row (joined inheritance written
        whole or not at all), every service created ``since`` has its creation audit event (seeded
    services have none: seeding audits once), the audit chain verifies."""
    from sqlalchemy import create_engine, text

    from casework.assistance.models import SERVICE_MODELS

    engine = create_engine("postgresql+psycopg://" + deployment.url.split("://", 1)[1])
    checks: dict[str, Any] = {}
    with engine.connect() as conn:
        orphans = 0
        for kind, model in SERVICE_MODELS.items():
            table = model.__tablename__
            orphans += conn.execute(
                text(
                    f"SELECT count(*) FROM services s LEFT JOIN {table} k ON k.id = s.id "  # noqa: S608 - model table names
                    "WHERE s.kind = :kind AND k.id IS NULL"
                ),
                {"kind": kind},
            ).scalar_one()
        checks["services without their kind's row"] = orphans
        checks["services without a service.create audit event"] = conn.execute(
            text(
                "SELECT count(*) FROM services s WHERE s.created_at >= :since AND NOT EXISTS "
                "(SELECT 1 FROM audit_events a WHERE a.action = 'service.create' "
                "AND a.target_id = CAST(s.id AS VARCHAR))"
            ),
            {"since": since},
        ).scalar_one()
        checks["services created during the fault"] = conn.execute(
            text("SELECT count(*) FROM services WHERE created_at >= :since"), {"since": since}
        ).scalar_one()
    engine.dispose()
    verify = load_test.run(
        [str(load_test.BIN / "flask"), "--app", "wsgi", "audit", "verify"],
        load_test.production_env(deployment.url, deployment.keyring),
        check=False,
    )
    output = (verify.stdout + verify.stderr).strip()
    checks["audit verify"] = "chain intact" if "chain intact" in output else output[-300:]
    return checks
