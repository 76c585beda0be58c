"""Assessments, versioned: each (re)assessment is a new row; earlier versions stay.

Answers are codes and scores (plain: they are what the instrument counts); the assessor's
notes and the safety plan are free text about the person: encrypted with the case's data key.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.cases.models import Case, CaseOwned
from casework.crypto import TEXT, EncryptedField
from casework.db import Base, UuidPrimaryKey, utcnow


class Assessment(UuidPrimaryKey, CaseOwned, Base):
    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("case_id", "kind", "version", name="uq_assessments_case_kind_version"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # ASSESSMENT_KINDS
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per case and kind
    assessed_on: Mapped[date] = mapped_column(Date)
    #: item code -> score 0..3 (scored instruments) or answer code (the screening interview)
    answers: Mapped[dict[str, int | str]] = mapped_column(JSON)
    total_score: Mapped[int | None] = mapped_column(Integer)
    max_score: Mapped[int | None] = mapped_column(Integer)
    risk_level: Mapped[str | None] = mapped_column(String(10))  # RISK_LEVELS
    outcome: Mapped[str | None] = mapped_column(String(30))  # SCREENING_OUTCOMES (screening)
    assessed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    notes_ct: Mapped[bytes | None] = mapped_column("notes", LargeBinary)
    notes = EncryptedField[str]("notes_ct", TEXT)
    safety_plan_ct: Mapped[bytes | None] = mapped_column("safety_plan", LargeBinary)
    safety_plan = EncryptedField[str]("safety_plan_ct", TEXT)

    case: Mapped[Case] = relationship()
