"""Case plan pages: add and change goals, record a review of the plan, ask for the closure of
the case, and a supervisor's decision on a review or a closure (never its author's).

The plan itself is shown on the case file's "plan" tab (``plans/_case_section.html``, data
from :func:`section_data`); these pages are its forms.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from casework import access
from casework.access import Permission, route
from casework.auth.models import display_names
from casework.cases.forms import parse_version
from casework.cases.services import VersionConflict
from casework.cases.tabs import tab_url
from casework.cases.validation import InputErrors, apply_errors
from casework.db import session
from casework.plans import services
from casework.plans.forms import ActionForm, ClosureRequestForm, DecisionForm, GoalForm, ReviewForm
from casework.plans.models import CaseApproval, PlanGoal

bp = Blueprint("plans", __name__)
Page = str | Response | tuple[str, int]


@dataclass(frozen=True)
class PlanSection:
    goals: list[PlanGoal]
    actions: dict[uuid.UUID, list[services.ActionView]]
    approvals: list[CaseApproval]
    names: dict[uuid.UUID, str]

    def name(self, user_id: uuid.UUID | None) -> str:
        return self.names.get(user_id, "") if user_id else ""

    @property
    def next_review_on(self) -> Any:
        approved = [a for a in self.approvals if a.kind == "plan_review" and a.status == "approved"]
        return approved[0].next_review_on if approved else None


def section_data(grant: access.CaseGrant) -> PlanSection | None:
    """The plan tab of a case the user reached (None when the grant does not show the plan)."""
    if not grant.view.can_see("plan"):
        return None
    goals = services.goals_of(grant.case_id)
    approvals = services.approvals_of(grant.case_id)
    ids = {a.requested_by_id for a in approvals} | {a.decided_by_id for a in approvals}
    names = display_names({i for i in ids if i is not None})
    return PlanSection(goals, services.actions_of(grant), approvals, names)


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {"closure_checklist": services.closure_checklist}


def _load(model: Any, record_id: uuid.UUID, permission: Permission) -> tuple[access.CaseGrant, Any]:
    case_id = session.execute(select(model.case_id).where(model.id == record_id)).scalar_one_or_none()
    if case_id is None:
        access.refuse("plan.load", status=404, reason="not_found")
    grant = access.load_case(case_id, permission)
    record = session.get(model, record_id)
    if record is None:
        access.refuse("plan.load", case_id=case_id, status=404, reason="not_found")
    return grant, record


def _page(template: str, status: int, **context: Any) -> tuple[str, int]:
    return render_template(template, **context), status


def _round_trip(
    template: str, context: dict[str, Any], save: Callable[[], object], done: str, case_id: uuid.UUID, tab: str
) -> Page:
    """A form's round trip: the page on GET; 400 with the messages on bad input or when the
    service refuses it (nothing kept); else commit, say ``done`` and go back to the case's tab."""
    form = context["form"]
    if not form.is_submitted():
        return _page(template, 200, **context)
    if not form.validate():
        return _page(template, 400, **context)
    try:
        save()
    except InputErrors as refused:
        session.rollback()
        apply_errors(form, refused.errors)
        return _page(template, 400, **context)
    session.commit()
    flash(done, "success")
    return redirect(tab_url(case_id, tab))


# -- goals -------------------------------------------------------------------------------------
def _goal_input(form: GoalForm) -> services.GoalInput:
    return services.GoalInput(
        domain=form.domain.data or "",
        description=form.description.data or None,
        status=form.status.data or "open",
        target_on=form.target_on.data,
    )


@bp.route("/cases/<uuid:case_id>/plan/goals/new", methods=["GET", "POST"])
@route(Permission.CASE_EDIT, case_route=True)
def add_goal(case_id: uuid.UUID) -> Page:
    grant = access.load_case(case_id, Permission.CASE_EDIT)
    form = GoalForm()
    context = {"form": form, "case": grant.view, "goal": None}
    return _round_trip(
        "plans/goal.html",
        context,
        lambda: services.add_goal(grant, _goal_input(form)),
        _("The goal was added to the plan."),
        grant.case_id,
        "plan",
    )


@bp.route("/plan/goals/<uuid:goal_id>", methods=["GET", "POST"])
@route(Permission.CASE_EDIT)
def edit_goal(goal_id: uuid.UUID) -> Page:
    grant, goal = _load(PlanGoal, goal_id, Permission.CASE_EDIT)
    if not grant.view.can_see("plan"):
        access.refuse("plan.goal", case_id=grant.case_id, status=403, reason="plan_not_visible")
    if not GoalForm().is_submitted():
        form = GoalForm(
            formdata=None,
            domain=goal.domain,
            status=goal.status,
            description=grant.free_text(goal.description),
            target_on=goal.target_on,
            version_id=str(goal.version_id),
        )
        return _page("plans/goal.html", 200, form=form, case=grant.view, goal=goal)
    form = GoalForm()
    context = {"form": form, "case": grant.view, "goal": goal}
    if not form.validate():
        return _page("plans/goal.html", 400, **context)
    try:
        changed = services.update_goal(grant, goal, _goal_input(form), parse_version(form.version_id.data))
    except InputErrors as refused:
        session.rollback()
        apply_errors(form, refused.errors)
        return _page("plans/goal.html", 400, **context)
    except VersionConflict:
        session.rollback()
        session.refresh(goal)
        form.version_id.data = str(goal.version_id)
        flash(_("Someone else changed this goal meanwhile: check it, then save again."), "error")
        return _page("plans/goal.html", 409, **context)
    session.commit()
    flash(_("Saved.") if changed else _("Nothing was changed."), "success" if changed else "info")
    return redirect(tab_url(grant.case_id, "plan"))


# -- actions (tasks of the goal) ---------------------------------------------------------------
def _action_form(grant: access.CaseGrant) -> ActionForm:
    from casework import vocab
    from casework.tasks import services as tasks

    form = ActionForm()
    form.title_code.choices = [("", _("Choose…"))] + [
        (code.code, code.label) for code in vocab.TASK_TITLES if code.code in tasks.TYPED_TITLES
    ]
    form.assignee.choices = [("", _("The case's caseworker"))] + [
        (str(user.id), user.display_name) for user in tasks.assignable_users(grant.case)
    ]
    return form


@bp.route("/plan/goals/<uuid:goal_id>/actions/new", methods=["GET", "POST"])
@route(Permission.CASE_EDIT)
def add_action(goal_id: uuid.UUID) -> Page:
    grant, goal = _load(PlanGoal, goal_id, Permission.CASE_EDIT)
    form = _action_form(grant)
    context = {"form": form, "case": grant.view, "goal": goal, "goal_text": grant.free_text(goal.description)}
    return _round_trip(
        "plans/action.html",
        context,
        lambda: services.add_action(
            grant,
            goal,
            title_code=form.title_code.data or None,
            title=form.title.data or None,
            due_on=form.due_on.data,
            assignee_id=_uuid(form.assignee.data),
        ),
        _("The action was added; it is on the task list too."),
        grant.case_id,
        "plan",
    )


def _uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


# -- reviews and closure -----------------------------------------------------------------------
@bp.route("/cases/<uuid:case_id>/plan/review", methods=["GET", "POST"])
@route(Permission.CASE_EDIT, case_route=True)
def request_review(case_id: uuid.UUID) -> Page:
    grant = access.load_case(case_id, Permission.CASE_EDIT)
    form = ReviewForm()
    context = {"form": form, "case": grant.view}
    return _round_trip(
        "plans/review.html",
        context,
        lambda: services.request_review(
            grant, form.reviewed_on.data, form.next_review_on.data, form.summary.data or None
        ),
        _("The review was recorded; a supervisor will approve it."),
        grant.case_id,
        "plan",
    )


@bp.route("/cases/<uuid:case_id>/closure", methods=["GET", "POST"])
@route(Permission.CASE_EDIT, case_route=True)
def request_closure(case_id: uuid.UUID) -> Page:
    grant = access.load_case(case_id, Permission.CASE_EDIT)
    form = ClosureRequestForm()
    context = {"form": form, "case": grant.view, "checklist": services.closure_checklist(grant.case_id)}
    return _round_trip(
        "plans/closure.html",
        context,
        lambda: services.request_closure(grant, form.summary.data or None),
        _("The closure was asked for; a supervisor will decide."),
        grant.case_id,
        "management",
    )


@bp.route("/approvals/<uuid:approval_id>", methods=["GET", "POST"])
@route(Permission.PLAN_APPROVE)
def decide(approval_id: uuid.UUID) -> Page:
    grant, approval = _load(CaseApproval, approval_id, Permission.PLAN_APPROVE)
    form = DecisionForm()
    names = display_names({i for i in (approval.requested_by_id, approval.decided_by_id) if i is not None})
    own = approval.requested_by_id == grant.user.id
    context = {
        "form": form,
        "case": grant.view,
        "approval": approval,
        "summary": grant.free_text(approval.summary),
        "decision_note": grant.free_text(approval.decision_note),
        "names": names,
        "own": own,
        "checklist": services.closure_checklist(grant.case_id) if approval.kind == "closure" else None,
    }
    if not form.is_submitted():
        return _page("plans/decide.html", 200, **context)
    if not form.validate():
        return _page("plans/decide.html", 400, **context)
    try:
        services.decide(grant, approval, form.decision.data == "approve", form.note.data or None)
    except services.SelfApproval:
        session.rollback()
        flash(_("You asked for this approval: another supervisor must decide it."), "error")
        return _page("plans/decide.html", 403, **context)
    except InputErrors as refused:
        session.rollback()
        apply_errors(form, refused.errors)
        return _page("plans/decide.html", 400, **context)
    session.commit()
    flash(_("Approved.") if approval.status == "approved" else _("Sent back to its author."), "success")
    return redirect(tab_url(grant.case_id, "plan" if approval.kind == "plan_review" else "management"))
