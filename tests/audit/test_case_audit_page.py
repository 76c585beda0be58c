"""The case audit trail: for the owner organisation's supervisors, newest first, paginated,
actor names resolved in one query, and break-glass grants with their reasons."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event as sa_event

from casework.audit import writer
from casework.db import get_db, session
from tests.audit.helpers import audit_events

REASON = "Hospital called: the person is admitted and needs their medical history now."


@pytest.fixture
def owner(make_org, make_user):
    org = make_org(kind="lead_agency")
    return org, make_user("supervisor", org=org, display_name="Owner Supervisor")


def case_events(app, case, actors, count=1, action="case.view"):
    with app.app_context():
        for number in range(count):
            writer.record(action, case_id=case.id, actor=actors[number % len(actors)])
        session.commit()


def test_owner_supervisor_sees_who_looked_at_the_case(app, owner, make_user, make_case, login):
    org, supervisor = owner
    worker = make_user("caseworker", org=org, display_name="Careful Caseworker")
    case = make_case(org, assigned_to=worker)
    case_events(app, case, [worker])
    case_events(app, case, [worker], action="case.update")
    client = app.test_client()
    login(client, supervisor)
    response = client.get(f"/audit/cases/{case.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Careful Caseworker" in page and case.reference in page
    shown = [int(number) for number in re.findall(r"<tr>\s*<td>(\d+)</td>", page)]
    assert len(shown) == 3 and shown == sorted(shown, reverse=True)  # newest first
    assert "no-store" in response.headers["Cache-Control"]
    (view,) = audit_events(app, "case.view", case_id=case.id, actor_id=supervisor.id)
    assert view.details == {"endpoint": "audit.case_events"}


def test_break_glass_by_another_organisation_is_shown_with_its_reason(
    app, owner, make_org, make_user, make_case, login
):
    org, supervisor = owner
    case = make_case(org)
    outsider_org = make_org(name="Neighbouring Agency", kind="lead_agency")
    outsider = make_user("supervisor", org=outsider_org, display_name="Night Duty Supervisor")
    outsider_client = app.test_client()
    login(outsider_client, outsider)
    assert outsider_client.post(f"/cases/{case.id}/break-glass", data={"reason": REASON}).status_code == 302

    client = app.test_client()
    login(client, supervisor)
    page = client.get(f"/audit/cases/{case.id}").get_data(as_text=True)
    assert REASON in page
    assert "Night Duty Supervisor" in page and "Neighbouring Agency" in page
    assert "case.break_glass" in page

    # The outsider may open the case for now, but not its audit trail.
    assert outsider_client.get(f"/audit/cases/{case.id}").status_code == 403


def test_actor_names_are_resolved_in_one_query(app, owner, make_user, make_case, login):
    org, supervisor = owner
    case_few = make_case(org)
    case_many = make_case(org)
    actors = [make_user("caseworker", org=org) for _ in range(6)]
    case_events(app, case_few, actors[:1], count=12)
    case_events(app, case_many, actors, count=12)
    client = app.test_client()
    login(client, supervisor)

    def user_queries(url: str) -> int:
        statements: list[str] = []

        def count(_conn, _cursor, statement, *_args):
            statements.append(statement)

        engine = get_db(app).engine
        sa_event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            sa_event.remove(engine, "before_cursor_execute", count)
        return sum(1 for s in statements if "FROM users" in s)

    assert user_queries(f"/audit/cases/{case_many.id}") == user_queries(f"/audit/cases/{case_few.id}")


def test_pagination(app, owner, make_user, make_case, login):
    org, supervisor = owner
    case = make_case(org)
    case_events(app, case, [supervisor], count=55)
    client = app.test_client()
    login(client, supervisor)
    first = client.get(f"/audit/cases/{case.id}").get_data(as_text=True)
    assert f"/audit/cases/{case.id}?page=2" in first
    second = client.get(f"/audit/cases/{case.id}?page=2").get_data(as_text=True)
    assert second.count("<tr>") < first.count("<tr>")


def test_who_may_not_read_a_case_trail(app, owner, make_org, make_user, make_case, make_referral, login):
    org, _supervisor = owner
    worker = make_user("caseworker", org=org)
    case = make_case(org, assigned_to=worker)
    partner_org = make_org(kind="partner_ngo")
    partner = make_user("partner", org=partner_org)
    make_referral(case, partner_org)
    other_supervisor = make_user("supervisor", org=make_org(kind="lead_agency"))
    expectations = [
        (worker, 403),
        (partner, 403),
        (make_user("admin"), 403),
        (make_user("researcher"), 403),
        (other_supervisor, 404),
    ]
    for user, status in expectations:
        client = app.test_client()
        login(client, user)
        assert client.get(f"/audit/cases/{case.id}").status_code == status, user.role
    assert app.test_client().get(f"/audit/cases/{case.id}").status_code == 302
    refused = audit_events(app, outcome="refused", case_id=case.id)
    assert {event.actor_id for event in refused} >= {other_supervisor.id}
