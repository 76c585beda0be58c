"""Benchmark of case documents: memory of a real server while it takes and serves big files
(prints figures; not a test).

A child process serves the application (Werkzeug's WSGI server, one request at a time) on a
temporary SQLite database with one caseworker and one case; this process signs in through the
forms and, for each size of ``--sizes`` (default 1, 10 and 50 MB, in that order), uploads a PDF
streamed from a file on disk (multipart, never built in memory) and downloads it back (read in
64 KB pieces, checked against the original's SHA-256). After each round it reads the server's
peak resident memory (VmHWM in /proc/<pid>/status, which only grows): if a file were held
whole, the peak would grow by about its size; streamed, it stays flat. Both stores are run
(``--stores files,database``), each in a fresh server.

Run: ``.venv/bin/python bench/documents_bench.py [--sizes 1,10,50] [--stores files,database]``.
Target: the server's peak grows by less than 32 MB from the 1 MB round to the 50 MB round.
"""

from __future__ import annotations

import argparse
import hashlib
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
GROWTH_TARGET_MB = 32
EMAIL = "bench-caseworker@example.org"
PASSWORD = "correct horse battery staple 42"  # noqa: S105 - a throwaway account in a temporary database

SERVER = r"""
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from werkzeug.serving import make_server
from casework import create_app
from casework.db import Base, get_db, session
settings = {{
    "env": "testing", "secret_key": "bench-secret-key-that-is-long-enough-0123456789",
    "argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1,
    "instance_path": Path({directory!r}) / "instance", "database_url": "sqlite:///" + {directory!r} + "/db.sqlite3",
    "keyring_path": Path({directory!r}) / "keyring.json", "document_store": {store!r},
    "document_max_bytes": {max_bytes}, "login_ip_max_attempts": 1000,
}}
app = create_app(settings)
Base.metadata.create_all(get_db(app).engine)
with app.app_context():
    from datetime import date
    from casework.admin import services as admin_services
    from casework.auth.models import Organisation
    from casework.cases.models import Case
    from casework.cases.references import next_reference
    org = Organisation(name="Bench agency", kind="lead_agency")
    session.add(org)
    session.flush()
    user = admin_services.create_user(email={email!r}, display_name="Bench", role="caseworker", organisation=org,
                                      password={password!r}, must_change_password=False, actor=None)
    session.flush()
    case = Case(reference=next_reference(2026), owner_org_id=org.id, assigned_to_id=user.id,
                opened_on=date(2026, 1, 5), year_of_registration=2026)
    session.add(case)
    case.given_name = "Bench"
    session.commit()
    print("CASE", case.id, flush=True)
server = make_server("127.0.0.1", {port}, app, threaded=False)
print("READY", flush=True)
server.serve_forever()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_pdf(path: Path, size: int) -> str:
    """A PDF header and random filler (stored as sent); returns its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        head = b"%PDF-1.7\n"
        out.write(head)
        digest.update(head)
        left = size - len(head)
        while left > 0:
            block = os.urandom(min(MB, left))
            out.write(block)
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def get(self, path: str) -> bytes:
        with self.opener.open(self.base + path) as response:
            return response.read()

    def token(self, path: str) -> str:
        page = self.get(path).decode()
        found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def post(self, path: str, body: bytes | Iterator[bytes], headers: dict[str, str]) -> tuple[int, str]:
        request = urllib.request.Request(self.base + path, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with self.opener.open(request) as response:
                return response.status, response.headers.get("Location", "")
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", "")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def multipart(fields: dict[str, str], path: Path) -> tuple[Iterator[bytes], int, str]:
    """A multipart body streamed from ``path`` (64 KB at a time), its length and boundary."""
    boundary = uuid.uuid4().hex
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="scan.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + path.stat().st_size + len(tail)

    def body() -> Iterator[bytes]:
        yield head
        with path.open("rb") as source:
            while block := source.read(64 * 1024):
                yield block
        yield tail

    return body(), length, boundary


def run_store(store: str, sizes: list[int], work: Path) -> list[tuple[int, float, float, float]]:
    directory = Path(tempfile.mkdtemp(prefix=f"docbench-{store}-", dir=work))
    port = free_port()
    script = SERVER.format(
        root=str(ROOT), directory=str(directory), store=store, max_bytes=max(sizes) * MB + MB,
        email=EMAIL, password=PASSWORD, port=port,
    )  # fmt: skip
    server = subprocess.Popen(  # noqa: S603 - our own server script
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert server.stdout is not None
        case_id = ""
        for line in server.stdout:
            if line.startswith("CASE "):
                case_id = line.split()[1]
            if line.startswith("READY"):
                break
        client = Client(f"http://127.0.0.1:{port}")
        token = client.token("/auth/login")
        body = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": token}).encode()
        status, _ = client.post("/auth/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302, f"sign-in failed: {status}"
        client.get(f"/cases/{case_id}/documents")  # warm up: templates, imports
        baseline = peak_rss_mb(server.pid)
        rows = []
        for size_mb in sizes:
            path = directory / f"{size_mb}.pdf"
            expected = make_pdf(path, size_mb * MB)
            token = client.token(f"/cases/{case_id}/documents/new")
            fields = {"csrf_token": token, "kind": "medical", "title": f"Bench {size_mb} MB", "attach": ""}
            stream, length, boundary = multipart(fields, path)
            started = time.perf_counter()
            status, location = client.post(
                f"/cases/{case_id}/documents/new",
                stream,
                {"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(length)},
            )
            assert status == 302, f"upload of {size_mb} MB failed: {status}"
            upload_s = time.perf_counter() - started
            doc_id = location.rstrip("/").rsplit("/", 1)[-1]
            started = time.perf_counter()
            digest = hashlib.sha256()
            with client.opener.open(f"{client.base}/documents/{doc_id}/download") as response:
                while block := response.read(64 * 1024):
                    digest.update(block)
            download_s = time.perf_counter() - started
            assert digest.hexdigest() == expected, "the download differs from the upload"
            path.unlink()
            rows.append((size_mb, peak_rss_mb(server.pid), upload_s, download_s))
        print(f"{store}: server peak RSS after warm-up {baseline:.1f} MB")
        return rows
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,10,50", help="file sizes in MB, ascending")
    parser.add_argument("--stores", default="files,database")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    with tempfile.TemporaryDirectory(prefix="docbench-") as work:
        for store in args.stores.split(","):
            rows = run_store(store, sizes, Path(work))
            print(f"{'size':>8} {'server peak RSS':>16} {'upload':>8} {'download':>9}")
            for size_mb, peak, up, down in rows:
                print(f"{size_mb:>5} MB {peak:>13.1f} MB {up:>7.2f}s {down:>8.2f}s")
                print(f"RESULT|{store}: server peak RSS after {size_mb} MB upload+download|{peak:.1f} MB|-|-")
            growth = rows[-1][1] - rows[0][1]
            met = "yes" if growth < GROWTH_TARGET_MB else "no"
            print(
                f"RESULT|{store}: peak RSS growth {sizes[0]} MB -> {sizes[-1]} MB|{growth:.1f} MB"
                f"|< {GROWTH_TARGET_MB} MB|{met}"
            )


if __name__ == "__main__":
    main()
