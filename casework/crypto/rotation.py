"""Master-key rotation on a running deployment of several hosts, in four steps that each refuse
when going on could lose data (README, "Rotating master keys on a running deployment"):

1. :func:`add_key`: a new master key, *pending* (it decrypts, never encrypts), in this host's
   keyring file and the database. The operator copies the file to every host; each process
   re-reads it within its poll interval and reports holding it (casework.crypto.watch).
2. :func:`activate`: the key becomes the deployment's active key, for every host at once
   (one row, changed under an exclusive lock that every wrapping transaction shares). Refused
   while any live process of any host has not reported holding it.
3. :func:`rewrap`: every data key of every owner table re-wrapped under the active key, in
   small transactions while the app serves.
4. :func:`retire`: the old key leaves the deployment and this host's file. Refused while any
   data key is wrapped under it, while a live process has not seen the switch, or while the
   backup policy may still need it (unless it is archived with those backups, or the operator
   accepts those backups becoming unrestorable).

These run from the command line (casework.crypto.cli), one step per transaction or batch, and
commit themselves. Their refusals are :class:`RotationRefused`, whose message says why and what
to do next; no message ever holds key material.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from casework.crypto.errors import DecryptionError, KeyUnavailableError
from casework.crypto.fields import DataKeyOwner, rewrap_data_key
from casework.crypto.keyring import Keyring
from casework.crypto.models import (
    ACTIVE,
    PENDING,
    RETIRED,
    RETIRING,
    KeyringProcess,
    KeyringState,
    MasterKeyRecord,
)
from casework.crypto.owners import data_key_owners, wrapped_under
from casework.crypto.state import State, describe, ensure_state, live_processes, lock_state, wrapping_key_id
from casework.crypto.watch import wait_for
from casework.db import utcnow


class RotationRefused(Exception):
    """A step of the protocol would risk data; nothing was changed."""


# -- 1. add --------------------------------------------------------------------------------------
def add_key(db: Session, keyring_path: Path) -> str:
    """Add a pending master key to this host's keyring file and to the database. Returns its id."""
    keyring = Keyring.load(keyring_path)
    ensure_state(db, keyring)
    key_id = keyring.add_master_key()
    while db.get(MasterKeyRecord, key_id) is not None:  # an id another host's file once had
        keyring.remove(key_id)
        key_id = keyring.add_master_key()
    db.add(MasterKeyRecord(key_id=key_id, state=PENDING, created_at=utcnow()))
    db.flush()
    keyring.save(keyring_path)  # before the commit: a registered key is always in a file
    db.commit()
    return key_id


# -- 2. activate ---------------------------------------------------------------------------------
def processes_lacking(db: Session, key_id: str) -> list[KeyringProcess]:
    """Live processes whose last report does not list ``key_id`` among the keys they hold."""
    return [p for p in live_processes(db) if key_id not in p.held]


def activate(db: Session, keyring_path: Path, key_id: str, wait_seconds: float = 0.0) -> tuple[str, str]:
    """Make ``key_id`` the key that wraps every new data key, on every host at once.

    Waits up to ``wait_seconds`` for every live process to report holding it. Returns (previous
    active key, new active key). Raises RotationRefused.
    """
    keyring = Keyring.load(keyring_path)
    state = ensure_state(db, keyring)
    db.commit()
    if state.active_key_id == key_id:
        return key_id, key_id
    record = db.get(MasterKeyRecord, key_id)
    if record is None:
        raise RotationRefused(f"{key_id} is not a master key of this deployment: create one with `keys add`")
    if record.state == RETIRED:
        raise RotationRefused(f"{key_id} is retired: it can never wrap again; add a new key with `keys add`")
    if not keyring.holds(key_id):
        raise RotationRefused(f"this host's keyring file {keyring_path} lacks {key_id}: copy the file that has it")
    wait_for(lambda: not processes_lacking(db, key_id), wait_seconds, interval=0.2)
    lacking = processes_lacking(db, key_id)
    if lacking:
        raise RotationRefused(_lacking_message(key_id, lacking))
    state = lock_state(db, keyring)  # every transaction that wrapped under the old key has ended
    lacking = processes_lacking(db, key_id)  # a report written while we waited for the lock
    if lacking:
        db.rollback()
        raise RotationRefused(_lacking_message(key_id, lacking))
    now = utcnow()  # taken under the lock: every data key wrapped after it is under key_id
    previous = state.active_key_id
    db.execute(
        update(MasterKeyRecord)
        .where(MasterKeyRecord.key_id == previous)
        .values(state=RETIRING, deactivated_at=now, drained_at=None)
    )
    db.execute(
        update(MasterKeyRecord)
        .where(MasterKeyRecord.key_id == key_id)
        .values(state=ACTIVE, activated_at=now, deactivated_at=None, drained_at=None)
    )
    db.execute(
        update(KeyringState)
        .where(KeyringState.id == 1, KeyringState.active_key_id == previous)
        .values(active_key_id=key_id, generation=state.generation + 1, changed_at=now)
    )
    db.commit()
    return previous, key_id


def _lacking_message(key_id: str, lacking: list[KeyringProcess]) -> str:
    listed = "; ".join(f"{describe(p)} holds {', '.join(p.held) or 'nothing'}" for p in lacking)
    return (
        f"not activated: {len(lacking)} live app process(es) have not reported holding {key_id} ({listed}). "
        "Copy this host's keyring file to those hosts (each process re-reads it within its poll "
        "interval; `keys status` shows what each holds), then run `keys activate` again."
    )


# -- 3. rewrap -----------------------------------------------------------------------------------
@dataclass
class RewrapResult:
    active_key_id: str = ""
    rewrapped: dict[str, int] = field(default_factory=dict)
    failed: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> {key id: count}

    @property
    def total(self) -> int:
        return sum(self.rewrapped.values())


def rewrap(
    db: Session,
    keyring_path: Path,
    batch_size: int = 200,
    pause_seconds: float = 0.0,
    progress: Callable[[str, int], None] | None = None,
) -> RewrapResult:
    """Re-wrap every data key not under the active key, ``batch_size`` rows per transaction
    (each holds the state's share lock: an activation meanwhile is seen by the next batch).
    Safe while the app serves and safe to re-run. Rows whose data key cannot be unwrapped here
    are left as they are and counted in ``failed``."""
    keyring = Keyring.load(keyring_path)
    result = RewrapResult()
    for owner in data_key_owners():
        table = owner.__tablename__
        result.rewrapped[table] = 0
        last_id: Any = None
        while True:
            for attempt in range(REWRAP_ATTEMPTS):
                try:
                    batch = _rewrap_batch(db, keyring, owner, last_id, batch_size)
                    break
                except OperationalError:
                    # A deadlock with a request, or an activation's lock: this batch is undone.
                    db.rollback()
                    if attempt == REWRAP_ATTEMPTS - 1:
                        raise
                    time.sleep(0.2 * (attempt + 1))
            if batch is None:
                break
            last_id, active, rewrapped, failed = batch
            result.active_key_id = active
            result.rewrapped[table] += rewrapped
            for key_id, count in failed.items():
                bucket = result.failed.setdefault(table, {})
                bucket[key_id] = bucket.get(key_id, 0) + count
            if progress is not None:
                progress(table, result.rewrapped[table])
            if pause_seconds:
                time.sleep(pause_seconds)
    if not result.active_key_id:
        result.active_key_id = wrapping_key_id(db, keyring)
    note_drained(db)
    db.commit()
    return result


REWRAP_ATTEMPTS = 5


def _rewrap_batch(
    db: Session, keyring: Keyring, owner: type[DataKeyOwner], last_id: Any, batch_size: int
) -> tuple[Any, str, int, dict[str, int]] | None:
    """Re-wrap the next ``batch_size`` data keys of ``owner`` after ``last_id`` in one committed
    transaction: (last id, active key, re-wrapped, failures by key id), or None when done."""
    table = owner.__tablename__
    active = wrapping_key_id(db, keyring)  # shared lock on the state until the commit
    query = (
        select(owner.id, owner.wrapped_key)
        .where(
            owner.wrapped_key.is_not(None),
            or_(owner.wrapping_key_id.is_(None), owner.wrapping_key_id != active),
        )
        .order_by(owner.id)
        .limit(batch_size)
    )
    if last_id is not None:
        query = query.where(owner.id > last_id)
    rows = db.execute(query).all()
    if not rows:
        db.commit()
        return None
    changes, failed = [], {}
    for row_id, wrapped in rows:
        try:
            new_wrapped = rewrap_data_key(keyring, wrapped, table, row_id, active)
        except (KeyUnavailableError, DecryptionError):
            key_id = _header_key_id(wrapped)
            failed[key_id] = failed.get(key_id, 0) + 1
            continue
        changes.append({"row_id": row_id, "old": wrapped, "new": new_wrapped, "key_id": active})
    rewrapped = 0
    if changes:
        # Compare-and-set on the old value: a row erased or re-wrapped meanwhile stays so.
        columns = owner.__table__.c  # type: ignore[attr-defined]
        swap = (
            update(owner.__table__)  # type: ignore[attr-defined]
            .where(columns.id == bindparam("row_id"), columns.wrapped_key == bindparam("old"))
            .values(wrapped_key=bindparam("new"), wrapping_key_id=bindparam("key_id"))
        )
        rewrapped = db.connection().execute(swap, changes).rowcount
    db.commit()
    return rows[-1][0], active, rewrapped, failed


def _header_key_id(wrapped: bytes) -> str:
    from casework.crypto.aead import parse_header

    try:
        return parse_header(wrapped)[0].decode(errors="replace")
    except DecryptionError:
        return "(malformed)"


def note_drained(db: Session) -> None:
    """Record when each non-active key was first seen wrapping no data key (drained_at), and
    forget it again if data keys under it came back (a restore)."""
    now = utcnow()
    for record in db.execute(select(MasterKeyRecord).where(MasterKeyRecord.state == RETIRING)).scalars():
        in_use = bool(wrapped_under(db, record.key_id))
        if not in_use and record.drained_at is None:
            record.drained_at = now
        elif in_use and record.drained_at is not None:
            record.drained_at = None
    db.flush()


# -- 4. retire -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Retired:
    key_id: str
    already: bool
    removed_from_file: bool
    archive: Path | None = None
    keep_archive_until: datetime | None = None


def retire(
    db: Session,
    keyring_path: Path,
    key_id: str,
    *,
    backup_retention_days: int | None,
    archive: Path | None = None,
    backups_unrestorable: bool = False,
    wait_seconds: float = 0.0,
) -> Retired:
    """Retire ``key_id`` for the whole deployment and remove it from this host's keyring file
    (run again on another host, or copy the file, to remove it there). Raises RotationRefused.

    Backups made before the key was drained hold data keys wrapped under it: with
    ``backup_retention_days`` unset, or before ``drained_at`` + that many days, the key is
    retired only with ``archive`` (this keyring, with the key, written there to be kept with
    those backups) or ``backups_unrestorable`` (the operator accepts losing them). Waits up
    to ``wait_seconds`` for live processes to report the switch away from the key.
    """
    keyring = Keyring.load(keyring_path)
    state = ensure_state(db, keyring)
    db.commit()
    record = db.get(MasterKeyRecord, key_id)
    if record is not None and record.state == RETIRED:
        return Retired(key_id, already=True, removed_from_file=_remove_from_file(keyring, keyring_path, key_id))
    if record is None and not keyring.holds(key_id):
        raise RotationRefused(f"{key_id} is neither a master key of this deployment nor in {keyring_path}")
    if record is not None and record.state == ACTIVE:
        raise RotationRefused(
            f"{key_id} is the active key: `keys add`, copy the file to every host, `keys activate` the "
            "new key and `keys rewrap` first"
        )
    _refuse_if_wrapping(db, key_id)
    keep_until: datetime | None = None
    drained_at: datetime | None = None
    if record is not None and record.state == RETIRING:
        _refuse_if_processes_behind(db, state, wait_seconds)
        if record.drained_at is None:
            note_drained(db)
            db.commit()
        drained_at = record.drained_at
        assert drained_at is not None  # noqa: S101 - nothing is wrapped under it (checked above)
        needed, keep_until = _backups_need(drained_at, backup_retention_days)
        if needed and archive is None and not backups_unrestorable:
            raise RotationRefused(_backup_message(key_id, drained_at, backup_retention_days, keep_until))
    if archive is not None:
        _write_archive(keyring, archive, key_id, drained_at, keep_until)
    if record is not None:
        lock_state(db, keyring)
        _refuse_if_wrapping(db, key_id, rollback=True)  # under the lock: nothing can change it now
        record.state = RETIRED
        record.retired_at = utcnow()
        db.commit()
    removed = _remove_from_file(keyring, keyring_path, key_id)
    return Retired(key_id, False, removed, archive, keep_until)


def _refuse_if_wrapping(db: Session, key_id: str, rollback: bool = False) -> None:
    in_use = wrapped_under(db, key_id)
    if in_use:
        if rollback:
            db.rollback()
        counts = ", ".join(f"{table}: {count}" for table, count in in_use.items())
        raise RotationRefused(
            f"{sum(in_use.values())} data keys are still wrapped under {key_id} ({counts}): run `keys rewrap`"
        )


def processes_behind(db: Session, state: State) -> list[KeyringProcess]:
    """Live processes that have not reported seeing ``state`` (its generation) yet."""
    return [p for p in live_processes(db) if p.generation != state.generation]


def _refuse_if_processes_behind(db: Session, state: State, wait_seconds: float) -> None:
    wait_for(lambda: not processes_behind(db, state), wait_seconds, interval=0.2)
    behind = processes_behind(db, state)
    if behind:
        listed = "; ".join(f"{describe(p)} last saw {p.active_key_id or 'no state'}" for p in behind)
        raise RotationRefused(
            f"{len(behind)} live app process(es) have not reported the switch to {state.active_key_id} yet "
            f"({listed}): wait for their next report (`keys status`), or stop them"
        )


def _backups_need(drained_at: datetime, retention_days: int | None) -> tuple[bool, datetime | None]:
    """Whether kept backups may still hold data keys wrapped under a key drained at
    ``drained_at``, and until when (None: as long as anyone keeps them, no retention stated)."""
    if retention_days is None:
        return True, None
    until = drained_at + timedelta(days=retention_days)
    return utcnow() < until, until


def _backup_message(key_id: str, drained_at: datetime, retention_days: int | None, until: datetime | None) -> str:
    made_before = f"backups made before {drained_at:%Y-%m-%d %H:%M} UTC hold data keys wrapped under {key_id}"
    if retention_days is None or until is None:
        policy = "CASEWORK_BACKUP_RETENTION_DAYS is not set, so they may still be kept"
    else:
        policy = f"CASEWORK_BACKUP_RETENTION_DAYS={retention_days} keeps them until {until:%Y-%m-%d %H:%M} UTC"
    return (
        f"not retired: {made_before}, and {policy}. Either keep the key with those backups: "
        f"`keys retire {key_id} --archive FILE` writes this keyring, with {key_id}, to FILE (keep it "
        "where you keep keyring backups, never inside the database backups, and destroy it when "
        "the last of those backups is gone); or accept that they can no longer be restored: "
        f"`keys retire {key_id} --backups-unrestorable`; or retire it after that date."
    )


def _write_archive(
    keyring: Keyring, archive: Path, key_id: str, drained_at: datetime | None, keep_until: datetime | None
) -> None:
    if archive.exists():
        raise RotationRefused(f"{archive} exists; refusing to overwrite it")
    note = {
        "archive": {
            "retired_key_id": key_id,
            "for_backups_made_before": drained_at.isoformat() if drained_at else None,
            "keep_until": keep_until.isoformat() if keep_until else None,
            "written_at": utcnow().isoformat(timespec="seconds"),
        }
    }
    keyring.save(archive, extra=note)


def _remove_from_file(keyring: Keyring, keyring_path: Path, key_id: str) -> bool:
    if not keyring.holds(key_id):
        return False
    keyring.remove(key_id)
    keyring.save(keyring_path)
    return True


# -- rotate: the four steps on one host ------------------------------------------------------------
def rotate(
    db: Session, keyring_path: Path, wait_seconds: float, batch_size: int = 200
) -> tuple[str, str, RewrapResult]:
    """Add, activate and re-wrap in one go: for a single host, whose own workers re-read the
    file by themselves. Activation is refused (the new key stays pending) if any live process,
    on any host, has not reported holding the new key within ``wait_seconds``. Returns (old
    active key, new active key, re-wrap result)."""
    key_id = add_key(db, keyring_path)
    try:
        previous, _ = activate(db, keyring_path, key_id, wait_seconds)
    except RotationRefused as refused:
        raise RotationRefused(
            f"{refused} The new key {key_id} stays pending: after copying the file, run "
            f"`keys activate {key_id}`, then `keys rewrap`."
        ) from None
    return previous, key_id, rewrap(db, keyring_path, batch_size)
