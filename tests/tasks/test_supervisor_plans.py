"""The supervisor's work list: cases without a plan, and plan reviews due (issue 18 follow-up)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from casework import access
from casework.db import session
from casework.plans.models import PlanGoal
from casework.tasks.models import Task

TODAY = date.today()


def add_goal(app, case):
    with app.app_context():
        session.add(PlanGoal(case_id=case.id, domain="safety"))
        session.commit()


def approve_review(granted, world, case, next_review_on):
    from casework.plans import services

    with granted(world.caseworker, case) as grant:
        approval_id = services.request_review(grant, TODAY - timedelta(days=1), next_review_on, None).id
    with granted(world.supervisor, case, access.Permission.PLAN_APPROVE) as grant:
        from casework.plans.models import CaseApproval

        services.decide(grant, session.get(CaseApproval, approval_id), True, None)
    return approval_id


def review_tasks(app, case):
    with app.app_context():
        query = select(Task).where(Task.case_id == case.id, Task.source_kind == "plan_review")
        return list(session.execute(query).scalars())


def test_supervisor_sees_the_cases_without_a_plan_and_their_list(app, client, login, world, make_case):
    planned = make_case(world.lead, assigned_to=world.caseworker, given_name="Dana", family_name="Lee")
    add_goal(app, planned)
    make_case(world.other_org, given_name="Eve", family_name="Other")  # another organisation's
    login(client, world.supervisor)
    page = client.get("/home").get_data(as_text=True)
    assert 'id="team-no-plan"' in page and "Cases without a plan: 1" in page
    link = "/cases/?view=org&amp;status=active&amp;no_plan=y"
    assert f'href="{link}"' in page
    listed = client.get(link.replace("&amp;", "&"))
    assert listed.status_code == 200
    text = listed.get_data(as_text=True)
    assert world.case.reference in text and planned.reference not in text


def test_plan_reviews_due_within_a_week_are_counted_and_listed(app, client, login, world, make_case, granted):
    later = make_case(world.lead, assigned_to=world.caseworker, given_name="Dana", family_name="Lee")
    approve_review(granted, world, world.case, TODAY + timedelta(days=3))
    approve_review(granted, world, later, TODAY + timedelta(days=30))
    (task,) = review_tasks(app, world.case)
    assert task.due_on == TODAY + timedelta(days=3) and task.title_code == "deadline_plan_review"
    login(client, world.supervisor)
    page = client.get("/home").get_data(as_text=True)
    assert "Plan reviews due: 1" in page
    link = "/tasks/?due=soon&amp;scope=team&amp;kind=plan_review"
    assert f'href="{link}"' in page
    listed = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert listed.count('<tr id="task-') == 1 and world.case.reference in listed and "Plan review due" in listed
    assert client.get("/tasks/?kind=bogus").status_code == 400
    client.post("/auth/logout")
    # A later approved review replaces the earlier one: only the latest one's date is due.
    approve_review(granted, world, world.case, TODAY + timedelta(days=90))
    statuses = sorted((t.due_on, t.status) for t in review_tasks(app, world.case))
    assert statuses == [(TODAY + timedelta(days=3), "cancelled"), (TODAY + timedelta(days=90), "open")]
    login(client, world.supervisor)
    assert "Plan reviews due: 0" in client.get("/home").get_data(as_text=True)
