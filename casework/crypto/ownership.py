"""Is this keyring the database's own? Checked before a deployment serves.

A host started with the wrong ``CASEWORK_KEYRING`` (a copy from another deployment, a keyring
created anew after the file was lost) fails to read every case, wraps the data keys of the
cases it registers under a master key the other hosts lack (those cases unreadable there), and
signs audit events with a foreign key (the chain breaks at the first one). The load test did
exactly that once: a stale keyring left one foreign event in the chain. So before serving, the
newest audit event must verify under the keyring's audit key, and a stored data key of each
owner table must unwrap under its master keys.
"""

from __future__ import annotations

import hmac
import logging

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from casework.config import ConfigError
from casework.crypto.errors import CryptoError
from casework.crypto.fields import unwrap_data_key
from casework.crypto.keyring import Keyring, get_keyring

log = logging.getLogger(__name__)


class KeyringMismatch(ConfigError):
    """The keyring did not write this database: serving with it would lose or corrupt data."""


def mismatch(db: Session, keyring: Keyring) -> str | None:
    """What shows that ``keyring`` is not the one ``db`` was written with, or None.

    Nothing to compare against (no audit event, no data key yet) is not a mismatch. Raises
    SQLAlchemyError when the database cannot be read."""
    from casework.audit.models import AuditChainHead, AuditEvent
    from casework.audit.writer import compute_mac
    from casework.crypto.rotation import OWNERS

    newest_id = db.execute(select(AuditChainHead.last_event_id).where(AuditChainHead.id == 1)).scalar()
    newest = db.get(AuditEvent, newest_id) if newest_id else None
    if newest is not None and not hmac.compare_digest(newest.mac, compute_mac(newest, keyring.audit_key)):
        return "the newest audit event was not signed with this keyring's audit key"
    for owner in OWNERS:
        row = db.execute(select(owner.id, owner.wrapped_key).where(owner.wrapped_key.is_not(None)).limit(1)).first()
        if row is None:
            continue
        try:
            unwrap_data_key(keyring, row.wrapped_key, owner.__tablename__, row.id)
        except CryptoError:
            return f"a data key stored in {owner.__tablename__} does not unwrap with this keyring's master keys"
    return None


def check_keyring_matches_database(app: Flask) -> None:
    """Refuse to serve ``app`` with a keyring that is not its database's own.

    Raises KeyringMismatch. A database that cannot be read yet (no schema before the first
    migration, or unreachable) is let through with a warning: /health reports it."""
    from casework.db import get_db

    with app.app_context():
        db = get_db(app).sessionmaker()
        try:
            problem = mismatch(db, get_keyring())
        except SQLAlchemyError as exc:
            log.warning("keyring check skipped: the database could not be read (%s)", type(exc).__name__)
            return
        finally:
            db.rollback()
            db.close()
    if problem is not None:
        raise KeyringMismatch(
            f"CASEWORK_KEYRING is not this database's keyring: {problem}. Start with the keyring "
            "the database was written with (README, 'Deploying on PostgreSQL'); `flask audit verify` "
            "tells whether the audit chain itself was altered."
        )
