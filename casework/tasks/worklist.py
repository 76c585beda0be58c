"""The work list: what is due across the user's cases, as counts and pages of tasks.

Every query starts from ``access.case_scope`` (joined on the task's case) and, for a partner,
keeps only tasks about services its organisation provides. A caseworker's queries start from
their own cases (``ix_cases_assignee_list``) and then the cases' tasks
(``ix_tasks_case_status_due``): their cost follows the caseworker's cases, not the deployment's
(bench/home_bench.py). The home page runs a fixed number of queries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, union_all

from casework import access
from casework.access import Role
from casework.assistance.models import Service
from casework.auth.models import User
from casework.cases.models import Case
from casework.db import session
from casework.partners.models import Referral
from casework.tasks.models import OPEN, Task

PAGE_SIZE = 50
RECENT_CASES = 10
#: A case nobody changed for this many days is due for review (no case plan model here yet).
REVIEW_DAYS = 90
WEEK_DAYS = 7
DUE_FILTERS = ("overdue", "week", "open", "all")
SCOPES = ("mine", "team")


def _partner_condition(user: Any) -> ColumnElement[bool] | None:
    if access.role_of(user) is Role.PARTNER:
        provided = select(Service.id).where(Service.provider_org_id == user.organisation_id)
        return Task.service_id.in_(provided)
    return None


def task_scope(user: Any, scope: str = "mine") -> list[ColumnElement[bool]]:
    """SQL over Task joined to its Case: the tasks ``user`` may see; ``mine``: theirs (given to
    them, or following the case they hold), ``team``: the organisation's (supervisors), ``case``:
    all (with a case id: one case's page)."""
    conditions: list[ColumnElement[bool]] = [access.case_scope(user)]
    if scope != "case":
        conditions.append(Case.status != "closed")  # a closed case's tasks wait for its reopening
    partner = _partner_condition(user)
    if partner is not None:
        conditions.append(partner)
    elif scope == "case":  # one case's page: every task of it the user may see
        pass
    elif access.role_of(user) is not Role.SUPERVISOR:
        # A caseworker's scope is the cases they hold (ix_cases_assignee_list): their tasks
        # there are those following the case or given to them.
        conditions += [
            Case.assigned_to_id == user.id,
            or_(Task.assignee_id.is_(None), Task.assignee_id == user.id),
        ]
    elif scope == "mine":
        # The ids of the person's tasks, each half from its own index (tasks by assignee; the
        # tasks of the cases they hold): the database reads their rows, not the organisation's.
        given = select(Task.id).where(Task.assignee_id == user.id)
        following = (
            select(Task.id)
            .join(Case, Case.id == Task.case_id)
            .where(
                # The terms of ix_cases_assignee_list (partial, covering): read from the index.
                Case.assigned_to_id == user.id,
                Case.owner_org_id == user.organisation_id,
                Case.erased_at.is_(None),
                Task.assignee_id.is_(None),
            )
        )
        conditions.append(Task.id.in_(union_all(given, following)))
    else:
        # The team: the organisation's own cases (the owner-supervisor relation, within the
        # scope above), read from the organisation's index.
        conditions += [Case.owner_org_id == user.organisation_id, Case.erased_at.is_(None)]
    return conditions


def _due_condition(due: str, today: date) -> list[ColumnElement[bool]]:
    if due == "overdue":
        return [Task.status == OPEN, Task.due_on < today]
    if due == "week":
        return [Task.status == OPEN, Task.due_on >= today, Task.due_on <= today + timedelta(days=WEEK_DAYS)]
    if due == "open":
        return [Task.status == OPEN]
    return []


@dataclass(frozen=True, slots=True)
class Counts:
    overdue: int
    week: int
    open: int


def counts(user: Any, scope: str = "mine", today: date | None = None) -> Counts:
    """Overdue, due within a week, and open tasks: one query. The team's (a supervisor's whole
    organisation) counts only the first two, from the tasks due by the end of the week (the
    ``ix_tasks_status_due`` range), not every open task of the organisation."""
    today = today or date.today()
    week_end = today + timedelta(days=WEEK_DAYS)
    due_soon = [Task.due_on <= week_end] if scope == "team" else []
    row = session.execute(
        select(
            func.count(case((Task.due_on < today, 1))),
            func.count(case((and_(Task.due_on >= today, Task.due_on <= week_end), 1))),
            func.count(Task.id),
        )
        .select_from(Task)
        .join(Case, Case.id == Task.case_id)
        .where(*task_scope(user, scope), Task.status == OPEN, *due_soon)
    ).one()
    return Counts(overdue=row[0] or 0, week=row[1] or 0, open=row[2] or 0)


@dataclass(frozen=True, slots=True)
class TaskRow:
    id: uuid.UUID
    case_id: uuid.UUID
    case_reference: str
    title_code: str
    has_text: bool
    due_on: date
    status: str
    assignee_name: str | None
    derived: bool
    version_id: int

    def overdue(self, today: date) -> bool:
        return self.status == OPEN and self.due_on < today


@dataclass
class TaskPage:
    rows: list[TaskRow]
    total: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def list_tasks(
    user: Any,
    due: str = "open",
    scope: str = "mine",
    page: int = 1,
    case_id: uuid.UUID | None = None,
    today: date | None = None,
) -> TaskPage:
    """One page of tasks by due date (two queries: a count and the page with case references
    and assignee names joined). Titles' free text is not read here (the task page shows it)."""
    today = today or date.today()
    conditions = [*task_scope(user, scope), *_due_condition(due, today)]
    if case_id is not None:
        conditions.append(Task.case_id == case_id)
    base = select(Task.id).join(Case, Case.id == Task.case_id).where(*conditions)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    result = TaskPage([], total, max(1, min(page, max(1, -(-total // PAGE_SIZE)))))
    if not total:
        return result
    assignee = func.coalesce(Task.assignee_id, Case.assigned_to_id)
    rows = session.execute(
        select(
            Task.id,
            Task.case_id,
            Case.reference,
            Task.title_code,
            Task.title_ct.is_not(None),
            Task.due_on,
            Task.status,
            User.display_name,
            Task.source_kind.is_not(None),
            Task.version_id,
        )
        .join(Case, Case.id == Task.case_id)
        .outerjoin(User, User.id == assignee)
        .where(*conditions)
        .order_by(Task.due_on, Case.reference, Task.id)
        .offset((result.page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    result.rows = [TaskRow(*row) for row in rows]
    return result


@dataclass(frozen=True, slots=True)
class RecentCase:
    id: uuid.UUID
    reference: str
    status: str
    updated_at: datetime


@dataclass
class WorkList:
    counts: Counts
    soon: list[TaskRow]
    waiting_referrals: int
    recent: list[RecentCase]
    team: Counts | None = None
    unreviewed: int | None = None


def _held(user: Any) -> list[ColumnElement[bool]]:
    """A caseworker's own cases; a supervisor's organisation's (the index each query starts from)."""
    if access.role_of(user) is Role.SUPERVISOR:
        return [Case.owner_org_id == user.organisation_id, Case.erased_at.is_(None)]
    return [Case.assigned_to_id == user.id]


def _waiting_referrals(user: Any) -> int:
    """Referrals of the user's cases that the partner has not answered yet."""
    mine = _held(user)
    return session.execute(
        select(func.count(Referral.id))
        .join(Case, Case.id == Referral.case_id)
        .where(access.case_scope(user), *mine, Referral.status == "pending")
    ).scalar_one()


def _recent_cases(user: Any) -> list[RecentCase]:
    mine = _held(user)
    rows = session.execute(
        select(Case.id, Case.reference, Case.status, Case.updated_at)
        .where(access.case_scope(user), *mine)
        .order_by(Case.updated_at.desc(), Case.id)
        .limit(RECENT_CASES)
    ).all()
    return [RecentCase(*row) for row in rows]


def unreviewed_cases(user: Any, now: datetime, review_days: int = REVIEW_DAYS) -> int:
    """Open cases of the supervisor's scope that nobody changed for ``review_days`` days."""
    return session.execute(
        select(func.count(Case.id)).where(
            access.case_scope(user),
            *_held(user),
            Case.status != "closed",
            Case.updated_at < now - timedelta(days=review_days),
        )
    ).scalar_one()


def work_list(user: Any, today: date | None = None, now: datetime | None = None) -> WorkList:
    """The home page of a caseworker or supervisor: a fixed number of queries."""
    from casework.db import utcnow

    today = today or date.today()
    soon = list_tasks(user, "open", "mine", 1, today=today).rows[:10]
    staff = access.role_of(user) in (Role.CASEWORKER, Role.SUPERVISOR)  # a partner: its tasks only
    result = WorkList(
        counts=counts(user, "mine", today),
        soon=soon,
        waiting_referrals=_waiting_referrals(user) if staff else 0,
        recent=_recent_cases(user) if staff else [],
    )
    if access.role_of(user) is Role.SUPERVISOR:
        result.team = counts(user, "team", today)
        result.unreviewed = unreviewed_cases(user, now or utcnow())
    return result
