"""A hearing or court date of a legal service gives a deadline (issue 18 follow-up)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from casework.assistance.models import LegalAssistance
from casework.db import session
from casework.tasks.models import Task

TODAY = date.today()
NOTICE = 3  # casework.tasks.derived.HEARING_NOTICE_DAYS


def hearing_tasks(app, case):
    with app.app_context():
        query = select(Task).where(Task.case_id == case.id, Task.source_kind == "hearing")
        return list(session.execute(query).scalars())


def add_legal(app, case, provider=None, **values):
    with app.app_context():
        service = LegalAssistance(case_id=case.id, status="in_progress", provider_org_id=provider, **values)
        session.add(service)
        session.commit()
        return service.id


def change(app, service_id, **values):
    with app.app_context():
        service = session.get(LegalAssistance, service_id)
        for name, value in values.items():
            setattr(service, name, value)
        session.commit()


def test_a_hearing_date_gives_a_deadline_that_moves_and_closes_with_it(app, world):
    service_id = add_legal(app, world.case, next_hearing_on=TODAY + timedelta(days=20))
    (task,) = hearing_tasks(app, world.case)
    assert task.due_on == TODAY + timedelta(days=20 - NOTICE) and task.status == "open"
    assert task.title_code == "deadline_hearing" and task.service_id == service_id
    change(app, service_id, next_hearing_on=TODAY + timedelta(days=40))
    (moved,) = hearing_tasks(app, world.case)
    assert moved.id == task.id and moved.due_on == TODAY + timedelta(days=40 - NOTICE)
    change(app, service_id, next_hearing_on=None)
    (cleared,) = hearing_tasks(app, world.case)
    assert cleared.status == "cancelled" and cleared.closed_by_id is None
    change(app, service_id, next_hearing_on=TODAY + timedelta(days=10))
    assert hearing_tasks(app, world.case)[0].status == "open"
    change(app, service_id, status="declined")
    assert hearing_tasks(app, world.case)[0].status == "cancelled"


def test_the_form_records_the_hearing_and_the_service_page_shows_it(app, client, login, world):
    from tests.assistance.conftest import GOOD

    login(client, world.caseworker)
    hearing = (TODAY + timedelta(days=12)).isoformat()
    response = client.post(
        f"/cases/{world.case.id}/assistance/legal/new", data={**GOOD["legal"], "next_hearing_on": hearing}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    (task,) = hearing_tasks(app, world.case)
    assert task.due_on == TODAY + timedelta(days=12 - NOTICE)
    page = client.get(f"/assistance/{task.service_id}").get_data(as_text=True)
    assert "Next hearing or court date" in page and hearing in page
    listed = client.get("/tasks/?due=all").get_data(as_text=True)
    assert "Hearing or court date" in listed


def test_a_partner_not_delivering_the_legal_service_does_not_see_its_hearing(app, client, login, world, make_referral):
    make_referral(world.case, world.partner_org)  # the partner reads the case
    add_legal(app, world.case, next_hearing_on=TODAY + timedelta(days=5))
    login(client, world.partner)
    assert "Hearing or court date" not in client.get("/tasks/?due=all").get_data(as_text=True)
    add_legal(app, world.case, provider=world.partner_org.id, next_hearing_on=TODAY + timedelta(days=6))
    listed = client.get("/tasks/?due=all").get_data(as_text=True)
    assert listed.count("Hearing or court date") == 1
