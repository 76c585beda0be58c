"""Issue 18.4: the case plan, its reviews, and a supervisor's approval of the plan and of the
closure (never by the request's author); closing with open items needs an approved closure."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from casework.db import session

TODAY = date.today()


@pytest.fixture
def second_supervisor(make_user: Callable[..., Any], org: Any) -> Any:
    return make_user("supervisor", org=org, display_name="Sue Second")


@pytest.fixture
def case(make_case: Callable[..., Any], make_service: Callable[..., Any], org: Any, caseworker: Any) -> Any:
    case = make_case(org, assigned_to=caseworker)
    make_service(case, "shelter", status="in_progress")  # an open item on the closure checklist
    return case


def _approvals(app: Flask, case: Any) -> list[Any]:
    from casework.plans.models import CaseApproval

    with app.app_context():
        return list(
            session.execute(
                select(CaseApproval).where(CaseApproval.case_id == case.id).order_by(CaseApproval.requested_at)
            ).scalars()
        )


def test_goals_are_encrypted_and_shown_on_the_plan_tab(app: Flask, signed_in: Any, case: Any, caseworker: Any) -> None:
    from casework.plans.models import PlanGoal

    client = signed_in(caseworker)
    response = client.post(
        f"/cases/{case.id}/plan/goals/new",
        data={"domain": "housing", "description": "Zq find a safe flat", "status": "open", "target_on": ""},
    )
    assert response.status_code == 302 and "tab=plan" in response.headers["Location"]
    with app.app_context():
        goal = session.execute(select(PlanGoal).where(PlanGoal.case_id == case.id)).scalar_one()
        assert b"Zq find" not in goal.description_ct
        goal_id = goal.id
    page = client.get(f"/cases/{case.id}?tab=plan").get_data(as_text=True)
    assert "Zq find a safe flat" in page and "Housing" in page
    # A bad domain: a clear message, 400, nothing saved.
    bad = client.post(f"/cases/{case.id}/plan/goals/new", data={"domain": "moon", "description": "x"})
    assert bad.status_code == 400
    changed = client.post(
        f"/plan/goals/{goal_id}",
        data={"domain": "housing", "description": "Zq find a safe flat", "status": "achieved", "version_id": "1"},
    )
    assert changed.status_code == 302
    stale = client.post(
        f"/plan/goals/{goal_id}",
        data={"domain": "housing", "description": "Zq other", "status": "open", "version_id": "1"},
    )
    assert stale.status_code == 409


def test_a_supervisor_approves_a_plan_review_and_a_closure(
    app: Flask, signed_in: Any, case: Any, caseworker: Any, supervisor: Any
) -> None:
    from casework.cases.models import Case

    worker = signed_in(caseworker)
    review = worker.post(
        f"/cases/{case.id}/plan/review",
        data={
            "reviewed_on": TODAY.isoformat(),
            "next_review_on": (TODAY + timedelta(days=30)).isoformat(),
            "summary": "Zq plan on track",
        },
    )
    assert review.status_code == 302
    closure = worker.post(f"/cases/{case.id}/closure", data={"summary": "Zq goals met"})
    assert closure.status_code == 302
    plan_review, closure_request = _approvals(app, case)
    assert closure_request.checklist == {
        "open_tasks": 0,
        "open_services": 1,
        "live_referrals": 0,
        "sharing_consents": 0,
    }
    # A caseworker cannot decide.
    assert worker.get(f"/approvals/{plan_review.id}").status_code == 403

    boss = signed_in(supervisor)
    # Closing with an open service and no approved closure: refused, with the reason.
    refused = boss.post(f"/cases/{case.id}/close", data={"closed_on": TODAY.isoformat(), "version_id": "1"})
    assert refused.status_code == 400
    assert "a supervisor must approve its closure first" in refused.get_data(as_text=True)
    for approval in (plan_review, closure_request):
        assert boss.post(f"/approvals/{approval.id}", data={"decision": "approve", "note": ""}).status_code == 302
    assert [a.status for a in _approvals(app, case)] == ["approved", "approved"]
    plan = boss.get(f"/cases/{case.id}?tab=plan").get_data(as_text=True)
    assert (TODAY + timedelta(days=30)).isoformat() in plan and "Approved" in plan
    closed = boss.post(f"/cases/{case.id}/close", data={"closed_on": TODAY.isoformat(), "version_id": "1"})
    assert closed.status_code == 302
    with app.app_context():
        assert session.get(Case, case.id).status == "closed"
    assert _approvals(app, case)[1].used_at is not None


def test_an_approval_by_its_author_is_refused(
    app: Flask, signed_in: Any, case: Any, supervisor: Any, second_supervisor: Any
) -> None:
    from casework.audit.models import AuditEvent

    boss = signed_in(supervisor)
    assert boss.post(f"/cases/{case.id}/closure", data={"summary": "Zq done"}).status_code == 302
    (approval,) = _approvals(app, case)
    page = boss.get(f"/approvals/{approval.id}").get_data(as_text=True)
    assert 'id="own-request"' in page and 'id="decision-form"' not in page
    own = boss.post(f"/approvals/{approval.id}", data={"decision": "approve", "note": ""})
    assert own.status_code == 403
    assert "another supervisor must decide it" in own.get_data(as_text=True)
    assert _approvals(app, case)[0].status == "pending"
    with app.app_context():
        refusals = session.execute(
            select(AuditEvent.action).where(AuditEvent.case_id == case.id, AuditEvent.outcome == "refused")
        ).scalars()
        assert "approval.decide" in list(refusals)
    # Another supervisor may: sending back needs a note.
    other = signed_in(second_supervisor)
    assert other.post(f"/approvals/{approval.id}", data={"decision": "reject", "note": ""}).status_code == 400
    sent_back = other.post(f"/approvals/{approval.id}", data={"decision": "reject", "note": "Zq not yet"})
    assert sent_back.status_code == 302
    assert _approvals(app, case)[0].status == "rejected"
    # Decided once: a second decision is refused.
    assert other.post(f"/approvals/{approval.id}", data={"decision": "approve"}).status_code == 400


def test_closing_without_open_items_needs_no_approval(
    app: Flask, signed_in: Any, make_case: Callable[..., Any], org: Any, supervisor: Any
) -> None:
    case = make_case(org)
    boss = signed_in(supervisor)
    page = boss.get(f"/cases/{case.id}?tab=management").get_data(as_text=True)
    assert 'id="closure-checklist"' in page
    assert re.search(r'id="check-open_services">[^<]*: 0', page)
    closed = boss.post(f"/cases/{case.id}/close", data={"closed_on": TODAY.isoformat(), "version_id": "1"})
    assert closed.status_code == 302


def test_partners_and_visitors_never_reach_the_plan_forms(
    app: Flask,
    signed_in: Any,
    make_user: Callable[..., Any],
    make_org: Callable[..., Any],
    make_referral: Callable[..., Any],
    case: Any,
) -> None:
    partner_org = make_org("Shelter NGO", kind="partner_ngo")
    make_referral(case, partner_org, scope=("given_name", "case_plan"))
    partner = signed_in(make_user("partner", org=partner_org))
    for url in (f"/cases/{case.id}/plan/goals/new", f"/cases/{case.id}/plan/review", f"/cases/{case.id}/closure"):
        assert partner.get(url).status_code == 403
        assert partner.post(url, data={"summary": "x"}).status_code == 403


def test_actions_are_tasks_with_an_owner_and_a_due_date(
    app: Flask, signed_in: Any, case: Any, caseworker: Any, supervisor: Any
) -> None:
    from casework.plans.models import PlanAction, PlanGoal
    from casework.tasks.models import Task

    client = signed_in(caseworker)
    client.post(f"/cases/{case.id}/plan/goals/new", data={"domain": "legal_status", "description": "Zq permit"})
    with app.app_context():
        goal_id = session.execute(select(PlanGoal.id)).scalar_one()
    due = (TODAY + timedelta(days=7)).isoformat()
    data = {
        "title_code": "renew_permit",
        "title": "Zq at the prefecture",
        "assignee": str(supervisor.id),
        "due_on": due,
    }
    assert client.post(f"/plan/goals/{goal_id}/actions/new", data={**data, "due_on": ""}).status_code == 400
    assert client.post(f"/plan/goals/{goal_id}/actions/new", data=data).status_code == 302
    with app.app_context():
        task = session.execute(select(Task).join(PlanAction, PlanAction.task_id == Task.id)).scalar_one()
        assert (task.assignee_id, task.due_on.isoformat(), task.status) == (supervisor.id, due, "open")
    plan = client.get(f"/cases/{case.id}?tab=plan").get_data(as_text=True)
    assert "Zq at the prefecture" in plan and "Sam Supervisor" in plan and due in plan
    # The summary header counts it, with the next deadline; the closure checklist too.
    assert f"next due {due}" in plan
    management = signed_in(supervisor).get(f"/cases/{case.id}?tab=management").get_data(as_text=True)
    assert re.search(r'id="check-open_tasks"[^>]*>[^<]*: 1', management)
