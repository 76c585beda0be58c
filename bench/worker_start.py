"""Benchmark: how soon a gunicorn worker serves after it is forked.

A worker that dies (killed, or recycled by max_requests) is replaced by a fresh fork that
imports and builds the app before it can answer; meanwhile its share of the requests waits.
Target: a worker serves within 2 s of being forked on this machine.

Two figures, in a production configuration (``CASEWORK_ENV=production``, PostgreSQL, the
repository's gunicorn.conf.py, one worker so that every request waits for the new one):

- **fork to first 200**: the worker is killed (SIGKILL); the master forks a new one (a
  ``post_fork`` hook records the moment); a ``GET /health`` sent right after the kill waits in
  the listen queue and is answered by the new worker: the time from its fork to that answer.
  Median and worst of ``--kills`` kills.
- **CPU until first 200**: the CPU time the new worker used from its fork to that answer
  (/proc): what the wait is on an idle core. This machine is shared; under load the wall time
  stretches and this figure does not.
- **import**: a fresh interpreter importing ``wsgi`` (``create_app``), median of ``--imports``.

``--app-dir`` points at another checkout (e.g. the code before a change) to measure it with the
same harness. Uses its own database (default ``casework_worker_start``, dropped and created).

Run: ``.venv/bin/python bench/worker_start.py [--kills 7] [--imports 7] [--app-dir DIR]``
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGET_SECONDS = 2.0

HOOKS = """
# bench/worker_start.py: the app's own gunicorn.conf.py, plus hooks recording fork and ready times.
exec(compile(open({conf!r}).read(), {conf!r}, "exec"))
import time as _time

_app_post_worker_init = globals().get("post_worker_init")
workers = 1


def post_fork(server, worker):
    with open({log!r}, "a") as handle:
        handle.write(f"fork {{worker.pid}} {{_time.time()}}\\n")


def post_worker_init(worker):
    if _app_post_worker_init is not None:
        _app_post_worker_init(worker)
    with open({log!r}, "a") as handle:
        handle.write(f"ready {{worker.pid}} {{_time.time()}}\\n")
"""


def run(command: list[str], env: dict[str, str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def health(port: int, timeout: float = 60) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc; clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def times(log: Path, kind: str) -> dict[int, float]:
    found = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        what, pid, at = line.split()
        if what == kind:
            found[int(pid)] = float(at)
    return found


def wait_for_new_worker(master: int, old: set[int], deadline: float) -> int:
    while time.monotonic() < deadline:
        new = set(worker_pids(master)) - old
        if new:
            return new.pop()
        time.sleep(0.005)
    raise SystemExit("no new worker was forked")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=7)
    parser.add_argument("--imports", type=int, default=7)
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--database", default="casework_worker_start")
    parser.add_argument("--server", default="127.0.0.1:5432")
    args = parser.parse_args()
    app_dir = args.app_dir.resolve()
    if args.database in ("test", "postgres", "template0", "template1"):
        raise SystemExit(f"refusing to use the shared database {args.database!r}")
    host, port_text = args.server.split(":")
    directory = Path(tempfile.mkdtemp(prefix="casework-worker-start-"))
    url = f"postgresql://postgres@{args.server}/{args.database}"
    keyring = directory / "keyring.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")}
    env.update(
        CASEWORK_ENV="production",
        CASEWORK_DATABASE_URL=url,
        CASEWORK_SECRET_KEY="worker-start-bench-" + "x" * 40,
        CASEWORK_KEYRING=str(keyring),
        CASEWORK_AUDIT_ANCHOR=str(directory / "audit-anchor.log"),
        PATH=f"{BIN}:{env.get('PATH', '')}",
        FLASK_APP="wsgi",
    )
    pg = ["-h", host, "-p", port_text, "-U", "postgres"]
    run(["dropdb", *pg, "--if-exists", "--force", args.database], env, app_dir)
    run(["createdb", *pg, args.database], env, app_dir)
    run([str(BIN / "python"), "-m", "casework.crypto", "init", str(keyring)], env, app_dir)
    run([str(BIN / "flask"), "db", "upgrade"], env, app_dir)

    # A fresh interpreter importing the app, as a forked worker does (no preload).
    imports = []
    probe = "import time; t = time.perf_counter(); import wsgi; print(time.perf_counter() - t)"
    for _ in range(args.imports):
        out = subprocess.run(  # noqa: S603
            [str(BIN / "python"), "-c", probe], cwd=app_dir, env=env, capture_output=True, text=True, check=True
        )
        imports.append(float(out.stdout.strip().splitlines()[-1]))

    log = directory / "workers.log"
    conf = directory / "gunicorn.bench.conf.py"
    conf.write_text(HOOKS.format(conf=str(app_dir / "gunicorn.conf.py"), log=str(log)))
    port = free_port()
    server_log = (directory / "gunicorn.log").open("wb")
    master = subprocess.Popen(  # noqa: S603
        [str(BIN / "gunicorn"), "-c", str(conf), "wsgi:app"],
        cwd=app_dir,
        env={**env, "CASEWORK_BIND": f"127.0.0.1:{port}", "CASEWORK_THREADS": "4"},
        stdout=server_log,
        stderr=server_log,
        start_new_session=True,
    )
    served: list[float] = []
    ready: list[float] = []
    cpu: list[float] = []
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if health(port, timeout=5) == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or master.poll() is not None:
                raise SystemExit(f"gunicorn did not serve; see {directory / 'gunicorn.log'}")
            time.sleep(0.1)
        for _ in range(args.kills):
            time.sleep(1.0)  # let the machine settle between kills
            old = set(worker_pids(master.pid))
            for pid in old:
                os.kill(pid, signal.SIGKILL)
            status = health(port)  # queued until the new worker accepts it
            answered = time.time()
            assert status == 200, status
            new = wait_for_new_worker(master.pid, old, time.monotonic() + 10)
            cpu.append(cpu_seconds(new))
            forked = times(log, "fork")[new]
            served.append(answered - forked)
            ready.append(times(log, "ready")[new] - forked)
            print(
                f"worker {new}: ready {ready[-1]:.2f} s, first 200 {served[-1]:.2f} s after its fork, "
                f"{cpu[-1]:.2f} s of CPU by then",
                flush=True,
            )
    finally:
        os.killpg(master.pid, signal.SIGTERM)
        master.wait(timeout=60)
        run(["dropdb", *pg, "--if-exists", "--force", args.database], env, app_dir)

    median_served = statistics.median(served)
    print(f"\napp: {app_dir}")
    print(
        f"fork -> first 200 on /health: median {median_served:.2f} s, worst {max(served):.2f} s ({len(served)} kills)"
    )
    print(f"fork -> worker ready (post_worker_init done): median {statistics.median(ready):.2f} s")
    print(
        f"CPU time of the new worker until it answered: median {statistics.median(cpu):.2f} s "
        "(what the wait would be on an idle core; the machine's load stretches the wall time)"
    )
    print(f"fresh interpreter importing wsgi: median {statistics.median(imports):.2f} s ({len(imports)} runs)")
    met = "yes" if median_served <= TARGET_SECONDS else "no"
    print(f"RESULT|worker fork to first 200 (median)|{median_served:.2f} s|<= {TARGET_SECONDS:.0f} s|{met}")
    print(f"RESULT|worker fork to first 200 (worst of {len(served)})|{max(served):.2f} s|-|-")
    print(f"RESULT|new worker's CPU time until its first 200 (median)|{statistics.median(cpu):.2f} s|-|-")
    print(f"RESULT|fresh worker's import of the app (median)|{statistics.median(imports):.2f} s|-|-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
