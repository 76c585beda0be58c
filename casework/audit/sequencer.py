"""The audit sequencer: integrates appended events into a Merkle tree and anchors checkpoints.

Built like a transparency log (Certificate Transparency, Trillian, Rekor). Appending an event
is one INSERT with its own MAC (casework.audit.writer), locking nothing other appends wait for.
The sequencer, once per deployment, takes the events not yet in the tree in batches, gives
each the next leaf index (leaf = RFC 6962 hash of its id and MAC), and writes a checkpoint:
the tree's size and root hash, when, signed with HMAC under a key derived from the audit key
(which the database's writer does not hold). Each checkpoint is also appended to the anchor,
an append-only file outside the database and its backups (``CASEWORK_AUDIT_ANCHOR``), and
logged. `audit verify` then shows any integrated event deleted or changed, the end cut off,
the log wiped or an older copy of the database put back: the tree no longer matches a stored
or anchored checkpoint, or is smaller than the anchor says.

One process integrates at a time: a lease row (holder, epoch, expiry) that a process renews
while it runs and another takes over once it expired; each integration locks that row and
checks it still holds the lease (fencing: a process that stalled past its expiry writes
nothing). Only integrations ever wait on that row, never the appends. Every app process runs
a sequencer thread that works only while it holds the lease (gunicorn starts it before a
worker serves; any other server on its first request); ``flask audit sequencer`` runs one in
the foreground. Tests turn the thread off and call :func:`integrate_pending`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from logging.handlers import SysLogHandler
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import bindparam, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from casework.audit.merkle import Frontier, leaf_hash
from casework.audit.models import AuditCheckpoint, AuditEvent, AuditSequencerLease
from casework.crypto import get_keyring
from casework.db import get_db, utcnow

log = logging.getLogger(__name__)
anchor_log = logging.getLogger("casework.audit.anchor")

BATCH_SIZE = 5000
LEASE_SECONDS = 15.0
EXTENSION = "casework.audit.sequencer"
_EVENTS = AuditEvent.__table__
_LEASE = AuditSequencerLease.__table__
_CHECKPOINT_KEY_LABEL = b"casework audit checkpoint key v1"


class LeaseLost(Exception):
    """This process no longer holds the sequencer lease: it integrated nothing."""


class LogInconsistent(Exception):
    """The tree in the database does not end where its last checkpoint says (tampered with):
    nothing is integrated until `audit verify` has been run and the cause found."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement: the tree had ``tree_size`` leaves and root ``root_hash`` at ``signed_at``."""

    tree_size: int
    root_hash: str
    signed_at: datetime
    signature: str

    def message(self) -> bytes:
        return f"casework-audit-checkpoint-v1\n{self.tree_size}\n{self.root_hash}\n{_iso(self.signed_at)}".encode()

    def signature_ok(self, audit_key: bytes) -> bool:
        expected = hmac.new(checkpoint_key(audit_key), self.message(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.signature)

    def line(self) -> str:
        data = {"size": self.tree_size, "root": self.root_hash, "at": _iso(self.signed_at), "sig": self.signature}
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_line(cls, line: str) -> Checkpoint:
        """Raises ValueError for a line that is not a checkpoint."""
        try:
            data = json.loads(line)
            return cls(int(data["size"]), str(data["root"]), datetime.fromisoformat(str(data["at"])), str(data["sig"]))
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError("not a checkpoint line") from exc

    @classmethod
    def of_row(cls, row: AuditCheckpoint) -> Checkpoint:
        return cls(int(row.tree_size), row.root_hash, row.signed_at, row.signature)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def checkpoint_key(audit_key: bytes) -> bytes:
    """The key checkpoints are signed with, derived from the audit key."""
    return hmac.new(audit_key, _CHECKPOINT_KEY_LABEL, hashlib.sha256).digest()


def sign_checkpoint(audit_key: bytes, tree_size: int, root: bytes, signed_at: datetime) -> Checkpoint:
    unsigned = Checkpoint(tree_size, root.hex(), signed_at, "")
    signature = hmac.new(checkpoint_key(audit_key), unsigned.message(), hashlib.sha256).hexdigest()
    return Checkpoint(tree_size, root.hex(), signed_at, signature)


def leaf_data(event_id: int, mac: str) -> bytes:
    """What a leaf stands for: the event's id and MAC (the MAC covers everything else)."""
    return f"casework-audit-leaf-v1\x1f{event_id}\x1f{mac}".encode()


# -- the anchor --------------------------------------------------------------------------------
def append_to_anchor(path: Path, checkpoint: Checkpoint) -> None:
    """Append the checkpoint's line to the anchor file (created owner-only) and sync it to disk.
    Raises OSError when the file cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, (checkpoint.line() + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    anchor_log.info("audit checkpoint %s", checkpoint.line())


def read_anchor(path: Path) -> list[tuple[int, Checkpoint | None]]:
    """The anchor's checkpoints with their line numbers (None for a line that is not one); an
    absent file has none. Raises OSError when it exists but cannot be read."""
    if not path.exists():
        return []
    entries: list[tuple[int, Checkpoint | None]] = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entries.append((number, Checkpoint.from_line(line)))
            except ValueError:
                entries.append((number, None))
    return entries


# -- the lease ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Lease:
    holder: str
    epoch: int


def _ensure_lease_row(db: Session) -> None:
    upsert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    gone = datetime(1970, 1, 1, tzinfo=utcnow().tzinfo)
    db.execute(upsert(_LEASE).values(id=1, holder="", epoch=0, expires_at=gone).on_conflict_do_nothing())


def acquire_lease(holder: str, seconds: float = LEASE_SECONDS) -> Lease | None:
    """Take or renew the sequencer lease for ``holder``; None while another holder's is valid.
    Raises SQLAlchemyError when the database cannot be written."""
    now = utcnow()
    db = get_db().sessionmaker()
    try:
        _ensure_lease_row(db)
        epoch = db.execute(
            update(_LEASE)
            .where(_LEASE.c.id == 1, or_(_LEASE.c.holder == holder, _LEASE.c.expires_at < now))
            .values(
                holder=holder,
                epoch=case((_LEASE.c.holder == holder, _LEASE.c.epoch), else_=_LEASE.c.epoch + 1),
                expires_at=now + timedelta(seconds=seconds),
            )
            .returning(_LEASE.c.epoch)
        ).scalar_one_or_none()
        db.commit()
        return None if epoch is None else Lease(holder, int(epoch))
    finally:
        db.rollback()
        db.close()


def release_lease(holder: str) -> None:
    """Give the lease up at once (a stopping process), so another takes over without waiting."""
    db = get_db().sessionmaker()
    try:
        db.execute(update(_LEASE).where(_LEASE.c.id == 1, _LEASE.c.holder == holder).values(expires_at=utcnow()))
        db.commit()
    finally:
        db.rollback()
        db.close()


def _lock_integration(db: Session, lease: Lease | None) -> None:
    """Serialise integrations on the lease row; with ``lease``, raise LeaseLost unless it is
    still held (same holder and epoch, not expired)."""
    _ensure_lease_row(db)
    if db.get_bind().dialect.name == "sqlite":
        db.execute(update(_LEASE).where(_LEASE.c.id == 1).values(id=_LEASE.c.id))  # the write lock
    row = db.execute(
        select(_LEASE.c.holder, _LEASE.c.epoch, _LEASE.c.expires_at).where(_LEASE.c.id == 1).with_for_update()
    ).one()
    if lease is not None and (row.holder != lease.holder or row.epoch != lease.epoch or row.expires_at <= utcnow()):
        raise LeaseLost


# -- integration -------------------------------------------------------------------------------
def latest_checkpoint(db: Session) -> AuditCheckpoint | None:
    return db.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1)).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class Integration:
    """One batch integrated: the checkpoint that covers it and how many events it took in."""

    checkpoint: Checkpoint
    events: int


def integrate_pending(*, lease: Lease | None = None, batch_size: int = BATCH_SIZE) -> Checkpoint | None:
    """Integrate up to ``batch_size`` events not yet in the tree (oldest id first), store and
    anchor the new signed checkpoint, in a transaction of its own; the checkpoint, or None when
    nothing waited. Raises as :func:`integrate_batch`."""
    integration = integrate_batch(lease=lease, batch_size=batch_size)
    return integration.checkpoint if integration is not None else None


def integrate_batch(*, lease: Lease | None = None, batch_size: int = BATCH_SIZE) -> Integration | None:
    """:func:`integrate_pending`, also saying how many events the batch took in.

    Raises LeaseLost (with ``lease``: another process sequences now), LogInconsistent (the
    stored tree does not match its last checkpoint), SQLAlchemyError. An anchor that cannot be
    written is logged as an error: the checkpoint stands in the database and the next one,
    which covers it, is anchored again."""
    audit_key = get_keyring().audit_key
    anchor = current_app.config["CASEWORK"].audit_anchor_path
    db = get_db().sessionmaker()
    try:
        _lock_integration(db, lease)
        pending = db.execute(
            select(_EVENTS.c.id, _EVENTS.c.mac)
            .where(_EVENTS.c.leaf_index.is_(None))
            .order_by(_EVENTS.c.id)
            .limit(batch_size)
        ).all()
        if not pending:
            return None
        frontier = _stored_frontier(db, audit_key)
        updates = []
        for event_id, mac in pending:
            updates.append({"event_id": event_id, "leaf": frontier.size})
            frontier.append(leaf_hash(leaf_data(event_id, mac)))
        db.execute(
            update(_EVENTS)
            .where(_EVENTS.c.id == bindparam("event_id"), _EVENTS.c.leaf_index.is_(None))
            .values(leaf_index=bindparam("leaf")),
            updates,
        )
        checkpoint = sign_checkpoint(audit_key, frontier.size, frontier.root(), utcnow())
        db.add(
            AuditCheckpoint(
                tree_size=checkpoint.tree_size,
                root_hash=checkpoint.root_hash,
                signed_at=checkpoint.signed_at,
                signature=checkpoint.signature,
                frontier=json.dumps(frontier.dump()),
            )
        )
        db.commit()
    finally:
        db.rollback()
        db.close()
    try:
        append_to_anchor(anchor, checkpoint)
    except OSError as exc:
        log.error("audit checkpoint %s not anchored: %s", checkpoint.tree_size, exc)
    return Integration(checkpoint, len(pending))


def _stored_frontier(db: Session, audit_key: bytes) -> Frontier:
    last = latest_checkpoint(db)
    top = db.execute(select(func.max(_EVENTS.c.leaf_index))).scalar()
    if last is None:
        if top is not None:
            raise LogInconsistent("events are in the tree but no checkpoint names them")
        return Frontier()
    if not Checkpoint.of_row(last).signature_ok(audit_key):
        raise LogInconsistent("the last checkpoint's signature does not verify")
    try:
        frontier = Frontier.load(json.loads(last.frontier), int(last.tree_size))
    except (ValueError, TypeError) as exc:
        raise LogInconsistent("the last checkpoint's frontier is unreadable") from exc
    if frontier.root().hex() != last.root_hash or top != last.tree_size - 1:
        raise LogInconsistent("the tree does not end where the last checkpoint says")
    return frontier


# -- the thread --------------------------------------------------------------------------------
class Sequencer:
    """One process's sequencer: renews the lease and integrates while it holds it. Thread-safe."""

    def __init__(self, app: Flask, interval: float, node: str) -> None:
        self.app = app
        self.interval = interval
        self.node = node[:100]
        self.pid = os.getpid()
        self.holder = self._new_holder()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batch_size = BATCH_SIZE

    def _new_holder(self) -> str:
        return f"{self.node}:{os.getpid()}:{uuid.uuid4().hex[:12]}"

    def step(self) -> int:
        """One round: take or renew the lease, then integrate what waits; the events integrated.
        Errors are logged, never raised (the thread goes on).

        One batch per round, and more only while batches come back full (a backlog): events
        appended during the round wait for the next one, an interval later. Integrating again
        until nothing waited made a busy deployment's sequencer chase the stream in batches of
        one or two events, each with its lease check, checkpoint, commit and anchor line."""
        integrated = 0
        with self.app.app_context():
            try:
                lease = acquire_lease(self.holder, max(LEASE_SECONDS, self.interval * 5))
                while lease is not None and not self._stop.is_set():
                    integration = integrate_batch(lease=lease, batch_size=self.batch_size)
                    if integration is None:
                        break
                    integrated += integration.events
                    if integration.events < self.batch_size:
                        break
            except LeaseLost:
                pass
            except LogInconsistent as exc:
                log.error("audit sequencer stopped integrating: %s (run `flask audit verify`)", exc)
            except SQLAlchemyError as exc:
                log.warning("audit sequencer round failed: %s", type(exc).__name__)
        return integrated

    def start(self) -> None:
        """Run rounds every interval in a daemon thread (no-op if running)."""
        if os.getpid() != self.pid:  # copied into a forked worker: another process
            self.pid = os.getpid()
            self.holder = self._new_holder()
            self._thread = None
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        thread = threading.Thread(target=self._run, name="casework-audit-sequencer", daemon=True)
        self._thread = thread
        thread.start()

    def ensure_started(self) -> None:
        """Cheap enough for every request: starts the thread if it is not running."""
        thread = self._thread
        if thread is None or not thread.is_alive() or os.getpid() != self.pid:
            with self._start_lock:
                self.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.step()
            self._stop.wait(self.interval)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and give the lease up."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None
        if thread is not None and os.getpid() == self.pid:
            with self.app.app_context():
                try:
                    release_lease(self.holder)
                except SQLAlchemyError:
                    pass


def init_app(app: Flask) -> Sequencer | None:
    cfg = app.config["CASEWORK"]
    if cfg.audit_syslog:
        _send_checkpoints_to_syslog(cfg.audit_syslog)
    if not cfg.audit_sequencer:
        return None
    sequencer = Sequencer(app, cfg.audit_sequencer_interval, cfg.node_name)
    app.extensions[EXTENSION] = sequencer
    app.before_request(sequencer.ensure_started)
    return sequencer


def _send_checkpoints_to_syslog(address: str) -> None:
    """Add a syslog handler (once per process) to the checkpoints' logger."""
    if any(isinstance(handler, SysLogHandler) for handler in anchor_log.handlers):
        return
    host, _, port = address.rpartition(":")
    target: str | tuple[str, int] = address if address.startswith("/") or not port.isdigit() else (host, int(port))
    anchor_log.addHandler(SysLogHandler(address=target, facility=SysLogHandler.LOG_AUTH))
    anchor_log.setLevel(logging.INFO)


def get_sequencer(app: Flask) -> Sequencer | None:
    found: Any = app.extensions.get(EXTENSION)
    return found if isinstance(found, Sequencer) else None


def stop_sequencer(app: Flask) -> None:
    """Stop ``app``'s sequencer thread, if any (gunicorn's worker_exit, tests)."""
    sequencer = get_sequencer(app)
    if sequencer is not None:
        sequencer.stop()
