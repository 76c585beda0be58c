"""A notice to one organisation's supervisors."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.db import Base, UuidPrimaryKey, utcnow


class Notification(UuidPrimaryKey, Base):
    """Something the organisation's supervisors must know about. It holds ids and a kind code
    only (no free text): a page shows the names and the case reference when it lists it."""

    __tablename__ = "notifications"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(40))  # notifications.services.KINDS
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    subject_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    break_glass_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("break_glass_access.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A reminder to one person (casework.notifications.reminders) rather than to the
    # organisation's supervisors; its counts (never names) travel in ``counts``.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class JobRun(Base):
    """One run of a scheduled job for one day. The primary key is the claim: the first instance
    (worker, host) to insert ``(job, day)`` runs the job; every other one finds the row and skips,
    so a daily job runs once per deployment, whatever the number of workers and hosts."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    node: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(20), default="running")  # running | done | failed
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# An organisation's notices, newest first (the list page and a later reminder job read this).
Index("ix_notifications_org_created", Notification.organisation_id, Notification.created_at)
# One person's reminders, newest first.
Index("ix_notifications_user_created", Notification.user_id, Notification.created_at)
