"""Master-key rotation: re-wrap every data key under a new master key, batch by batch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select, update

from casework.auth.models import Organisation, User
from casework.cases.models import Case
from casework.crypto.fields import DataKeyOwner, rewrap_data_key
from casework.crypto.keyring import Keyring, init_app
from casework.db import session

# Organisations own a data key too (erasure reasons, which outlive their case's key).
OWNERS: tuple[type[DataKeyOwner], ...] = (Case, User, Organisation)


class KeyStillInUse(Exception):
    """A master key cannot be retired while data keys are wrapped under it."""


@dataclass(frozen=True)
class RotationResult:
    new_key_id: str
    rewrapped: int
    cases: int
    users: int


def rotate(keyring_path: Path, batch_size: int = 500) -> RotationResult:
    """Add a master key to the keyring file, then re-wrap all data keys, committing per batch.

    Safe to re-run after an interruption: rows already under the new key are skipped.
    """
    keyring = Keyring.load(keyring_path)
    new_key_id = keyring.add_master_key()
    keyring.save(keyring_path)
    init_app(current_app, keyring)  # this process uses the new keyring at once
    counts: dict[type, int] = {}
    for model in OWNERS:
        counts[model] = _rewrap_all(model, keyring, new_key_id, batch_size)
    return RotationResult(new_key_id, sum(counts.values()), counts[Case], counts[User])


def _rewrap_all(model: type[DataKeyOwner], keyring: Keyring, new_key_id: str, batch_size: int) -> int:
    table = model.__tablename__
    done = 0
    while True:
        rows = session.execute(
            select(model.id, model.wrapped_key)  # type: ignore[attr-defined]
            .where(model.wrapped_key.is_not(None), model.wrapping_key_id != new_key_id)
            .limit(batch_size)
        ).all()
        if not rows:
            return done
        for row_id, wrapped in rows:
            new_wrapped, key_id = rewrap_data_key(keyring, wrapped, table, row_id)
            # Compare-and-set on the old value: a row erased meanwhile is left alone.
            session.execute(
                update(model)
                .where(model.id == row_id, model.wrapped_key == wrapped)  # type: ignore[attr-defined]
                .values(wrapped_key=new_wrapped, wrapping_key_id=key_id)
                .execution_options(synchronize_session=False)
            )
        session.commit()
        done += len(rows)


def usage(keyring_path: Path) -> dict[str, int]:
    keyring = Keyring.load(keyring_path)
    counts = dict.fromkeys(keyring.key_ids, 0)
    for model in OWNERS:
        for key_id, count in session.execute(
            select(model.wrapping_key_id, func.count()).group_by(model.wrapping_key_id)
        ):
            if key_id is not None:
                counts[key_id] = counts.get(key_id, 0) + count
    return counts


def retire(keyring_path: Path, key_id: str) -> None:
    """Raises KeyStillInUse while any data key is wrapped under ``key_id``."""
    in_use = usage(keyring_path).get(key_id, 0)
    if in_use:
        raise KeyStillInUse(f"{in_use} data keys are still wrapped under {key_id}: run `keys rotate` first")
    keyring = Keyring.load(keyring_path)
    keyring.retire(key_id)
    keyring.save(keyring_path)
    init_app(current_app, keyring)
