"""Is this keyring the database's own? Checked before a deployment serves.

A host started with the wrong ``CASEWORK_KEYRING`` (a copy from another deployment, a keyring
created anew after the file was lost) fails to read every case, wraps the data keys of the
cases it registers under a master key the other hosts lack (those cases unreadable there), and
signs audit events with a foreign key (the chain breaks at the first one). The load test did
exactly that once: a stale keyring left one foreign event in the chain. A copy that is merely
outdated (a host the new master key was not copied to) answers 503 on every case re-wrapped
under a key it lacks. So before serving, the newest audit event must verify under the
keyring's audit key, the keyring must hold the deployment's active key and every key id that
wraps a stored data key, and one data key per table and key id must unwrap.
"""

from __future__ import annotations

import hmac
import logging

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from casework.config import ConfigError
from casework.crypto.errors import CryptoError, KeyringError
from casework.crypto.fields import unwrap_data_key
from casework.crypto.keyring import Keyring, get_keyring

log = logging.getLogger(__name__)


class KeyringMismatch(ConfigError):
    """The keyring did not write this database: serving with it would lose or corrupt data."""


def mismatch(db: Session, keyring: Keyring) -> str | None:
    """What shows that ``keyring`` cannot serve ``db``, or None (see :func:`keyring_problems`)."""
    problems = keyring_problems(db, keyring)
    return "; ".join(problems) if problems else None


def keyring_problems(db: Session, keyring: Keyring) -> list[str]:
    """Why ``keyring`` cannot serve ``db``: it did not write it (the newest audit event does not
    verify under its audit key, or a data key does not unwrap under the master key of its id),
    or it is an outdated copy (it lacks the deployment's active key, or a key that wraps some
    data key, in any owner table). Every owner table's key ids are counted, and one data key per
    (table, key id) is unwrapped.

    Nothing to compare against (no audit event, no data key, no state yet) is no problem.
    Raises SQLAlchemyError when the database cannot be read."""
    from casework.audit.models import AuditEvent
    from casework.audit.writer import compute_mac
    from casework.crypto.owners import data_key_owners
    from casework.crypto.state import read_state

    problems = []
    newest = db.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one_or_none()
    if newest is not None and not hmac.compare_digest(newest.mac, compute_mac(newest, keyring.audit_key)):
        problems.append("the newest audit event was not signed with this keyring's audit key")
    state = read_state(db)
    if state is not None and not keyring.holds(state.active_key_id):
        problems.append(f"this keyring lacks the deployment's active master key {state.active_key_id}")
    for owner in data_key_owners():
        table = owner.__tablename__
        by_key = db.execute(
            select(owner.wrapping_key_id, func.count())
            .where(owner.wrapped_key.is_not(None))
            .group_by(owner.wrapping_key_id)
            .order_by(owner.wrapping_key_id)
        ).all()
        for key_id, count in by_key:
            if key_id is None or not keyring.holds(key_id):
                problems.append(
                    f"{count} data keys stored in {table} are wrapped under master key {key_id}, "
                    "which this keyring lacks"
                )
                continue
            row = db.execute(
                select(owner.id, owner.wrapped_key).where(owner.wrapping_key_id == key_id).limit(1)
            ).first()
            if row is None:  # erased since the count
                continue
            try:
                unwrap_data_key(keyring, row.wrapped_key, table, row.id)
            except CryptoError:
                problems.append(f"a data key stored in {table} does not unwrap with this keyring's master key {key_id}")
    return problems


def check_keyring_matches_database(app: Flask) -> None:
    """Refuse to serve ``app`` with a keyring that is not its database's own, or an outdated
    copy of it; on the deployment's first start, record which master key is active.

    Raises KeyringMismatch. A database that cannot be read yet (no schema before the first
    migration, or unreachable) is let through with a warning: /health reports it."""
    from casework.crypto.state import ensure_state
    from casework.db import get_db

    with app.app_context():
        keyring = get_keyring()
        try:
            keyring.reload()  # the file as it is now, not as this process first read it
        except KeyringError as exc:
            raise KeyringMismatch(f"CASEWORK_KEYRING cannot be re-read: {exc}") from None
        db = get_db(app).sessionmaker()
        try:
            problem = mismatch(db, keyring)
            if problem is None:
                ensure_state(db, keyring)
                db.commit()
        except SQLAlchemyError as exc:
            log.warning("keyring check skipped: the database could not be read (%s)", type(exc).__name__)
            return
        finally:
            db.rollback()
            db.close()
    if problem is not None:
        raise KeyringMismatch(
            f"CASEWORK_KEYRING is not this database's keyring, or an outdated copy of it: {problem}. "
            "Start with the keyring the database was written with, as every other host has it "
            "(README, 'Rotating master keys on a running deployment'); `flask audit verify` tells "
            "whether the audit chain itself was altered."
        )
