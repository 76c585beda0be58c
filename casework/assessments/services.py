"""Recording assessments: each (re)assessment is a new version, earlier ones stay.

The functions take the request's :class:`access.CaseGrant`, change, audit and flush, never
commit. Raises :class:`casework.cases.validation.InputErrors` on bad input.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from casework import access
from casework.access import Permission
from casework.assessments.instruments import INSTRUMENTS, risk_level, score
from casework.assessments.models import Assessment
from casework.audit import writer
from casework.cases.validation import ErrorCollector, InputErrors, check_past_date
from casework.db import session

MAX_TEXT = 8000


@dataclass(frozen=True)
class AssessmentInput:
    kind: str
    assessed_on: date | None
    answers: dict[str, str] = field(default_factory=dict)  # item code -> answer code
    outcome: str | None = None
    notes: str | None = None
    safety_plan: str | None = None


def record_assessment(grant: access.CaseGrant, data: AssessmentInput, today: date | None = None) -> Assessment:
    """Record a new version of an assessment of the case. Raises InputErrors; 403 without
    CASE_EDIT on the case."""
    grant.require(Permission.CASE_EDIT)
    case = grant.case
    instrument = INSTRUMENTS.get(data.kind)
    if instrument is None:
        raise InputErrors({"kind": [str(_l("Choose one of the listed options."))]})
    errors = ErrorCollector()
    if case.is_erased:
        errors.add("", _l("The identifying data of this case was erased: it can no longer be edited."))
    if data.assessed_on is None:
        errors.add("assessed_on", _l("Enter a date."))
    elif message := check_past_date(data.assessed_on, today or date.today()):
        errors.add("assessed_on", message)
    for item in instrument.items:
        answer = data.answers.get(item.code)
        if not answer:
            errors.add(f"item_{item.code}", _l("Answer this question."))
        else:
            errors.check_code(f"item_{item.code}", answer, instrument.answers)
    if data.kind == "screening":
        if not data.outcome:
            errors.add("outcome", _l("Choose one of the listed options."))
        else:
            from casework import vocab

            errors.check_code("outcome", data.outcome, vocab.SCREENING_OUTCOMES)
    errors.check_text("notes", data.notes, MAX_TEXT, multiline=True)
    errors.check_text("safety_plan", data.safety_plan, MAX_TEXT, multiline=True)
    errors.raise_if_any()

    answers = {item.code: data.answers[item.code] for item in instrument.items}
    stored, total, maximum = score(instrument, answers)
    version = 1 + (
        session.execute(
            select(func.max(Assessment.version)).where(Assessment.case_id == case.id, Assessment.kind == data.kind)
        ).scalar()
        or 0
    )
    assessment = Assessment(
        case_id=case.id,
        kind=data.kind,
        version=version,
        assessed_on=data.assessed_on,
        answers=stored,
        total_score=total,
        max_score=maximum,
        risk_level=risk_level(instrument, stored, total, maximum),
        outcome=data.outcome if data.kind == "screening" else None,
        assessed_by_id=grant.user.id,
    )
    assessment.notes = data.notes or None  # encrypted at flush, under the case's data key
    if instrument.safety_plan:
        assessment.safety_plan = data.safety_plan or None
    session.add(assessment)
    session.flush()
    details = {"kind": data.kind, "version": version}
    if assessment.risk_level:
        details["risk_level"] = assessment.risk_level
    writer.record("assessment.record", target=assessment, case_id=case.id, actor=grant.user, details=details)
    return assessment


def history(case_id: uuid.UUID) -> list[Assessment]:
    """Every assessment of the case, newest first (one query)."""
    return list(
        session.execute(
            select(Assessment)
            .where(Assessment.case_id == case_id)
            .order_by(Assessment.assessed_on.desc(), Assessment.created_at.desc())
        ).scalars()
    )


def latest_risk(case_id: uuid.UUID) -> Assessment | None:
    """The latest scored assessment: a risk and safety one first, else a needs one."""
    return session.execute(
        select(Assessment)
        .where(Assessment.case_id == case_id, Assessment.risk_level.is_not(None))
        .order_by((Assessment.kind == "risk_safety").desc(), Assessment.assessed_on.desc(), Assessment.version.desc())
        .limit(1)
    ).scalar()
