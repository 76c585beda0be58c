"""The case file's summary header: what a caseworker needs at a glance on every tab.

Status, the consents in force, open tasks and the next deadline, open assistance, pending
referrals and the risk level of the latest assessment, and the names of the case's
organisation and caseworker, in one query: the case's consent records, each row carrying every
figure and name as a scalar subquery. The statement is built once per process with a bound
parameter: a case file is the most opened page, and building the statement (and a round trip)
costs more CPU than PostgreSQL spends running it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any, cast

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


#: the consent columns that decide what is in force (no ciphertext)
_CONSENT_COLUMNS = ("purpose", "organisation_id", "decision", "given_on", "expires_on", "withdrawn_on", "recorded_at")


@functools.cache
def _header_statement() -> Select[Any]:
    """The case's row joined to its consent records (one row per record, or one row of NULLs),
    each carrying: open services, pending referrals, the latest risk level and its date, open
    tasks and their next due date, the owner organisation's name and the assignee's display
    name, then the consent columns."""
    from casework.auth.models import Organisation, User
    from casework.cases.models import Case
    from casework.consent.models import Consent
    from casework.tasks.models import OPEN, Task

    case_id = bindparam("case_id", type_=Case.__table__.c.id.type)
    latest = (
        select(Assessment.risk_level, Assessment.assessed_on)
        .where(Assessment.case_id == case_id, Assessment.risk_level.is_not(None))
        .order_by((Assessment.kind == "risk_safety").desc(), Assessment.assessed_on.desc(), Assessment.version.desc())
        .limit(1)
        .subquery()
    )
    open_tasks = (Task.case_id == case_id, Task.status == OPEN)
    return (
        select(
            select(func.count(Service.id))
            .where(Service.case_id == case_id, Service.status.in_(OPEN_SERVICE_STATUSES))
            .scalar_subquery(),
            select(func.count(Referral.id))
            .where(Referral.case_id == case_id, Referral.status == "pending")
            .scalar_subquery(),
            select(latest.c.risk_level).scalar_subquery(),
            select(latest.c.assessed_on).scalar_subquery(),
            select(func.count(Task.id)).where(*open_tasks).scalar_subquery(),
            select(func.min(Task.due_on)).where(*open_tasks).scalar_subquery(),
            select(Organisation.name).where(Organisation.id == Case.owner_org_id).scalar_subquery(),
            select(User.display_name).where(User.id == Case.assigned_to_id).scalar_subquery(),
            *(getattr(Consent, name) for name in _CONSENT_COLUMNS),
        )
        .select_from(Case)
        .outerjoin(Consent, Consent.case_id == Case.id)
        .where(Case.id == case_id)
    )


def summary_header(grant: access.CaseGrant, on: date | None = None) -> SummaryHeader:
    """The header of the case file for the grant's user (the case file's readers only: the
    owner organisation and a break-glass visitor, who see every field)."""
    from casework import vocab
    from casework.consent import services as consent_services
    from casework.db import session

    case = grant.case
    on = on or date.today()
    rows = session.execute(_header_statement(), {"case_id": case.id}).all()
    row = rows[0]
    consent = len(row) - len(_CONSENT_COLUMNS)
    records = [SimpleNamespace(**dict(zip(_CONSENT_COLUMNS, r[consent:], strict=True))) for r in rows if r[consent]]
    states = consent_services.current_consents(case.id, on, records=cast(list[Any], records))
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
