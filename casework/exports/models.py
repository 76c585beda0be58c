"""Export runs (who exported what, with which parameters, and what came out) and the limits a
supervisor sets on what researchers may export."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.db import Base, UuidPrimaryKey, utcnow


class ExportRun(UuidPrimaryKey, Base):
    __tablename__ = "export_runs"

    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # "ctdc_microdata" | "aggregate_table"
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|done|failed
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    rows_in: Mapped[int | None] = mapped_column(Integer)
    rows_out: Mapped[int | None] = mapped_column(Integer)
    cells_suppressed: Mapped[int | None] = mapped_column(Integer)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_bytes: Mapped[int | None] = mapped_column(Integer)
    downloaded_at: Mapped[datetime | None]


class ExportSettings(Base):
    """One row (id 1): the limits within which researchers choose export parameters.

    Set by a supervisor (Permission.EXPORT_CONFIGURE); ``version_id`` guards concurrent edits.
    """

    __tablename__ = "export_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    min_k: Mapped[int] = mapped_column(Integer, default=11)
    min_threshold: Mapped[int] = mapped_column(Integer, default=10)
    max_dimensions: Mapped[int] = mapped_column(Integer, default=2)
    allowed_dimensions: Mapped[list[str]] = mapped_column(JSON)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version_id}
