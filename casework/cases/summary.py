"""The case file's summary header: what a caseworker needs at a glance on every tab.

Status, the consents in force, open tasks and the next deadline, open assistance, pending
referrals and the risk level of the latest assessment, in three queries (counts and the latest
risk level, the consent records, the open tasks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select

from casework import access
from casework.assessments.models import Assessment
from casework.assistance.models import Service
from casework.partners.models import Referral

OPEN_SERVICE_STATUSES = ("needed", "referred", "in_progress")


@dataclass(frozen=True)
class SummaryHeader:
    status: str
    consents_in_force: list[str] = field(default_factory=list)  # CONSENT_PURPOSES codes, in list order
    open_services: int = 0
    pending_referrals: int = 0
    risk_level: str | None = None  # RISK_LEVELS, from the latest scored assessment
    risk_assessed_on: date | None = None
    open_tasks: int | None = None  # None: the tasks feature is not there
    next_deadline: date | None = None


def summary_header(grant: access.CaseGrant, on: date | None = None) -> SummaryHeader:
    """The header of the case file for the grant's user (the case file's readers only: the
    owner organisation and a break-glass visitor, who see every field)."""
    from casework import vocab
    from casework.consent import services as consent_services
    from casework.db import session

    case = grant.case
    on = on or date.today()
    latest = (
        select(Assessment.risk_level, Assessment.assessed_on)
        .where(Assessment.case_id == case.id, Assessment.risk_level.is_not(None))
        .order_by((Assessment.kind == "risk_safety").desc(), Assessment.assessed_on.desc(), Assessment.version.desc())
        .limit(1)
        .subquery()
    )
    row = session.execute(
        select(
            select(func.count(Service.id))
            .where(Service.case_id == case.id, Service.status.in_(OPEN_SERVICE_STATUSES))
            .scalar_subquery(),
            select(func.count(Referral.id))
            .where(Referral.case_id == case.id, Referral.status == "pending")
            .scalar_subquery(),
            select(latest.c.risk_level).scalar_subquery(),
            select(latest.c.assessed_on).scalar_subquery(),
        )
    ).one()
    states = consent_services.current_consents(case.id, on)
    purposes = {purpose for (purpose, _org), state in states.items() if state.active}
    in_force = [code.code for code in vocab.CONSENT_PURPOSES if code.code in purposes]
    open_tasks, next_deadline = _tasks(case.id)
    return SummaryHeader(
        status=case.status,
        consents_in_force=in_force,
        open_services=int(row[0] or 0),
        pending_referrals=int(row[1] or 0),
        risk_level=row[2],
        risk_assessed_on=row[3],
        open_tasks=open_tasks,
        next_deadline=next_deadline,
    )


def _tasks(case_id: Any) -> tuple[int | None, date | None]:
    """(open tasks, the next due date among them) from casework.tasks."""
    from casework.db import session
    from casework.tasks.models import OPEN, Task

    count, next_due = session.execute(
        select(func.count(Task.id), func.min(Task.due_on)).where(Task.case_id == case_id, Task.status == OPEN)
    ).one()
    return int(count or 0), next_due
