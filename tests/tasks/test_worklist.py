"""The work list home page, derived deadlines, task forms and who may reach them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from casework.assistance.models import LegalAssistance
from casework.db import session
from casework.tasks.derived import PERMIT_NOTICE_DAYS
from casework.tasks.models import Task

TODAY = date.today()


def tasks_of(app, case):
    with app.app_context():
        return list(session.execute(select(Task).where(Task.case_id == case.id).order_by(Task.due_on)).scalars())


def add_permit(app, case, expires_on, provider=None):
    with app.app_context():
        service = LegalAssistance(case_id=case.id, status="in_progress", permit_expires_on=expires_on)
        session.add(service)
        session.commit()
        return service.id


def test_home_is_the_work_list_with_deadlines_from_recorded_dates(app, client, login, world):
    add_permit(app, world.case, TODAY + timedelta(days=PERMIT_NOTICE_DAYS + 2))  # renewal due in 2 days
    add_permit(app, world.case, TODAY + timedelta(days=PERMIT_NOTICE_DAYS - 5))  # overdue by 5 days
    login(client, world.caseworker)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/home")
    page = client.get("/home").get_data(as_text=True)
    assert "1 overdue" in page and "1 due within a week" in page
    assert 'href="/tasks/?due=overdue"' in page
    overdue = client.get("/tasks/?due=overdue").get_data(as_text=True)
    assert "Residence permit expires" in overdue and world.case.reference in overdue
    assert "Statistics are on the dashboard" in page


def test_changing_the_source_date_moves_the_task_and_ending_it_cancels(app, world):
    service_id = add_permit(app, world.case, TODAY + timedelta(days=60))
    (task,) = tasks_of(app, world.case)
    assert task.due_on == TODAY + timedelta(days=60 - PERMIT_NOTICE_DAYS) and task.source_kind == "permit_expiry"
    with app.app_context():
        session.get(LegalAssistance, service_id).permit_expires_on = TODAY + timedelta(days=90)
        session.commit()
    (moved,) = tasks_of(app, world.case)
    assert moved.id == task.id and moved.due_on == TODAY + timedelta(days=90 - PERMIT_NOTICE_DAYS)
    with app.app_context():
        session.get(LegalAssistance, service_id).status = "declined"
        session.commit()
    (ended,) = tasks_of(app, world.case)
    assert ended.status == "cancelled" and ended.closed_by_id is None


def test_consents_and_pending_referrals_give_deadlines(app, world, make_consent, make_referral):
    make_consent(world.case, "assistance", expires_on=TODAY + timedelta(days=20))
    referral = make_referral(world.case, world.partner_org, status="pending")
    kinds = {task.source_kind: task for task in tasks_of(app, world.case)}
    assert kinds["consent_expiry"].due_on == TODAY + timedelta(days=6)
    assert kinds["referral_unanswered"].status == "open"
    from casework.partners.models import Referral

    with app.app_context():
        session.get(Referral, referral.id).status = "accepted"
        session.commit()
    kinds = {task.source_kind: task for task in tasks_of(app, world.case)}
    assert kinds["referral_unanswered"].status == "cancelled"


def test_sync_derives_deadlines_of_older_records_once(app, runner, world):
    add_permit(app, world.case, TODAY + timedelta(days=60))
    with app.app_context():
        session.execute(Task.__table__.delete())
        session.commit()
    assert runner.invoke(args=["tasks", "sync"]).exit_code == 0
    assert runner.invoke(args=["tasks", "sync"]).exit_code == 0
    assert len(tasks_of(app, world.case)) == 1


def test_caseworker_adds_completes_and_reassigns_a_task(app, client, login, world):
    login(client, world.caseworker)
    bad = client.post(f"/cases/{world.case.id}/tasks/new", data={"title_code": "other", "due_on": "2026-13-01"})
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "Describe the task." in text or "Enter a date" in text or "Not a valid date" in text
    assert tasks_of(app, world.case) == []
    past = (TODAY - timedelta(days=1)).isoformat()
    response = client.post(f"/cases/{world.case.id}/tasks/new", data={"title_code": "visit", "due_on": past})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    assert "in the past" in client.get(response.headers["Location"]).get_data(as_text=True)
    (task,) = tasks_of(app, world.case)
    edit = client.post(
        f"/tasks/{task.id}/edit", data={"due_on": past, "assignee": str(world.supervisor.id), "version_id": "1"}
    )
    assert edit.status_code == 302
    done = client.post(f"/tasks/{task.id}/status", data={"action": "done", "version_id": "2"})
    assert done.status_code == 302
    (task,) = tasks_of(app, world.case)
    assert task.status == "done" and task.assignee_id == world.supervisor.id
    stale = client.post(f"/tasks/{task.id}/status", data={"action": "open", "version_id": "1"})
    assert stale.status_code == 409


def test_tasks_stay_within_the_access_policy(app, client, login, world, make_referral):
    add_permit(app, world.case, TODAY + timedelta(days=35))
    (task,) = tasks_of(app, world.case)
    for user in (world.colleague, world.outsider):
        login(client, user)
        assert client.get(f"/tasks/{task.id}").status_code == 404
        assert client.post(f"/tasks/{task.id}/status", data={"action": "done", "version_id": "1"}).status_code == 404
        assert client.post(f"/cases/{world.case.id}/tasks/new", data={"title_code": "visit"}).status_code == 404
        assert "Residence permit" not in client.get("/tasks/?due=all").get_data(as_text=True)
        client.post("/auth/logout")
    make_referral(world.case, world.partner_org)  # accepted: the partner reads the case...
    login(client, world.partner)
    assert client.get(f"/tasks/{task.id}").status_code == 404  # ...but not another provider's task
    assert "Residence permit" not in client.get("/tasks/?due=all").get_data(as_text=True)
    assert tasks_of(app, world.case)[0].status == "open"


@pytest.mark.parametrize("role", ["researcher", "admin"])
def test_roles_without_tasks_are_refused(client, login, make_user, role):
    login(client, make_user(role))
    assert client.get("/home").status_code == 403
    assert client.get("/tasks/").status_code == 403


def test_home_page_query_count_does_not_grow_with_tasks(app, client, login, world, query_counter):
    login(client, world.caseworker)
    add_permit(app, world.case, TODAY)
    client.get("/home")
    with query_counter() as few:
        client.get("/home")
    for days in range(29):
        add_permit(app, world.case, TODAY + timedelta(days=days))
    with query_counter() as many:
        client.get("/home")
    assert many.n == few.n
    with app.app_context():
        assert session.execute(select(func.count(Task.id))).scalar_one() == 30


def test_supervisor_sees_the_team_and_their_own_tasks(app, client, login, world, granted):
    from casework.tasks import services

    add_permit(app, world.case, TODAY + timedelta(days=PERMIT_NOTICE_DAYS - 1))  # the caseworker's, overdue
    with granted(world.caseworker, world.case) as grant:
        services.create_task(
            grant, title_code="visit", due_on=TODAY + timedelta(days=1), assignee_id=world.supervisor.id
        )
    login(client, world.supervisor)
    page = client.get("/home").get_data(as_text=True)
    assert 'id="team-overdue">1 overdue' in page and 'id="count-week">1 due within a week' in page
    assert 'id="count-overdue">0 overdue' in page
    assert "Residence permit expires" in client.get("/tasks/?due=overdue&scope=team").get_data(as_text=True)
    assert client.get("/tasks/?due=bogus").status_code == 400


def test_a_cases_task_page_lists_every_task_of_the_case(app, client, login, world, granted):
    from casework.tasks import services

    with granted(world.caseworker, world.case) as grant:
        services.create_task(grant, title_code="visit", due_on=TODAY, assignee_id=world.supervisor.id)
        services.create_task(grant, title_code="other", title="Ring the lawyer", due_on=TODAY)
    login(client, world.caseworker)
    page = client.get(f"/cases/{world.case.id}/tasks").get_data(as_text=True)
    assert page.count('<tr id="task-') == 2
    assert "Ring the lawyer" not in page  # free text only on the task's own page


def test_a_partner_sees_the_tasks_of_services_it_delivers_with_free_text_masked(
    app, client, login, world, granted, make_referral
):
    from casework.assistance.models import MedicalAssistance
    from casework.tasks import services

    make_referral(world.case, world.partner_org, scope=("age",))  # the name is not shared
    with app.app_context():
        service = MedicalAssistance(
            case_id=world.case.id, status="in_progress", provider_org_id=world.partner_org.id, follow_up_on=TODAY
        )
        session.add(service)
        session.commit()
        service_id = service.id
    with granted(world.caseworker, world.case) as grant:
        typed = services.create_task(
            grant, title_code="other", title="Drive Amara to the clinic", due_on=TODAY, service_id=service_id
        )
        typed_id = typed.id
    login(client, world.partner)
    listed = client.get("/tasks/?due=all").get_data(as_text=True)
    assert listed.count('<tr id="task-') == 2 and "Medical follow-up due" in listed
    page = client.get(f"/tasks/{typed_id}").get_data(as_text=True)
    assert "to the clinic" in page and "Amara" not in page  # masked by the referral's scope
    assert client.post(f"/tasks/{typed_id}/status", data={"action": "done", "version_id": "1"}).status_code == 403
