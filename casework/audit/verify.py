"""Verifying the audit chain: every MAC recomputed, every link and the chain head checked.

The walk streams the events in id order in batches (keyset pagination), so memory stays flat
however long the log is. It stops at the first broken link and says what broke there:

- ``changed``: the row's MAC does not match its content (a row altered by SQL, or a forged
  row put in the place of a deleted one);
- ``missing``: ids jump (a deleted row), reported at the first missing id;
- ``link``: the row's ``prev_mac`` is not the previous row's MAC (rows removed and renumbered);
- ``inserted``: a row after the chain head (appended by SQL, not by the writer);
- ``head``: the chain head names an event that is not the last one (the tail was cut off) or
  a MAC other than the last event's.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.audit.models import AuditChainHead, AuditEvent
from casework.audit.writer import GENESIS_MAC, compute_mac

BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of a verification: ``ok`` with ``events`` checked, or where it broke."""

    events: int
    broken_at: int | None = None
    problem: str | None = None  # changed | missing | link | inserted | head

    @property
    def ok(self) -> bool:
        return self.broken_at is None and self.problem is None

    def describe(self) -> str:
        if self.ok:
            return f"chain intact: {self.events} events"
        where = f"event id {self.broken_at}" if self.broken_at is not None else "the chain head"
        return f"chain broken at {where}: {PROBLEMS[self.problem or 'head']}"


PROBLEMS: dict[str, Any] = {
    "changed": _l("the event's content does not match its MAC (altered or forged row)"),
    "missing": _l("this event is missing (deleted row)"),
    "link": _l("the event does not link to the one before it (rows deleted or reordered)"),
    "inserted": _l("the event lies beyond the chain head (row inserted outside the writer)"),
    "head": _l("the chain head does not match the last event (events removed from the end)"),
}


def verify_chain(db: Session, key: bytes, batch_size: int = BATCH_SIZE) -> ChainReport:
    """Walk the whole chain in ``db`` under the audit ``key``; see the module docstring.

    Events appended while the walk runs are walked too: the head is read again whenever the
    walk passes it, and once more at the end.
    """
    head = _head(db)
    if head is None:
        has_events = db.execute(select(AuditEvent.id).limit(1)).first() is not None
        return ChainReport(0, None, "head") if has_events else ChainReport(0)
    head_id = head[0]
    expected_id = 1
    previous_mac = GENESIS_MAC
    while True:
        batch = list(
            db.execute(
                select(AuditEvent).where(AuditEvent.id >= expected_id).order_by(AuditEvent.id).limit(batch_size)
            ).scalars()
        )
        for event in batch:
            if event.id > head_id:
                head_id = _head_id(db)  # appended since the walk began?
            if event.id != expected_id:
                if expected_id <= head_id:
                    return ChainReport(expected_id - 1, expected_id, "missing")
                return ChainReport(expected_id - 1, event.id, "inserted")
            if event.id > head_id:
                return ChainReport(expected_id - 1, event.id, "inserted")
            if not hmac.compare_digest(event.mac, compute_mac(event, key)):
                return ChainReport(expected_id - 1, event.id, "changed")
            if not hmac.compare_digest(event.prev_mac, previous_mac):
                return ChainReport(expected_id - 1, event.id, "link")
            previous_mac = event.mac
            expected_id += 1
        db.expunge_all()  # keep memory flat on long chains
        if len(batch) < batch_size:
            break
    count = expected_id - 1
    head = _head(db)
    if head is None or head[0] != count:
        # The head names events that are gone: the end of the chain was cut off.
        return ChainReport(count, count + 1, "head")
    if not hmac.compare_digest(head[1], previous_mac):
        return ChainReport(count, count or None, "head")
    return ChainReport(count)


def _head(db: Session) -> tuple[int, str] | None:
    row = db.execute(
        select(AuditChainHead.last_event_id, AuditChainHead.last_mac).where(AuditChainHead.id == 1)
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))


def _head_id(db: Session) -> int:
    head = _head(db)
    return 0 if head is None else head[0]


def verify_current_chain(batch_size: int = BATCH_SIZE) -> ChainReport:
    """Verify the current application's chain in a session of its own (read-only)."""
    from casework.crypto import get_keyring
    from casework.db import get_db

    db = get_db().sessionmaker()
    try:
        return verify_chain(db, get_keyring().audit_key, batch_size)
    finally:
        db.rollback()
        db.close()
