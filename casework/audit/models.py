"""The audit log: events, each with its own MAC, integrated by a sequencer into a Merkle tree
whose signed checkpoints are also anchored outside the database. Events carry ids and codes,
never victim data. See casework/audit/sequencer.py for the design."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from casework.db import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    actor_org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60), index=True)  # e.g. "case.view", "login.failure"
    outcome: Mapped[str] = mapped_column(String(20), default="ok")  # ok | refused | failed
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    # Events written before the Merkle log (the HMAC chain): the previous event's MAC, which
    # their MAC covers. NULL for every newer event, whose MAC covers a random nonce instead.
    prev_mac: Mapped[str | None] = mapped_column(String(64))
    nonce: Mapped[str | None] = mapped_column(String(32))
    mac: Mapped[str] = mapped_column(String(64), unique=True)
    # The event's place in the Merkle tree, set by the sequencer (NULL: not integrated yet).
    leaf_index: Mapped[int | None] = mapped_column(BigInteger, unique=True)


class AuditCheckpoint(Base):
    """A signed statement of the tree: its size and root hash, when, under the checkpoint key
    derived from the audit key. The same line is appended to the anchor outside the database."""

    __tablename__ = "audit_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime]
    signature: Mapped[str] = mapped_column(String(64))
    # The right edge of the tree at this size (JSON), so the sequencer extends it without
    # reading the leaves again. Not trusted by verification, which recomputes everything.
    frontier: Mapped[str] = mapped_column(Text)


class AuditSequencerLease(Base):
    """One row: which process integrates events now. A process takes it over when it expires;
    every integration checks the holder and epoch under the row's lock (fencing)."""

    __tablename__ = "audit_sequencer_lease"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holder: Mapped[str] = mapped_column(String(160))
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime]


class AuditChainHead(Base):
    """The head of the HMAC chain the log was before the Merkle tree, frozen at the upgrade:
    events written then keep their chain MACs, and verification checks that chain up to here."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_mac: Mapped[str] = mapped_column(String(64))
