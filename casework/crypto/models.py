"""The deployment's master-key state, in the database every host shares (never key material).

- ``master_keys``: one row per master key id and its place in the rotation protocol:
  ``pending`` (distributed, decrypts, never encrypts), ``active`` (the one key that wraps new
  data keys, deployment-wide), ``retiring`` (was active; decrypts until every data key is
  re-wrapped), ``retired`` (no data key needs it; removed from the keyring files).
- ``keyring_state``: one row naming the active key. Every transaction that wraps a data key
  reads it under a share lock (casework.crypto.state), and ``keys activate`` changes it under
  an exclusive one, so the switch is atomic across hosts: no wrap under the old key commits
  after the switch, and none under the new key before it.
- ``keyring_processes``: what each running app process last reported holding (host, pid, key
  ids in its keyring, the active key it saw), so that ``keys activate`` and ``keys retire``
  can refuse while a live process lacks the new key or has not seen the switch.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casework.db import Base

PENDING, ACTIVE, RETIRING, RETIRED = "pending", "active", "retiring", "retired"
KEY_STATES = (PENDING, ACTIVE, RETIRING, RETIRED)
KEY_ID_LENGTH = 40


class MasterKeyRecord(Base):
    __tablename__ = "master_keys"
    __table_args__ = (CheckConstraint("state IN ('pending', 'active', 'retiring', 'retired')", name="state"),)

    key_id: Mapped[str] = mapped_column(String(KEY_ID_LENGTH), primary_key=True)
    state: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
    activated_at: Mapped[datetime | None]
    deactivated_at: Mapped[datetime | None]
    # When a re-wrap first found no data key left under it after it stopped being active: a
    # backup made before then may hold data keys wrapped under it (the backup-retention rule).
    drained_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]


class KeyringState(Base):
    __tablename__ = "keyring_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    active_key_id: Mapped[str] = mapped_column(ForeignKey("master_keys.key_id"))
    # Incremented by every activation: a process that sees a new generation re-reads its file.
    generation: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime]


class KeyringProcess(Base):
    __tablename__ = "keyring_processes"

    instance_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    key_ids: Mapped[str] = mapped_column(Text)  # space-separated, oldest first
    active_key_id: Mapped[str | None] = mapped_column(String(KEY_ID_LENGTH))  # as this process last read it
    generation: Mapped[int | None] = mapped_column(Integer)
    poll_seconds: Mapped[float] = mapped_column(Float)
    problem: Mapped[str | None] = mapped_column(String(300))
    started_at: Mapped[datetime]
    last_seen: Mapped[datetime] = mapped_column(index=True)

    @property
    def held(self) -> list[str]:
        return self.key_ids.split()
