"""Case plan rules: goals, plan reviews, the closure checklist and supervisors' approvals.

Every function takes the request's :class:`access.CaseGrant` and asks it first; each changes,
audits and flushes, never commits. Free text is encrypted with the case's data key (the
models' EncryptedField). Raises :class:`casework.cases.validation.InputErrors` on bad input,
:class:`SelfApproval` when the author of a request tries to decide it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from casework import access, vocab
from casework.access import Permission
from casework.assistance.models import Service
from casework.audit import writer
from casework.cases.models import Case
from casework.cases.services import VersionConflict, flush_versioned
from casework.cases.validation import ErrorCollector, InputErrors, check_past_date
from casework.db import session, utcnow
from casework.partners.models import Referral
from casework.plans.models import CaseApproval, PlanAction, PlanGoal

if TYPE_CHECKING:
    from casework.tasks.models import Task

MAX_TEXT = 4000
OPEN_SERVICE_STATUSES = ("needed", "referred", "in_progress")
LIVE_REFERRAL_STATUSES = ("pending", "accepted")


CLOSURE_NEEDS_APPROVAL = _l(
    "This case still has open items (see the closure checklist): a supervisor must approve its closure first."
)


class SelfApproval(Exception):
    """The author of a review or closure request may not decide it."""


def _writable(grant: access.CaseGrant) -> Case:
    grant.require(Permission.CASE_EDIT)
    if grant.case.is_erased:
        raise InputErrors({"": [str(_l("The identifying data of this case was erased: it can no longer be edited."))]})
    return grant.case


# -- goals --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GoalInput:
    domain: str
    description: str | None
    status: str = "open"
    target_on: date | None = None


def _check_goal(data: GoalInput, today: date) -> None:
    errors = ErrorCollector()
    if not data.domain:
        errors.add("domain", _l("Choose one of the listed options."))
    errors.check_code("domain", data.domain or None, vocab.PLAN_DOMAINS)
    errors.check_code("status", data.status, vocab.PLAN_GOAL_STATUSES)
    if not data.description:
        errors.add("description", _l("Describe the goal."))
    errors.check_text("description", data.description, MAX_TEXT, multiline=True)
    if data.target_on is not None and data.target_on.year < 2000:
        errors.add("target_on", _l("Enter a date after 2000."))
    errors.raise_if_any()


def add_goal(grant: access.CaseGrant, data: GoalInput, today: date | None = None) -> PlanGoal:
    """Add a goal to the case plan. Raises InputErrors; 403 without CASE_EDIT."""
    case = _writable(grant)
    _check_goal(data, today or date.today())
    goal = PlanGoal(
        case_id=case.id, domain=data.domain, status=data.status, target_on=data.target_on, created_by_id=grant.user.id
    )
    goal.description = data.description  # encrypted at flush, under the case's data key
    session.add(goal)
    session.flush()
    writer.record("plan.goal_add", target=goal, case_id=case.id, actor=grant.user, details={"domain": data.domain})
    return goal


def update_goal(
    grant: access.CaseGrant, goal: PlanGoal, data: GoalInput, expected_version: int | None, today: date | None = None
) -> bool:
    """Change a goal (status, text, target date); False when nothing changed. Raises
    InputErrors, VersionConflict; 403 without CASE_EDIT."""
    _writable(grant)
    if goal.case_id != grant.case_id:
        access.refuse("plan.goal", case_id=grant.case_id, status=404, reason="other_case")
    if expected_version is None or expected_version != goal.version_id:
        raise VersionConflict()
    _check_goal(data, today or date.today())
    changed = sorted(
        name
        for name, old, new in (
            ("domain", goal.domain, data.domain),
            ("status", goal.status, data.status),
            ("target_on", goal.target_on, data.target_on),
            ("description", goal.description, data.description),
        )
        if old != new
    )
    if not changed:
        return False
    goal.domain, goal.status, goal.target_on = data.domain, data.status, data.target_on
    if "description" in changed:
        goal.description = data.description
    flush_versioned()
    details = {"fields": changed, "status": goal.status}
    writer.record("plan.goal_edit", target=goal, case_id=goal.case_id, actor=grant.user, details=details)
    return True


def goals_of(case_id: uuid.UUID) -> list[PlanGoal]:
    """The plan's goals in domain order, oldest first within a domain (one query)."""
    goals = session.execute(select(PlanGoal).where(PlanGoal.case_id == case_id).order_by(PlanGoal.created_at)).scalars()
    return sorted(goals, key=lambda g: vocab.PLAN_DOMAINS.index(g.domain) if g.domain in vocab.PLAN_DOMAINS else 99)


# -- actions: tasks of casework.tasks linked to a goal ----------------------------------------------
@dataclass(frozen=True)
class ActionView:
    task_id: uuid.UUID
    goal_id: uuid.UUID
    title: str
    owner: str
    due_on: date
    status: str


def add_action(
    grant: access.CaseGrant,
    goal: PlanGoal,
    *,
    title_code: str | None,
    title: str | None,
    due_on: date | None,
    assignee_id: uuid.UUID | None,
) -> Task:
    """An action of ``goal``: a task of the case (casework.tasks.services.create_task: its
    owner, due date and words), linked to the goal. Raises InputErrors; 403 without CASE_EDIT."""
    from casework.tasks import services as tasks

    _writable(grant)
    if goal.case_id != grant.case_id:
        access.refuse("plan.goal", case_id=grant.case_id, status=404, reason="other_case")
    task = tasks.create_task(grant, title_code=title_code, title=title, due_on=due_on, assignee_id=assignee_id)
    session.add(PlanAction(task_id=task.id, goal_id=goal.id))
    session.flush()
    writer.record(
        "plan.action_add", target=goal, case_id=goal.case_id, actor=grant.user, details={"task": str(task.id)}
    )
    return task


def actions_of(grant: access.CaseGrant) -> dict[uuid.UUID, list[ActionView]]:
    """The actions of every goal of the grant's case (goal id -> actions by due date), one query."""
    from casework.auth.models import User
    from casework.tasks import services as tasks
    from casework.tasks.models import Task

    rows = session.execute(
        select(PlanAction.goal_id, Task, User.display_name)
        .join(Task, Task.id == PlanAction.task_id)
        .outerjoin(User, User.id == func.coalesce(Task.assignee_id, grant.case.assigned_to_id))
        .where(Task.case_id == grant.case_id)
        .order_by(Task.due_on)
    )
    actions: dict[uuid.UUID, list[ActionView]] = {}
    for goal_id, task, owner in rows:
        view = ActionView(task.id, goal_id, tasks.title_of(task, grant), owner or "", task.due_on, task.status)
        actions.setdefault(goal_id, []).append(view)
    return actions


# -- the closure checklist ------------------------------------------------------------------------
@dataclass(frozen=True)
class ChecklistItem:
    code: str  # open_tasks | open_services | live_referrals | sharing_consents
    label: Any
    count: int

    @property
    def open(self) -> bool:
        return self.count > 0


CHECKLIST_LABELS: dict[str, Any] = {
    "open_tasks": _l("Open tasks"),
    "open_services": _l("Assistance not yet provided or declined"),
    "live_referrals": _l("Referrals pending or accepted"),
    "sharing_consents": _l("Consents to share with an organisation still in force"),
}


def open_task_count(case_id: uuid.UUID) -> int:
    """Open tasks of the case (plan actions, typed tasks and derived deadlines)."""
    from casework.tasks.models import OPEN, Task

    return int(
        session.execute(select(func.count(Task.id)).where(Task.case_id == case_id, Task.status == OPEN)).scalar() or 0
    )


def closure_checklist(case_id: uuid.UUID, on: date | None = None) -> list[ChecklistItem]:
    """What is still open on a case (counts), for its closure."""
    from casework.consent import services as consent_services

    on = on or date.today()
    services_open, referrals_live = session.execute(
        select(
            select(func.count(Service.id))
            .where(Service.case_id == case_id, Service.status.in_(OPEN_SERVICE_STATUSES))
            .scalar_subquery(),
            select(func.count(Referral.id))
            .where(Referral.case_id == case_id, Referral.status.in_(LIVE_REFERRAL_STATUSES))
            .scalar_subquery(),
        )
    ).one()
    sharing = sum(
        1
        for (purpose, _org), state in consent_services.current_consents(case_id, on).items()
        if purpose == "referral_sharing" and state.active
    )
    counts = {
        "open_tasks": open_task_count(case_id),
        "open_services": int(services_open),
        "live_referrals": int(referrals_live),
        "sharing_consents": sharing,
    }
    return [ChecklistItem(code, CHECKLIST_LABELS[code], count) for code, count in counts.items()]


# -- requests for approval ------------------------------------------------------------------------
def request_review(
    grant: access.CaseGrant,
    reviewed_on: date | None,
    next_review_on: date | None,
    summary: str | None,
    today: date | None = None,
) -> CaseApproval:
    """Record a review of the plan, waiting for a supervisor's approval. Raises InputErrors."""
    case = _writable(grant)
    today = today or date.today()
    errors = ErrorCollector()
    if reviewed_on is None:
        errors.add("reviewed_on", _l("Enter a date."))
    elif message := check_past_date(reviewed_on, today):
        errors.add("reviewed_on", message)
    if next_review_on is None:
        errors.add("next_review_on", _l("Enter a date."))
    elif reviewed_on is not None and next_review_on <= reviewed_on:
        errors.add("next_review_on", _l("The next review comes after this one."))
    errors.check_text("summary", summary, MAX_TEXT, multiline=True)
    if pending(case.id, "plan_review") is not None:
        errors.add("", _l("A review of this plan is already waiting for a supervisor."))
    errors.raise_if_any()
    return _request(grant, "plan_review", summary, reviewed_on=reviewed_on, next_review_on=next_review_on)


def request_closure(grant: access.CaseGrant, summary: str | None) -> CaseApproval:
    """Ask a supervisor to approve closing the case; the checklist is kept as it stands.
    Raises InputErrors."""
    case = _writable(grant)
    errors = ErrorCollector()
    if case.status == "closed":
        errors.add("", _l("This case is already closed."))
    if not summary:
        errors.add("summary", _l("Say why the case can close."))
    errors.check_text("summary", summary, MAX_TEXT, multiline=True)
    if pending(case.id, "closure") is not None:
        errors.add("", _l("A closure of this case is already waiting for a supervisor."))
    errors.raise_if_any()
    checklist = {item.code: item.count for item in closure_checklist(case.id)}
    return _request(grant, "closure", summary, checklist=checklist)


def _request(grant: access.CaseGrant, kind: str, summary: str | None, **values: Any) -> CaseApproval:
    approval = CaseApproval(case_id=grant.case_id, kind=kind, requested_by_id=grant.user.id, **values)
    approval.summary = summary or None
    session.add(approval)
    session.flush()
    writer.record(f"{kind}.request", target=approval, case_id=grant.case_id, actor=grant.user, details={"kind": kind})
    return approval


def pending(case_id: uuid.UUID, kind: str) -> CaseApproval | None:
    return session.execute(
        select(CaseApproval).where(
            CaseApproval.case_id == case_id, CaseApproval.kind == kind, CaseApproval.status == "pending"
        )
    ).scalar()


def approvals_of(case_id: uuid.UUID) -> list[CaseApproval]:
    """Every request of the case, newest first."""
    return list(
        session.execute(
            select(CaseApproval).where(CaseApproval.case_id == case_id).order_by(CaseApproval.requested_at.desc())
        ).scalars()
    )


def decide(grant: access.CaseGrant, approval: CaseApproval, approve: bool, note: str | None) -> None:
    """A supervisor approves or sends back a request. Raises SelfApproval (its author),
    InputErrors (already decided, bad note); 403 without PLAN_APPROVE on the case."""
    grant.require(Permission.PLAN_APPROVE)
    if approval.case_id != grant.case_id:
        access.refuse("plan.approval", case_id=grant.case_id, status=404, reason="other_case")
    if approval.requested_by_id == grant.user.id:
        writer.record_refusal("approval.decide", case_id=grant.case_id, reason="own_request")
        raise SelfApproval()
    errors = ErrorCollector()
    if approval.status != "pending":
        errors.add("", _l("This request was already decided."))
    if not approve and not note:
        errors.add("note", _l("Say what must change before it can be approved."))
    errors.check_text("note", note, MAX_TEXT, multiline=True)
    errors.raise_if_any()
    approval.status = "approved" if approve else "rejected"
    approval.decided_by_id = grant.user.id
    approval.decided_at = utcnow()
    approval.decision_note = note or None
    session.flush()
    action = f"{approval.kind}.{approval.status}"
    writer.record(action, target=approval, case_id=grant.case_id, actor=grant.user, details={"kind": approval.kind})


# -- closing ----------------------------------------------------------------------------------------
def usable_closure(case_id: uuid.UUID) -> CaseApproval | None:
    """An approved closure not yet used by a closing of the case."""
    return session.execute(
        select(CaseApproval)
        .where(
            CaseApproval.case_id == case_id,
            CaseApproval.kind == "closure",
            CaseApproval.status == "approved",
            CaseApproval.used_at.is_(None),
        )
        .order_by(CaseApproval.decided_at.desc())
        .limit(1)
    ).scalar()


def closure_gate(case: Case, errors: ErrorCollector) -> CaseApproval | None:
    """Before a case closes: with open items on its checklist, an approved closure is needed
    (added to ``errors`` otherwise). Returns the approval that the closing uses, if any."""
    approval = usable_closure(case.id)
    if approval is None and any(item.open for item in closure_checklist(case.id)):
        errors.add("closed_on", CLOSURE_NEEDS_APPROVAL)
    return approval


def use_closure(approval: CaseApproval | None) -> None:
    if approval is not None:
        approval.used_at = utcnow()
