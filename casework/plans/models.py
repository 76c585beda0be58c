"""The case plan (HTCDS support plan): goals by domain, and the approvals a supervisor gives
(a review of the plan, the closure of the case).

Goals' free text and every note of an approval are the person's situation: encrypted with the
case's data key. Domains, statuses, dates and counts are plain (reports, reminders).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.cases.models import Case, CaseOwned
from casework.crypto import TEXT, EncryptedField
from casework.db import Base, UuidPrimaryKey, utcnow


class PlanGoal(UuidPrimaryKey, CaseOwned, Base):
    """One goal of the case plan, in one domain (vocab.PLAN_DOMAINS)."""

    __tablename__ = "plan_goals"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(30))  # PLAN_DOMAINS
    status: Mapped[str] = mapped_column(String(20), default="open")  # PLAN_GOAL_STATUSES
    target_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)

    description_ct: Mapped[bytes | None] = mapped_column("description", LargeBinary)
    description = EncryptedField[str]("description_ct", TEXT)

    case: Mapped[Case] = relationship()

    __mapper_args__ = {"version_id_col": version_id}


class CaseApproval(UuidPrimaryKey, CaseOwned, Base):
    """A request for a supervisor's approval: a review of the plan, or the closure of the case.

    Its author (``requested_by_id``) can never decide it. A closure request keeps the checklist
    as it stood when asked (counts of open items); an approved closure is used once, by the
    closing of the case (``used_at``).
    """

    __tablename__ = "case_approvals"
    __table_args__ = (Index("ix_case_approvals_case_id_kind", "case_id", "kind", "status"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # APPROVAL_KINDS
    status: Mapped[str] = mapped_column(String(20), default="pending")  # APPROVAL_STATUSES
    reviewed_on: Mapped[date | None] = mapped_column(Date)  # a plan review: when the plan was reviewed
    next_review_on: Mapped[date | None] = mapped_column(Date)
    checklist: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # a closure: open items when asked
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]

    summary_ct: Mapped[bytes | None] = mapped_column("summary", LargeBinary)
    summary = EncryptedField[str]("summary_ct", TEXT)
    decision_note_ct: Mapped[bytes | None] = mapped_column("decision_note", LargeBinary)
    decision_note = EncryptedField[str]("decision_note_ct", TEXT)

    case: Mapped[Case] = relationship()


class PlanAction(Base):
    """An action of a goal: a task (casework.tasks) linked to the goal it serves. The task holds
    the owner, the due date, the status and the words; this row only says which goal."""

    __tablename__ = "plan_actions"

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    goal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan_goals.id", ondelete="CASCADE"), index=True)
