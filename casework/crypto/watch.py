"""Each app process keeps its keyring current and reports what it holds.

A watcher thread per process, every ``CASEWORK_KEYRING_POLL_SECONDS``, and at once when a
request sees a new state generation (an activation): re-reads the keyring file if its content
changed, reads the deployment's state, and writes one ``keyring_processes`` row (host, pid, the
key ids it holds, the active key it saw, when). ``keys status`` lists these rows; ``keys
activate`` refuses while a live process lacks the key, ``keys retire`` while one has not seen
the switch. A process that stops reporting (killed, host down) ages out of the live set after
three polls; its row is deleted by the next process that starts.

gunicorn starts the watcher in ``post_worker_init`` (before the worker serves) and removes the
row in ``worker_exit``; any other server starts it on its first request.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import delete, update
from sqlalchemy.exc import SQLAlchemyError

from casework.crypto.errors import KeyringError
from casework.crypto.keyring import Keyring
from casework.crypto.models import KeyringProcess
from casework.crypto.state import WATCHER_EXTENSION, read_state
from casework.db import get_db, utcnow

log = logging.getLogger(__name__)
#: Rows of processes silent for longer than this are deleted when a process starts.
FORGET_AFTER = timedelta(hours=1)


class KeyringWatcher:
    """Keeps one process's keyring current and reported. Thread-safe."""

    def __init__(self, app: Flask, keyring: Keyring, poll_seconds: float, host: str) -> None:
        self.app = app
        self.keyring = keyring
        self.poll_seconds = poll_seconds
        self.host = host[:255]
        self.instance_id = uuid.uuid4().hex
        self.pid = os.getpid()
        self.started_at = utcnow()
        self.seen_generation: int | None = None
        self.reported = False
        self._poll_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one round ---------------------------------------------------------------------------
    def poll(self) -> None:
        """Re-read the keyring file if it changed, read the state, write this process's row.

        Never raises: a failure is logged (types and key ids only) and retried next round."""
        with self._poll_lock:
            self._fork_check()
            problem = None
            try:
                self.keyring.reload()
            except KeyringError as exc:
                problem = f"keyring file not re-read: {exc}"
                log.error("%s", problem)
            database = get_db(self.app)
            db = database.sessionmaker()
            try:
                state = read_state(db)
                if state is not None and not self.keyring.holds(state.active_key_id):
                    problem = problem or f"lacks the active master key {state.active_key_id}"
                    log.error("this host's keyring file %s", problem)
                self._report(db, state.active_key_id if state else None, state.generation if state else None, problem)
                db.commit()
                self.seen_generation = state.generation if state else None
                self.reported = True
            except SQLAlchemyError as exc:
                log.warning("keyring report not written: the database refused (%s)", type(exc).__name__)
                db.rollback()
            finally:
                db.close()

    def _report(self, db: Any, active_key_id: str | None, generation: int | None, problem: str | None) -> None:
        now = utcnow()
        values = {
            "host": self.host,
            "pid": self.pid,
            "key_ids": " ".join(self.keyring.key_ids),
            "active_key_id": active_key_id,
            "generation": generation,
            "poll_seconds": self.poll_seconds,
            "problem": problem[:300] if problem else None,
            "last_seen": now,
        }
        updated = db.execute(
            update(KeyringProcess).where(KeyringProcess.instance_id == self.instance_id).values(**values)
        )
        if updated.rowcount == 0:
            if not self.reported:  # a process starting: forget the long dead
                db.execute(delete(KeyringProcess).where(KeyringProcess.last_seen < now - FORGET_AFTER))
            db.add(KeyringProcess(instance_id=self.instance_id, started_at=self.started_at, **values))

    def deregister(self) -> None:
        """Delete this process's row (a worker exiting cleanly)."""
        db = get_db(self.app).sessionmaker()
        try:
            db.execute(delete(KeyringProcess).where(KeyringProcess.instance_id == self.instance_id))
            db.commit()
        except SQLAlchemyError as exc:
            log.warning("keyring report not removed (%s)", type(exc).__name__)
            db.rollback()
        finally:
            db.close()

    def _fork_check(self) -> None:
        # A watcher copied into a forked child is another process: report it as one.
        if os.getpid() != self.pid:
            self.pid = os.getpid()
            self.instance_id = uuid.uuid4().hex
            self.started_at = utcnow()
            self.reported = False
            self._thread = None

    # -- the thread --------------------------------------------------------------------------
    def notice(self, generation: int) -> None:
        """A request saw state ``generation``: poll now if it is new to this process."""
        if generation != self.seen_generation:
            self._wake.set()

    def start(self) -> None:
        """Report now, then every poll interval in a daemon thread (no-op if running)."""
        self._fork_check()
        if self.poll_seconds <= 0 or (self._thread is not None and self._thread.is_alive()):
            return
        self._stop.clear()
        self.poll()
        thread = threading.Thread(target=self._run, name="casework-keyring-watcher", daemon=True)
        self._thread = thread
        thread.start()

    def ensure_started(self) -> None:
        """Cheap enough for every request: starts the thread if it is not running."""
        thread = self._thread
        if self.poll_seconds > 0 and (thread is None or not thread.is_alive() or os.getpid() != self.pid):
            with _start_lock:
                self.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                break
            self.poll()

    def stop(self, deregister: bool = True, timeout: float = 5.0) -> None:
        """Stop the thread and, by default, delete this process's row."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None
        if deregister and self.reported and os.getpid() == self.pid:
            self.deregister()


_start_lock = threading.Lock()


def init_app(app: Flask, keyring: Keyring, poll_seconds: float, host: str) -> KeyringWatcher:
    watcher = KeyringWatcher(app, keyring, poll_seconds, host)
    app.extensions[WATCHER_EXTENSION] = watcher
    if poll_seconds > 0:
        app.before_request(watcher.ensure_started)
    return watcher


def get_watcher(app: Flask) -> KeyringWatcher | None:
    return app.extensions.get(WATCHER_EXTENSION)  # type: ignore[no-any-return]


def stop_watcher(app: Flask) -> None:
    """Stop ``app``'s watcher thread and remove its report (gunicorn's worker_exit, tests)."""
    watcher = get_watcher(app)
    if watcher is not None:
        watcher.stop()


def wait_for(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate()`` until true or ``timeout`` seconds passed (the CLI's waits)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
