"""The case file's summary header: what a caseworker needs at a glance on every tab.

Status, the consents in force, open tasks and the next deadline, open assistance, pending
referrals and the risk level of the latest assessment, and the names of the case's
organisation and caseworker: columns of scalar subqueries that the case file adds to the query
that loads the case (access.load_case), so the header costs no round trip of its own. They are
built once per process with bound parameters: the case file is the most opened page, and
building its SQL (and a round trip) costs more CPU than PostgreSQL spends running it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Date, Select, bindparam, exists, func, select

from casework import access
from casework.assessments.models import Assessment
from casework.assistance.models import Service
from casework.db import per_thread_cache
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


@per_thread_cache
def header_columns() -> tuple[ColumnElement[Any], ...]:
    """SQL over Case: the header's figures as columns of a query of the case (the case file
    adds them to access.load_case's statement: one round trip for the case and its header).
    Bound parameters: ``scope_case_id`` (the case) and ``scope_on`` (the day). In order: open
    services, pending referrals, the latest risk level and its date, open tasks and their next
    due date, the owner organisation's name, the assignee's display name, then for each
    consent purpose (in list order) whether a consent is in force: access's SQL form of the
    rule ``casework.consent.services.current_consents`` applies (tests/consent check that both
    agree)."""
    from casework import vocab
    from casework.auth.models import Organisation, display_name_of
    from casework.cases.models import Case
    from casework.consent.models import Consent
    from casework.tasks.models import OPEN, Task

    case_id = bindparam("scope_case_id", type_=Case.__table__.c.id.type)
    on = bindparam("scope_on", type_=Date())
    latest = (
        select(Assessment.risk_level, Assessment.assessed_on)
        .where(Assessment.case_id == case_id, Assessment.risk_level.is_not(None))
        .order_by((Assessment.kind == "risk_safety").desc(), Assessment.assessed_on.desc(), Assessment.version.desc())
        .limit(1)
        .subquery()
    )
    open_tasks = (Task.case_id == case_id, Task.status == OPEN)
    return (
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
        display_name_of(Case.assigned_to_id),
        *(
            exists().where(Consent.case_id == Case.id, access.active_consent_condition(code.code, on))
            for code in vocab.CONSENT_PURPOSES
        ),
    )


@per_thread_cache
def _header_statement() -> Select[Any]:
    from casework.cases.models import Case

    return select(*header_columns()).where(Case.id == bindparam("scope_case_id"))


def summary_header(grant: access.CaseGrant, on: date | None = None) -> SummaryHeader:
    """The header of the case file for the grant's user (the case file's readers only: the
    owner organisation and a break-glass visitor, who see every field): from the columns the
    grant's query carried (``header_columns``), else one query."""
    from casework import vocab
    from casework.db import session

    case = grant.case
    values: Sequence[Any] = grant.extra
    if on is not None or len(values) != len(header_columns()):
        parameters = {"scope_case_id": case.id, "scope_on": on or date.today()}
        values = session.execute(_header_statement(), parameters).one()
    in_force = values[8:]
    return SummaryHeader(
        status=case.status,
        consents_in_force=[code.code for code, active in zip(vocab.CONSENT_PURPOSES, in_force, strict=True) if active],
        open_services=int(values[0] or 0),
        pending_referrals=int(values[1] or 0),
        risk_level=values[2],
        risk_assessed_on=values[3],
        open_tasks=int(values[4] or 0),
        next_deadline=values[5],
        owner_org_name=values[6],
        assignee_name=values[7],
    )
