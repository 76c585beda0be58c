"""``keys status``: where the rotation protocol stands, and what would make a step refuse.

Master keys and their states, how many data keys each wraps per owner table, which keys this
host's file holds, and every app process's last report (casework.crypto.watch); ids, hosts and
times only, never key material.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.crypto.keyring import Keyring
from casework.crypto.models import RETIRED, KeyringProcess, MasterKeyRecord
from casework.crypto.owners import wrapped_counts
from casework.crypto.state import State, all_processes, describe, ensure_state, is_live
from casework.db import utcnow


@dataclass
class Status:
    state: State
    keys: list[MasterKeyRecord]
    in_this_file: list[str]
    wrapped: dict[str, dict[str | None, int]]
    processes: list[tuple[KeyringProcess, bool]]  # (report, live)
    problems: list[str]


def status(db: Session, keyring_path: Path) -> Status:
    """Keys, data keys under each, this host's file and every process's last report, with the
    problems that would make an activation or a retirement refuse, or a host answer 503."""
    keyring = Keyring.load(keyring_path)
    state = ensure_state(db, keyring)
    db.commit()
    keys = list(db.execute(select(MasterKeyRecord).order_by(MasterKeyRecord.created_at)).scalars())
    known = {record.key_id: record for record in keys}
    wrapped = wrapped_counts(db)
    now = utcnow()
    processes = [(p, is_live(p, now)) for p in all_processes(db)]
    problems = []
    for table, by_key in wrapped.items():
        for key_id, count in by_key.items():
            if key_id is None or not keyring.holds(key_id):
                problems.append(f"{count} data keys in {table} are wrapped under {key_id}, which this keyring lacks")
            elif key_id in known and known[key_id].state == RETIRED:
                problems.append(f"{count} data keys in {table} are wrapped under the retired key {key_id}")
    if not keyring.holds(state.active_key_id):
        problems.append(f"this host's keyring file lacks the active key {state.active_key_id}")
    for process, live in processes:
        if not live:
            continue
        if state.active_key_id not in process.held:
            problems.append(f"{describe(process)} lacks the active key {state.active_key_id}: it answers 503")
        for key_id in process.held:
            if key_id in known and known[key_id].state == RETIRED:
                problems.append(f"{describe(process)} still holds the retired key {key_id}: copy the keyring file")
        if process.problem:
            problems.append(f"{describe(process)}: {process.problem}")
    for key_id in keyring.key_ids:
        if key_id in known and known[key_id].state == RETIRED:
            problems.append(
                f"this host's keyring file still holds the retired key {key_id}: run `keys retire {key_id}`"
            )
    return Status(state, keys, keyring.key_ids, wrapped, processes, problems)
