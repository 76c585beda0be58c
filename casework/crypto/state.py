"""Which master key wraps new data keys: the deployment's decision, read from the database in
the very transaction that wraps.

A process never decides by itself (its keyring file may be older or newer than the other
hosts'). :func:`wrapping_key_id` reads ``keyring_state`` under a share lock that lasts until
the wrapping transaction ends (SQLite: the database's write lock), and ``keys activate``
changes it under an exclusive lock (:func:`lock_state`). So an activation waits for every
transaction that wrapped under the old key to commit or roll back, and every transaction that
starts after it wraps under the new key: ``keys rewrap`` then finds every data key the old key
still wraps, and ``keys retire`` counts them under the same lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from casework.crypto.errors import ActiveKeyUnavailable, KeyringError
from casework.crypto.keyring import Keyring
from casework.crypto.models import ACTIVE, RETIRING, KeyringProcess, KeyringState, MasterKeyRecord
from casework.db import utcnow

log = logging.getLogger(__name__)

_LOCKED = "casework.keyring_state"  # Session.info: (active key id, generation) read under lock
WATCHER_EXTENSION = "casework.keyring_watcher"
#: A process is live while its last report is younger than three of its polls plus this.
LIVENESS_MARGIN_SECONDS = 10.0
#: How long ``keys activate`` and ``keys retire`` wait for wrapping transactions (PostgreSQL);
#: new wrapping transactions queue behind a waiting activation, so keep it short.
LOCK_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class State:
    active_key_id: str
    generation: int
    changed_at: datetime


@event.listens_for(Session, "after_transaction_end")
def _forget_locked_state(db: Session, _transaction: Any) -> None:
    # Any end, a savepoint's too: a lock taken inside a rolled-back savepoint is released.
    db.info.pop(_LOCKED, None)


def read_state(db: Session) -> State | None:
    """The state as last committed, without a lock (reports and status only; never to wrap)."""
    row = db.execute(
        select(KeyringState.active_key_id, KeyringState.generation, KeyringState.changed_at).where(KeyringState.id == 1)
    ).first()
    return State(*row) if row is not None else None


def wrapping_key_id(db: Session, keyring: Keyring) -> str:
    """The id of the deployment's active master key, to wrap a new data key under it in ``db``'s
    current transaction, which keeps a lock on the state until it ends.

    When this process's keyring lacks that key it re-reads its file at once; raises
    ActiveKeyUnavailable if the file still lacks it (the request fails cleanly: no data key is
    ever wrapped under another key). The first call on a database without a state (the
    deployment's first start) records the keyring's newest key as the active one.
    """
    locked = db.info.get(_LOCKED)
    if locked is None:
        with db.no_autoflush:
            locked = _read_locked(db, keyring, exclusive=False)
        db.info[_LOCKED] = locked
    key_id, generation = locked
    _notify_watcher(generation)
    if not keyring.holds(key_id):
        try:
            keyring.reload()
        except KeyringError as exc:
            log.error("keyring file could not be re-read: %s", exc)
        if not keyring.holds(key_id):
            log.error(
                "refused to wrap a data key: this host's keyring file lacks the deployment's active "
                "master key %s (copy the keyring file from a host that holds it; `keys status`)",
                key_id,
            )
            raise ActiveKeyUnavailable(key_id)
    return key_id


def lock_state(db: Session, keyring: Keyring) -> State:
    """Lock the state row exclusively until ``db``'s transaction ends: every transaction that
    wrapped under the current key has ended, and none can wrap until this one does. On
    PostgreSQL gives up after LOCK_TIMEOUT_SECONDS (OperationalError)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'"))
    with db.no_autoflush:
        key_id, _generation = _read_locked(db, keyring, exclusive=True)
    state = read_state(db)
    assert state is not None and state.active_key_id == key_id  # noqa: S101 - locked just above
    return state


def _read_locked(db: Session, keyring: Keyring, exclusive: bool) -> tuple[str, int]:
    table = KeyringState.__table__
    query = select(table.c.active_key_id, table.c.generation).where(table.c.id == 1)
    if db.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks: a write to the row takes the database's write lock, which a
        # transaction keeps until it ends (and every wrapping transaction writes anyway).
        touched = db.execute(update(table).where(table.c.id == 1).values(generation=table.c.generation))
        if touched.rowcount == 0:  # type: ignore[attr-defined]
            bootstrap(db, keyring)
        row = db.execute(query).one()
    else:
        row = db.execute(query.with_for_update(read=not exclusive)).first()
        if row is None:
            bootstrap(db, keyring)
            row = db.execute(query.with_for_update(read=not exclusive)).one()
    return str(row.active_key_id), int(row.generation)


def bootstrap(db: Session, keyring: Keyring) -> None:
    """Record the state of a deployment that has none (its first start, or the first after the
    upgrade that brought this table): the keyring's newest key is active, as it was for every
    host before; older keys are retiring. Idempotent and safe against a concurrent bootstrap
    (insert-if-absent). Callers lock or read the state afterwards."""
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    newest = keyring.newest_key_id
    for key_id in keyring.key_ids:
        db.execute(
            insert(MasterKeyRecord)
            .values(
                key_id=key_id,
                state=ACTIVE if key_id == newest else RETIRING,
                created_at=now,
                activated_at=now if key_id == newest else None,
                deactivated_at=None if key_id == newest else now,
            )
            .on_conflict_do_nothing()
        )
    db.execute(
        insert(KeyringState).values(id=1, active_key_id=newest, generation=1, changed_at=now).on_conflict_do_nothing()
    )
    log.info("master-key state recorded for the first time: %s is the deployment's active key", newest)


def ensure_state(db: Session, keyring: Keyring) -> State:
    """The state, recorded first if the database has none (flushes; the caller commits)."""
    state = read_state(db)
    if state is None:
        bootstrap(db, keyring)
        state = read_state(db)
        assert state is not None  # noqa: S101 - inserted just above
    return state


def _notify_watcher(generation: int) -> None:
    """Tell this process's watcher which state generation a request saw: a new one makes it
    re-read the keyring file and report at once rather than at its next poll."""
    if has_app_context():
        watcher = current_app.extensions.get(WATCHER_EXTENSION)
        if watcher is not None:
            watcher.notice(generation)


# -- processes ---------------------------------------------------------------------------------
def is_live(process: KeyringProcess, now: datetime) -> bool:
    window = timedelta(seconds=3 * process.poll_seconds + LIVENESS_MARGIN_SECONDS)
    return process.last_seen >= now - window


def all_processes(db: Session) -> list[KeyringProcess]:
    """Every process's last report (fresh from the database), by host and pid."""
    query = select(KeyringProcess).order_by(KeyringProcess.host, KeyringProcess.pid)
    return list(db.execute(query.execution_options(populate_existing=True)).scalars())


def live_processes(db: Session, now: datetime | None = None) -> list[KeyringProcess]:
    """Every app process that reported recently enough to be running, by host and pid."""
    now = now or utcnow()
    return [p for p in all_processes(db) if is_live(p, now)]


def describe(process: KeyringProcess) -> str:
    return f"{process.host} pid {process.pid}"
