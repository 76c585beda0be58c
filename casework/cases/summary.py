"""The case file's summary header: what a caseworker needs at a glance on every tab.

Status, the consents in force, open tasks and the next deadline, open assistance, pending
referrals and the risk level of the latest assessment, and the names of the case's
organisation and caseworker, in two queries (every figure and name as a scalar subquery of one
statement, and the consent records). Both statements are built once per process with bound
parameters: a case file is the most opened page, and building a statement costs more CPU than
PostgreSQL spends running it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, bindparam, func, select

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
    owner_org_name: str | None = None
    assignee_name: str | None = None  # None: nobody assigned (or no such account)


@functools.cache
def _facts_statement() -> Select[Any]:
    """One row: open services, pending referrals, latest risk level and its date, open tasks,
    their next due date, the owner organisation's name, the assignee's display name."""
    from casework.auth.models import Organisation, User
    from casework.tasks.models import OPEN, Task

    case_id = bindparam("case_id", type_=Service.__table__.c.case_id.type)
    latest = (
        select(Assessment.risk_level, Assessment.assessed_on)
        .where(Assessment.case_id == case_id, Assessment.risk_level.is_not(None))
        .order_by((Assessment.kind == "risk_safety").desc(), Assessment.assessed_on.desc(), Assessment.version.desc())
        .limit(1)
        .subquery()
    )
    return select(
        select(func.count(Service.id))
        .where(Service.case_id == case_id, Service.status.in_(OPEN_SERVICE_STATUSES))
        .scalar_subquery(),
        select(func.count(Referral.id))
        .where(Referral.case_id == case_id, Referral.status == "pending")
        .scalar_subquery(),
        select(latest.c.risk_level).scalar_subquery(),
        select(latest.c.assessed_on).scalar_subquery(),
        select(func.count(Task.id)).where(Task.case_id == case_id, Task.status == OPEN).scalar_subquery(),
        select(func.min(Task.due_on)).where(Task.case_id == case_id, Task.status == OPEN).scalar_subquery(),
        select(Organisation.name).where(Organisation.id == bindparam("org_id")).scalar_subquery(),
        select(User.display_name).where(User.id == bindparam("assignee_id")).scalar_subquery(),
    )


@functools.cache
def _consents_statement() -> Select[Any]:
    """The columns of a case's consent records that decide what is in force (no ciphertext)."""
    from casework.consent.models import Consent

    return select(
        Consent.purpose,
        Consent.organisation_id,
        Consent.decision,
        Consent.given_on,
        Consent.expires_on,
        Consent.withdrawn_on,
        Consent.recorded_at,
    ).where(Consent.case_id == bindparam("case_id", type_=Consent.__table__.c.case_id.type))


def summary_header(grant: access.CaseGrant, on: date | None = None) -> SummaryHeader:
    """The header of the case file for the grant's user (the case file's readers only: the
    owner organisation and a break-glass visitor, who see every field)."""
    from casework import vocab
    from casework.consent import services as consent_services
    from casework.db import session

    case = grant.case
    on = on or date.today()
    row = session.execute(
        _facts_statement(), {"case_id": case.id, "org_id": case.owner_org_id, "assignee_id": case.assigned_to_id}
    ).one()
    records = session.execute(_consents_statement(), {"case_id": case.id}).all()
    states = consent_services.current_consents(case.id, on, records=records)
    purposes = {purpose for (purpose, _org), state in states.items() if state.active}
    in_force = [code.code for code in vocab.CONSENT_PURPOSES if code.code in purposes]
    return SummaryHeader(
        status=case.status,
        consents_in_force=in_force,
        open_services=int(row[0] or 0),
        pending_referrals=int(row[1] or 0),
        risk_level=row[2],
        risk_assessed_on=row[3],
        open_tasks=int(row[4] or 0),
        next_deadline=row[5],
        owner_org_name=row[6],
        assignee_name=row[7],
    )
