"""Verifying the audit log: every event's MAC, the Merkle tree against every stored and every
anchored checkpoint, and the HMAC chain of the events written before the tree.

The walk streams the events in batches (keyset pagination), so memory stays flat however long
the log is, and reads one snapshot of the database (the anchor is read first: a checkpoint
anchored after the snapshot was committed before it). It stops at the first problem:

- ``changed``: an event's MAC does not match its content (a row altered or forged by SQL);
- ``missing``: a leaf of the tree is gone (an integrated event deleted);
- ``checkpoint``: a stored checkpoint's signature is wrong, or the tree does not have the root
  it signed (events deleted, reordered or changed after integration);
- ``anchor``: the anchor outside the database names a tree the database does not hold: larger
  (the end cut off, the log wiped, an older copy of the database put back) or with another
  root; or a line of it is not a checkpoint signed with this audit key; or it is gone while
  the database holds checkpoints;
- ``inserted``: leaves beyond the last checkpoint (placed in the tree by SQL, not by the
  sequencer), or an event after the old chain's head;
- ``duplicate``: the same event twice (a row copied by SQL);
- ``link`` / ``head``: the HMAC chain of the events written before the tree is broken.

Events appended but not integrated yet (a second or two) are checked one by one, by MAC only.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework.audit.merkle import Frontier, leaf_hash
from casework.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from casework.audit.sequencer import Checkpoint, leaf_data, read_anchor
from casework.audit.writer import GENESIS_MAC, compute_mac

BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of a verification: ``ok`` with ``events`` checked, or where it broke."""

    events: int
    broken_at: int | None = None
    problem: str | None = None  # see PROBLEMS
    detail: str = ""
    tree_size: int = 0

    @property
    def ok(self) -> bool:
        return self.broken_at is None and self.problem is None

    def describe(self) -> str:
        if self.ok:
            return f"chain intact: {self.events} events ({self.tree_size} in the tree, checkpoints consistent)"
        if self.broken_at is not None:
            where, extra = f"event id {self.broken_at}", f" ({self.detail})" if self.detail else ""
        elif self.detail.startswith("leaf "):
            where, extra = self.detail, ""
        else:
            where, extra = "the log", f" ({self.detail})" if self.detail else ""
        return f"chain broken at {where}: {PROBLEMS[self.problem or 'head']}{extra}"


PROBLEMS: dict[str, Any] = {
    "changed": _l("the event's content does not match its MAC (altered or forged row)"),
    "missing": _l("this event is missing (deleted row)"),
    "link": _l("the event does not link to the one before it (rows deleted or reordered)"),
    "inserted": _l("the event lies beyond the chain head (row inserted outside the writer)"),
    "head": _l("the chain head does not match the last event (events removed from the end)"),
    "checkpoint": _l("the tree does not match a signed checkpoint (events deleted, reordered or changed)"),
    "anchor": _l(
        "the log does not match the checkpoints anchored outside the database "
        "(end cut off, log wiped or an older copy of the database)"
    ),
    "duplicate": _l("the same event is recorded twice (copied row)"),
}


def verify_chain(db: Session, key: bytes, batch_size: int = BATCH_SIZE, anchor: Path | None = None) -> ChainReport:
    """Verify the whole log in ``db`` under the audit ``key`` against the checkpoints stored in
    it and, when given, those in the ``anchor`` file; see the module docstring. Raises OSError
    when the anchor exists but cannot be read."""
    anchored = read_anchor(anchor) if anchor is not None else []
    for line, checkpoint in anchored:
        if checkpoint is None or not checkpoint.signature_ok(key):
            return ChainReport(0, None, "anchor", f"anchor line {line} is not a checkpoint signed with this key")
    legacy = _verify_legacy_chain(db, key, batch_size)
    if legacy is not None:
        return legacy
    stored = [Checkpoint.of_row(row) for row in db.execute(select(AuditCheckpoint)).scalars()]
    db.expunge_all()
    for checkpoint in stored:
        if not checkpoint.signature_ok(key):
            return ChainReport(0, None, "checkpoint", f"size {checkpoint.tree_size}: signature")
    if stored and anchor is not None and not anchor.exists():
        return ChainReport(0, None, "anchor", "the anchor file is missing")
    wanted: dict[int, tuple[str, str]] = {}  # size -> (root, where from)
    for source, checkpoints in (("checkpoint", stored), ("anchor", [cp for _, cp in anchored if cp])):
        for checkpoint in checkpoints:
            known = wanted.get(checkpoint.tree_size)
            if known is not None and known[0] != checkpoint.root_hash:
                return ChainReport(0, None, "anchor", f"two roots for size {checkpoint.tree_size}")
            if known is None or source == "anchor":
                wanted[checkpoint.tree_size] = (checkpoint.root_hash, source)
    sizes = sorted(wanted)
    next_size = 0
    while next_size < len(sizes) and sizes[next_size] == 0:
        next_size += 1

    frontier = Frontier()
    while True:
        batch = list(
            db.execute(
                select(AuditEvent)
                .where(AuditEvent.leaf_index >= frontier.size)
                .order_by(AuditEvent.leaf_index)
                .limit(batch_size)
            ).scalars()
        )
        for event in batch:
            if event.leaf_index != frontier.size:
                return ChainReport(frontier.size, None, "missing", f"leaf {frontier.size} of the tree")
            if not hmac.compare_digest(event.mac, compute_mac(event, key)):
                return ChainReport(frontier.size, event.id, "changed")
            frontier.append(leaf_hash(leaf_data(event.id, event.mac)))
            while next_size < len(sizes) and sizes[next_size] == frontier.size:
                root, source = wanted[frontier.size]
                if not hmac.compare_digest(frontier.root().hex(), root):
                    return ChainReport(frontier.size, None, source, f"size {frontier.size}")
                next_size += 1
        db.expunge_all()  # keep memory flat on long logs
        if len(batch) < batch_size:
            break
    tree_size = frontier.size
    if next_size < len(sizes):
        size = sizes[next_size]
        problem = wanted[size][1]
        detail = f"a checkpoint names {size} events, the tree holds {tree_size}"
        return ChainReport(tree_size, None, problem, detail)
    last_stored = max((checkpoint.tree_size for checkpoint in stored), default=0)
    if tree_size > last_stored:
        return ChainReport(tree_size, None, "inserted", f"leaves {last_stored} to {tree_size - 1} have no checkpoint")

    pending = _verify_pending(db, key, batch_size)
    if isinstance(pending, ChainReport):
        return pending
    duplicate = db.execute(select(AuditEvent.mac).group_by(AuditEvent.mac).having(func.count() > 1).limit(1)).first()
    if duplicate is not None:
        return ChainReport(tree_size, None, "duplicate")
    return ChainReport(tree_size + pending, tree_size=tree_size)


def _verify_pending(db: Session, key: bytes, batch_size: int) -> ChainReport | int:
    """The events not in the tree yet: each MAC checked; their count."""
    count, after = 0, 0
    while True:
        batch = list(
            db.execute(
                select(AuditEvent)
                .where(AuditEvent.leaf_index.is_(None), AuditEvent.id > after)
                .order_by(AuditEvent.id)
                .limit(batch_size)
            ).scalars()
        )
        for event in batch:
            if not hmac.compare_digest(event.mac, compute_mac(event, key)):
                return ChainReport(count, event.id, "changed")
            count += 1
            after = event.id
        db.expunge_all()
        if len(batch) < batch_size:
            return count


def _verify_legacy_chain(db: Session, key: bytes, batch_size: int) -> ChainReport | None:
    """The events of the HMAC chain the log was before the tree (prev_mac set): ids 1, 2, ...
    each linked to the one before, up to the head frozen at the upgrade. None when intact."""
    head = db.execute(
        select(AuditChainHead.last_event_id, AuditChainHead.last_mac).where(AuditChainHead.id == 1)
    ).first()
    expected_id, previous_mac = 1, GENESIS_MAC
    while True:
        batch = list(
            db.execute(
                select(AuditEvent)
                .where(AuditEvent.prev_mac.is_not(None), AuditEvent.id >= expected_id)
                .order_by(AuditEvent.id)
                .limit(batch_size)
            ).scalars()
        )
        for event in batch:
            if head is None or event.id > head[0]:
                return ChainReport(expected_id - 1, event.id, "inserted")
            if event.id != expected_id:
                return ChainReport(expected_id - 1, expected_id, "missing")
            if not hmac.compare_digest(event.mac, compute_mac(event, key)):
                return ChainReport(expected_id - 1, event.id, "changed")
            if not hmac.compare_digest(event.prev_mac or "", previous_mac):
                return ChainReport(expected_id - 1, event.id, "link")
            previous_mac = event.mac
            expected_id += 1
        db.expunge_all()
        if len(batch) < batch_size:
            break
    count = expected_id - 1
    if head is not None and (head[0] != count or not hmac.compare_digest(head[1], previous_mac)):
        return ChainReport(count, count + 1 if head[0] > count else count or None, "head")
    return None


def anchor_ahead(db: Session, key: bytes, anchor: Path) -> str | None:
    """Why the database holds less of the log than the anchor says (the end cut off, the log
    wiped, an older copy of the database), or None. Cheap: one query and the anchor file.
    Raises OSError when the anchor exists but cannot be read."""
    anchored = [cp.tree_size for _, cp in read_anchor(anchor) if cp is not None and cp.signature_ok(key)]
    if not anchored:
        return None
    top = db.execute(select(func.max(AuditEvent.leaf_index))).scalar()
    held = 0 if top is None else int(top) + 1
    if max(anchored) > held:
        return (
            f"the audit anchor {anchor} names a log of {max(anchored)} events but the database holds "
            f"{held}: the log was cut off or wiped, or this is an older copy of the database "
            "(after a deliberate restore or a new database: keep that anchor file as evidence, "
            "move it aside and start a new one)"
        )
    return None


def verify_current_chain(batch_size: int = BATCH_SIZE) -> ChainReport:
    """Verify the current application's log and anchor on one read-only snapshot of the database."""
    from flask import current_app

    from casework.crypto import get_keyring
    from casework.db import get_db

    anchor = current_app.config["CASEWORK"].audit_anchor_path
    engine = get_db().engine
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        else:
            connection.exec_driver_sql("BEGIN")  # one WAL snapshot for every read below
        db = Session(bind=connection)
        try:
            return verify_chain(db, get_keyring().audit_key, batch_size, anchor)
        finally:
            db.close()
            connection.rollback()
