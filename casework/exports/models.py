"""Export runs (who released what from which organisation's dataset, with which parameters,
what it cost and what came out) and each organisation's release policy.

A *dataset* is the consented cases one organisation owns. Its policy is set by that
organisation's supervisors (Permission.EXPORT_CONFIGURE) and can never go below the system's
floors (:mod:`casework.exports.policy`); the database refuses a row below them too.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.db import Base, UuidPrimaryKey, utcnow

#: The system's floors (see casework.exports.policy); repeated here for the CHECK constraints.
FLOOR_K = 11
FLOOR_THRESHOLD = 10


class ExportRun(UuidPrimaryKey, Base):
    __tablename__ = "export_runs"

    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The dataset released (None: runs from before datasets were per organisation).
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # services.KINDS
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|done|failed
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    rows_in: Mapped[int | None] = mapped_column(Integer)
    rows_out: Mapped[int | None] = mapped_column(Integer)
    cells_suppressed: Mapped[int | None] = mapped_column(Integer)
    # Privacy budget this release spent (differentially private releases only).
    epsilon: Mapped[float | None] = mapped_column(Float)
    delta: Mapped[float | None] = mapped_column(Float)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_bytes: Mapped[int | None] = mapped_column(Integer)
    downloaded_at: Mapped[datetime | None]


class ExportPolicy(Base):
    """One organisation's release policy and privacy budget ledger.

    ``epsilon_spent``/``delta_spent`` only ever grow, by one conditional UPDATE per release
    (policy.spend), so concurrent releases cannot pass the budget; each release's share is on
    its ExportRun. ``version_id`` guards concurrent edits of the policy itself.
    """

    __tablename__ = "export_policies"
    __table_args__ = (
        CheckConstraint(f"min_k >= {FLOOR_K}", name="min_k_floor"),
        CheckConstraint(f"min_threshold >= {FLOOR_THRESHOLD}", name="min_threshold_floor"),
        CheckConstraint("protection_width >= 1", name="protection_width_positive"),
        CheckConstraint("noise_scale >= 1", name="noise_scale_floor"),
        CheckConstraint("epsilon_spent >= 0 AND delta_spent >= 0", name="spent_non_negative"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    min_k: Mapped[int] = mapped_column(Integer, default=FLOOR_K)
    min_threshold: Mapped[int] = mapped_column(Integer, default=FLOOR_THRESHOLD)
    max_dimensions: Mapped[int] = mapped_column(Integer, default=2)
    allowed_dimensions: Mapped[list[str]] = mapped_column(JSON)
    # Tables: every hidden count must keep an interval at least this wide.
    protection_width: Mapped[int] = mapped_column(Integer, default=3)
    # Tables: scale of the cell-key perturbation (two-sided geometric noise) and rounding base.
    noise_scale: Mapped[float] = mapped_column(Float, default=2.0)
    rounding_base: Mapped[int] = mapped_column(Integer, default=1)
    epsilon_budget: Mapped[float] = mapped_column(Float, default=0.0)
    delta_budget: Mapped[float] = mapped_column(Float, default=1e-5)
    epsilon_spent: Mapped[float] = mapped_column(Float, default=0.0)
    delta_spent: Mapped[float] = mapped_column(Float, default=0.0)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version_id}
