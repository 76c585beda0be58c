"""The keyring watcher in a real gunicorn (gunicorn.conf.py's post_worker_init and worker_exit):
a worker reports what it holds before it serves, picks up a copied keyring file without a
restart, serves cases re-wrapped under the new key, wraps new ones under it, and removes its
report when it exits.

The gunicorn process is host B (its own copy of the keyring file); the operator's commands run
in this test's app, host A, on the same database.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from casework.crypto.models import KeyringProcess
from casework.db import session
from tests.conftest import PASSWORD, TEST_SETTINGS
from tests.crypto.hosts import add_key, file_key_ids, keys, ok, wrapping_key_ids

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


@pytest.fixture
def app(make_app, keyfiles):
    return make_app(keyring_path=keyfiles.a, node_name="host-a", backup_retention_days=0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Gunicorn:
    def __init__(self, database_url: str, keyring: Path, log: Path) -> None:
        self.port = _free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith(("CASEWORK_", "GUNICORN_"))}
        env.update(
            CASEWORK_ENV="production",
            CASEWORK_DATABASE_URL=database_url,
            CASEWORK_SECRET_KEY=TEST_SETTINGS["secret_key"],
            CASEWORK_KEYRING=str(keyring),
            CASEWORK_AUDIT_ANCHOR=str(log.parent / f"anchor-{self.port}.log"),
            CASEWORK_SECURE_COOKIES="0",  # plain HTTP on loopback
            CASEWORK_BIND=f"127.0.0.1:{self.port}",
            CASEWORK_WORKERS="1",
            CASEWORK_THREADS="2",
            CASEWORK_KEYRING_POLL_SECONDS="0.3",
            CASEWORK_NODE_NAME="host-b",
        )
        self.log = log.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
            [str(GUNICORN), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=2) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        raise AssertionError("gunicorn did not answer /health in time")

    def get(self, path: str) -> tuple[int, str, str]:
        try:
            with self.opener.open(self.base + path, timeout=30) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, path, error.read().decode()

    def post(self, path: str, data: dict[str, str]) -> tuple[int, str, str]:
        _status, _url, page = self.get(path)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token, "no CSRF token on " + path
        body = urllib.parse.urlencode({**data, "csrf_token": token.group(1)}).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, path, error.read().decode()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()
        return int(self.process.returncode)


def _reports(app) -> list[KeyringProcess]:
    with app.app_context():
        return list(
            session.execute(
                select(KeyringProcess).where(KeyringProcess.host == "host-b").execution_options(populate_existing=True)
            ).scalars()
        )


def _eventually(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return bool(predicate())


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_gunicorn_worker_follows_the_protocol_without_a_restart(
    database, app, keyfiles, database_url, make_org, make_user, make_case, tmp_path
):
    org = make_org("Lead agency")
    caseworker = make_user("caseworker", org=org)
    case = make_case(org, caseworker, given_name="Servedbygunicorn")
    old = file_key_ids(keyfiles.a)[0]
    server = Gunicorn(database_url, keyfiles.b, tmp_path / "gunicorn.log")
    try:
        server.wait_ready()
        # post_worker_init reported the worker (not the master) before it served anything.
        reports = _reports(app)
        assert len(reports) == 1, (tmp_path / "gunicorn.log").read_text()[-3000:]
        worker = reports[0]
        assert worker.pid != server.process.pid and worker.held == [old] and worker.active_key_id == old

        new = add_key(app)
        keyfiles.copy_a_to_b()  # host B's file gains the key: the worker re-reads it by itself
        assert _eventually(lambda: new in _reports(app)[0].held)
        ok(keys(app, "activate", new, "--wait", "10"))
        ok(keys(app, "rewrap"))
        assert _eventually(lambda: _reports(app)[0].active_key_id == new)

        status, url, _page = server.post("/auth/login", {"email": caseworker.email, "password": PASSWORD})
        assert status == 200 and "/auth/login" not in url
        status, _url, page = server.get(f"/cases/{case.id}")
        assert status == 200 and "Servedbygunicorn" in page
        status, url, _page = server.post(
            "/cases/new",
            {
                "given_name": "Registeredongunicorn",
                "family_name": "Rotation",
                "gender": "female",
                "citizenship": "VN",
                "country_of_exploitation": "FR",
                "identification_route": "ngo",
                "data_source": "case_management",
                "opened_on": "2025-02-03",
            },
        )
        assert status == 200 and re.search(r"/cases/[0-9a-f-]{36}$", url), url
        assert set(wrapping_key_ids(app).values()) == {new}
        ok(keys(app, "retire", old, "--wait", "10"))
        keyfiles.copy_a_to_b()
        assert _eventually(lambda: _reports(app)[0].held == [new])
        assert _reports(app)[0].pid == worker.pid  # the same worker throughout: no restart
    finally:
        code = server.stop()
    assert code == 0, (tmp_path / "gunicorn.log").read_text()[-3000:]
    assert _reports(app) == []  # worker_exit removed the report
