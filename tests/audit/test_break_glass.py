"""Break-glass: a supervisor opens a case outside their scope only with a written reason; the
grant expires, is audited (ids only) and the owner organisation sees it with the reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from casework import access
from casework.cases.models import BreakGlassAccess, Case
from casework.db import session, utcnow
from tests.audit.helpers import audit_events

REASON = "Police report a risk to the person tonight; owner agency unreachable by phone."


@pytest.fixture
def outsider(make_org, make_user, login, app):
    """A supervisor of another lead agency, signed in."""
    supervisor = make_user("supervisor", org=make_org(kind="lead_agency"))
    client = app.test_client()
    login(client, supervisor)
    return supervisor, client


@pytest.fixture
def foreign_case(make_org, make_case):
    return make_case(make_org(kind="lead_agency"), given_name="Odalys", family_name="Breakglass")


def grants(app):
    with app.app_context():
        rows = list(session.execute(select(BreakGlassAccess)).scalars())
        session.expunge_all()
        return rows


def in_scope(app, user_id, case_id) -> bool:
    from casework.auth.models import User

    with app.app_context():
        user = session.get(User, user_id)
        return session.execute(select(Case.id).where(Case.id == case_id, access.case_scope(user))).first() is not None


def test_grant_with_reason_opens_the_case_for_four_hours(app, outsider, foreign_case):
    supervisor, client = outsider
    assert not in_scope(app, supervisor.id, foreign_case.id)
    response = client.post("/cases/break-glass", data={"reference": foreign_case.reference.lower(), "reason": REASON})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{foreign_case.id}")
    (grant,) = grants(app)
    assert grant.user_id == supervisor.id and grant.case_id == foreign_case.id and grant.reason == REASON
    assert timedelta(hours=3, minutes=59) < grant.expires_at - utcnow() <= timedelta(hours=4)
    assert in_scope(app, supervisor.id, foreign_case.id)
    (event,) = audit_events(app, "case.break_glass")
    assert event.case_id == foreign_case.id and event.actor_id == supervisor.id and event.outcome == "ok"
    assert event.details["grant_id"] == str(grant.id)
    assert REASON not in str(event.details) and "Police" not in str(event.details)


def test_expired_grant_closes_the_case_again(app, outsider, foreign_case, raw_sql):
    supervisor, client = outsider
    client.post("/cases/break-glass", data={"reference": foreign_case.reference, "reason": REASON})
    with app.app_context():
        grant = session.execute(select(BreakGlassAccess)).scalar_one()
        grant.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    assert not in_scope(app, supervisor.id, foreign_case.id)


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "This field is required"),
        ("need it", "at least 20 characters"),
        ("   short but padded       ", "at least 20 characters"),
        ("x" * 1001, "1000"),
        ("An urgent safety visit\x00 is needed right now", "control characters"),
    ],
)
def test_reason_is_required(app, outsider, foreign_case, reason, message):
    _supervisor, client = outsider
    response = client.post("/cases/break-glass", data={"reference": foreign_case.reference, "reason": reason})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert foreign_case.reference in page  # the input is kept
    assert grants(app) == []


def test_unknown_and_already_open_references_get_the_same_answer(app, outsider, make_case, foreign_case):
    supervisor, client = outsider
    own_case = make_case(supervisor.organisation)
    unknown = client.post("/cases/break-glass", data={"reference": "CT-1999-999999", "reason": REASON})
    own = client.post("/cases/break-glass", data={"reference": own_case.reference, "reason": REASON})
    assert unknown.status_code == own.status_code == 400
    message = "No case can be opened with emergency access under this reference"
    assert message in unknown.get_data(as_text=True) and message in own.get_data(as_text=True)
    assert grants(app) == []
    refusals = audit_events(app, "case.break_glass", outcome="refused")
    assert len(refusals) == 2 and all(event.case_id is None for event in refusals)


def test_a_second_grant_while_one_is_active_is_refused_alike(app, outsider, foreign_case):
    _supervisor, client = outsider
    assert (
        client.post("/cases/break-glass", data={"reference": foreign_case.reference, "reason": REASON}).status_code
        == 302
    )
    again = client.post("/cases/break-glass", data={"reference": foreign_case.reference, "reason": REASON})
    assert again.status_code == 400
    assert len(grants(app)) == 1


def test_malformed_and_erased_references(app, outsider, make_org, make_case):
    _supervisor, client = outsider
    response = client.post("/cases/break-glass", data={"reference": "Amina Testcase", "reason": REASON})
    assert response.status_code == 400 and "CT-2026-000123" in response.get_data(as_text=True)
    erased = make_case(make_org(kind="lead_agency"), erased_at=utcnow())
    response = client.post("/cases/break-glass", data={"reference": erased.reference, "reason": REASON})
    assert response.status_code == 400
    assert grants(app) == []


def test_the_reference_is_never_taken_from_the_query_string(app, outsider, foreign_case):
    _supervisor, client = outsider
    response = client.get(f"/cases/break-glass?reference={foreign_case.reference}&reason={REASON}")
    assert response.status_code == 200
    assert 'method="post"' in response.get_data(as_text=True)
    assert grants(app) == []


@pytest.mark.parametrize("role", ["caseworker", "partner", "researcher", "admin"])
def test_only_supervisors_may_break_glass(app, make_user, login, foreign_case, role):
    client = app.test_client()
    login(client, make_user(role))
    assert client.get("/cases/break-glass").status_code == 403
    response = client.post("/cases/break-glass", data={"reference": foreign_case.reference, "reason": REASON})
    assert response.status_code == 403
    assert grants(app) == []


def test_anonymous_is_sent_to_sign_in(client, foreign_case):
    response = client.post("/cases/break-glass", data={"reference": foreign_case.reference, "reason": REASON})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_without_csrf_token_nothing_is_granted(app, outsider, foreign_case):
    _supervisor, client = outsider
    response = client.post(
        "/cases/break-glass", data={"reference": foreign_case.reference, "reason": REASON}, csrf=False
    )
    assert response.status_code == 400
    assert grants(app) == []
