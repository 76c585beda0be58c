"""gunicorn settings for production (scripts/serve). Override with GUNICORN_* / CASEWORK_* env vars."""

import gc
import multiprocessing
import os

bind = os.environ.get("CASEWORK_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("CASEWORK_WORKERS", str(multiprocessing.cpu_count() * 2 + 1)))
worker_class = "gthread"
threads = int(os.environ.get("CASEWORK_THREADS", "4"))
timeout = 60
graceful_timeout = 30
keepalive = 5
# The master imports and builds the app once; a worker is a fork of it, serving at once (a
# killed or recycled worker no longer stalls its share of requests while it imports the app:
# bench/worker_start.py). The master never opens a database connection (nothing does before a
# request; the keyring check runs in each worker, below), and post_fork drops the pool anyway,
# so no connection is ever shared by two processes. A new release needs `systemctl restart
# casework` (graceful), not a reload: a reload forks new workers from the same loaded code.
preload_app = True
max_requests = 5000
max_requests_jitter = 500
# Forwarded headers are read in one place only: the app's ProxyFix, with CASEWORK_PROXY_HOPS.
# gunicorn trusting X-Forwarded-Proto as well (its default for 127.0.0.1) would take a client's
# own header for the truth when the app is told to trust no proxy.
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}
# Worker heartbeat files and gunicorn's control socket: systemd's RuntimeDirectory (mode 700;
# the install and the service's home are read-only). Without one, no control socket at all.
_runtime = os.environ.get("RUNTIME_DIRECTORY")
worker_tmp_dir = _runtime or None
control_socket = os.path.join(_runtime, "gunicorn.ctl") if _runtime else "gunicorn.ctl"
control_socket_disable = not _runtime
# The access log has the path without its query string; casework puts no victim data in URLs,
# and this keeps it that way even if a client adds some.
accesslog = "-"
access_log_format = '{"remote":"%(h)s","method":"%(m)s","path":"%(U)s","status":%(s)s,"ms":%(M)s}'
errorlog = "-"


def when_ready(server):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """In the master, with the app loaded (preload_app) and no worker forked yet: compile every
    template once, so that workers share them instead of compiling on their first requests."""
    from casework.web import compile_templates

    count = compile_templates(server.app.wsgi())
    server.log.info("compiled %d templates before forking the workers", count)


def pre_fork(server, worker):  # noqa: ANN001, ANN201, ARG001 - gunicorn's hook signature
    """In the master, before each fork: the loaded app and its modules stay for the process's
    life; out of the cyclic collector's reach, a collection in a worker never touches (and so
    never copies) the memory the workers share with the master."""
    gc.freeze()


def post_fork(server, worker):  # noqa: ANN001, ANN201, ARG001 - gunicorn's hook signature
    """In the new worker: a pool of its own (no connection of the master's, were there one)."""
    from casework.db import get_db

    get_db(worker.app.wsgi()).engine.dispose(close=False)


def post_worker_init(worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """Before a worker serves: refuse a keyring that is not the database's own (scripts/serve
    checks first; this covers gunicorn started directly). KeyringMismatch makes the worker fail
    to boot, and gunicorn then stops the whole server."""
    from casework.crypto.ownership import check_keyring_matches_database
    from casework.crypto.watch import get_watcher

    check_keyring_matches_database(worker.wsgi)
    # Report this worker's keyring before it serves, then keep it current: a copied keyring
    # file and a `keys activate` reach the worker without a restart (casework.crypto.watch).
    watcher = get_watcher(worker.wsgi)
    if watcher is not None:
        watcher.start()
    # The audit sequencer thread: integrates appended events while this worker holds the
    # deployment's lease (casework.audit.sequencer), stands by otherwise.
    from casework.audit.sequencer import get_sequencer

    sequencer = get_sequencer(worker.wsgi)
    if sequencer is not None:
        sequencer.start()
    # The app and its modules stay for the worker's life: take them out of the cyclic
    # collector's reach, so that a full collection (which stops every thread of the worker)
    # scans only what came after. In-process, 500 case files: one full
    # collection of 84 ms without this, 1.4 ms with it.
    gc.freeze()


def worker_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """A worker leaving (restart, max_requests, shutdown) removes its keyring report, so that
    `keys status` and `keys activate` stop counting it at once rather than after it ages out."""
    from casework.crypto.watch import stop_watcher

    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "extensions"):
        stop_watcher(app)
        from casework.audit.sequencer import stop_sequencer

        stop_sequencer(app)
