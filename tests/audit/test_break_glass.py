"""Break-glass: a supervisor reads another organisation's case only with a written reason,
read-only, for four hours, at most a few times a day; the case is named by the person's
identifiers (never a guessable reference) or from the out-of-scope page; the grant is audited
(ids only), notified to the owner organisation's supervisors, and can be ended by them."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from casework import access
from casework.cases.models import BreakGlassAccess, BreakGlassDailyCount, Case
from casework.cases.services import refresh_blind_indexes
from casework.db import session, utcnow
from casework.notifications.models import Notification
from tests.audit.helpers import audit_events

REASON = "Police report a risk to the person tonight; owner agency unreachable by phone."
BOTH_DATABASES = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def outsider(make_org, make_user, login, app):
    """A supervisor of another lead agency, signed in."""
    supervisor = make_user("supervisor", org=make_org(kind="lead_agency"))
    client = app.test_client()
    login(client, supervisor)
    return supervisor, client


@pytest.fixture
def foreign_org(make_org):
    return make_org(kind="lead_agency")


@pytest.fixture
def foreign_case(app, foreign_org, make_case):
    case = make_case(
        foreign_org,
        given_name="Odalys",
        family_name="Breakglass",
        date_of_birth=date(1999, 4, 2),
        document_number="P 7788 9900",
    )
    with app.app_context():
        refresh_blind_indexes(session.get(Case, case.id))
        session.commit()
    return case


def grants(app):
    with app.app_context():
        rows = list(session.execute(select(BreakGlassAccess)).scalars())
        for row in rows:
            row.__dict__["reason_text"] = row.reason
        session.expunge_all()
        return rows


def in_scope(app, user_id, case_id) -> bool:
    from casework.auth.models import User

    with app.app_context():
        user = session.get(User, user_id)
        return session.execute(select(Case.id).where(Case.id == case_id, access.case_scope(user))).first() is not None


def ask(client, case_id, reason=REASON):
    return client.post(f"/cases/{case_id}/break-glass", data={"reason": reason})


def test_grant_with_reason_opens_the_case_read_only_for_four_hours(app, outsider, foreign_case):
    supervisor, client = outsider
    assert not in_scope(app, supervisor.id, foreign_case.id)
    response = ask(client, foreign_case.id)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{foreign_case.id}")
    (grant,) = grants(app)
    assert grant.user_id == supervisor.id and grant.case_id == foreign_case.id
    assert grant.__dict__["reason_text"] == REASON
    assert timedelta(hours=3, minutes=59) < grant.expires_at - utcnow() <= timedelta(hours=4)
    assert in_scope(app, supervisor.id, foreign_case.id)
    (event,) = audit_events(app, "case.break_glass")
    assert event.case_id == foreign_case.id and event.actor_id == supervisor.id and event.outcome == "ok"
    assert event.details["grant_id"] == str(grant.id)
    assert REASON not in str(event.details) and "Police" not in str(event.details)
    page = client.get(f"/cases/{foreign_case.id}").get_data(as_text=True)
    assert "Breakglass" in page and 'id="break-glass-banner"' in page


def test_expired_grant_closes_the_case_again(app, outsider, foreign_case):
    supervisor, client = outsider
    ask(client, foreign_case.id)
    with app.app_context():
        grant = session.execute(select(BreakGlassAccess)).scalar_one()
        grant.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    assert not in_scope(app, supervisor.id, foreign_case.id)
    assert client.get(f"/cases/{foreign_case.id}").status_code == 404


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
    response = ask(client, foreign_case.id, reason)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert grants(app) == []


def test_unknown_own_and_already_open_cases_get_the_same_answer(app, outsider, make_case, foreign_case):
    import uuid

    supervisor, client = outsider
    own_case = make_case(supervisor.organisation)
    assert ask(client, foreign_case.id).status_code == 302
    answers = [ask(client, case_id) for case_id in (uuid.uuid4(), own_case.id, foreign_case.id)]
    message = "Emergency access cannot be given to this case"
    assert all(a.status_code == 400 and message in a.get_data(as_text=True) for a in answers)
    assert len(grants(app)) == 1
    refusals = audit_events(app, "case.break_glass", outcome="refused")
    assert len(refusals) == 3 and all(event.case_id is None for event in refusals)


def test_erased_cases_cannot_be_opened(app, outsider, make_org, make_case):
    _supervisor, client = outsider
    erased = make_case(make_org(kind="lead_agency"), erased_at=utcnow())
    assert ask(client, erased.id).status_code == 400
    assert grants(app) == []


@pytest.mark.parametrize(
    "criteria",
    [
        {"full_name": "odalys BREAKGLASS", "date_of_birth": "1999-04-02"},
        {"document_number": "p77889900"},
    ],
)
def test_search_by_the_persons_identifiers_offers_the_case(app, outsider, foreign_case, criteria):
    _supervisor, client = outsider
    response = client.post("/cases/break-glass", data=criteria)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"/cases/{foreign_case.id}/break-glass" in page
    assert foreign_case.reference not in page and "Odalys" not in page.split("<main")[1].split("</form>")[1]
    (event,) = audit_events(app, "case.break_glass_search")
    assert event.details["results"] == 1 and "Odalys" not in str(event.details)


@pytest.mark.parametrize(
    "criteria",
    [
        {"full_name": "Odalys Breakglass"},  # a name alone would let anyone probe who is registered where
        {"date_of_birth": "1999-04-02"},
        {"full_name": "CT-2025-000001"},
    ],
)
def test_weak_criteria_are_refused(app, outsider, foreign_case, criteria):
    _supervisor, client = outsider
    response = client.post("/cases/break-glass", data=criteria)
    assert response.status_code == 400
    assert f"/cases/{foreign_case.id}/break-glass" not in response.get_data(as_text=True)


def test_search_does_not_find_the_supervisors_own_cases_or_wrong_dates(app, outsider, make_case, foreign_case):
    supervisor, client = outsider
    mine = make_case(
        supervisor.organisation, given_name="Odalys", family_name="Breakglass", date_of_birth=date(1999, 4, 2)
    )
    with app.app_context():
        refresh_blind_indexes(session.get(Case, mine.id))
        session.commit()
    page = client.post("/cases/break-glass", data={"full_name": "Odalys Breakglass", "date_of_birth": "1999-04-02"})
    body = page.get_data(as_text=True)
    assert f"/cases/{mine.id}/break-glass" not in body and f"/cases/{foreign_case.id}/break-glass" in body
    other = client.post("/cases/break-glass", data={"full_name": "Odalys Breakglass", "date_of_birth": "1999-04-03"})
    assert f"/cases/{foreign_case.id}" not in other.get_data(as_text=True)


def test_the_out_of_scope_page_offers_emergency_access_whatever_the_id(app, outsider, foreign_case):
    import uuid

    _supervisor, client = outsider
    for case_id in (foreign_case.id, uuid.uuid4()):
        response = client.get(f"/cases/{case_id}")
        assert response.status_code == 404
        assert f"/cases/{case_id}/break-glass" in response.get_data(as_text=True)


def test_the_out_of_scope_page_offers_nothing_to_a_caseworker(app, make_user, login, foreign_case):
    client = app.test_client()
    login(client, make_user("caseworker"))
    assert "break-glass" not in client.get(f"/cases/{foreign_case.id}").get_data(as_text=True)


def test_the_owner_is_notified_and_ends_the_access(app, outsider, foreign_org, foreign_case, make_user, login):
    supervisor, client = outsider
    ask(client, foreign_case.id)
    with app.app_context():
        (notice,) = session.execute(select(Notification)).scalars()
        assert notice.organisation_id == foreign_org.id and notice.kind == "break_glass.granted"
    owner = make_user("supervisor", org=foreign_org)
    owner_client = app.test_client()
    login(owner_client, owner)
    (grant,) = grants(app)
    page = owner_client.get("/notifications/").get_data(as_text=True)
    assert f"/break-glass/{grant.id}/end" in page
    assert owner_client.post(f"/break-glass/{grant.id}/end", data={}).status_code == 302
    assert not in_scope(app, supervisor.id, foreign_case.id)
    ended = audit_events(app, "case.break_glass_end")
    assert len(ended) == 1 and ended[0].actor_id == owner.id
    # Nobody else ends it: another organisation's supervisor gets a 404.
    stranger = app.test_client()
    login(stranger, make_user("supervisor"))
    assert stranger.post(f"/break-glass/{grant.id}/end", data={}).status_code == 404


def test_the_visitor_ends_its_own_access(app, outsider, foreign_case):
    supervisor, client = outsider
    ask(client, foreign_case.id)
    (grant,) = grants(app)
    assert client.post(f"/break-glass/{grant.id}/end", data={}).status_code == 302
    assert not in_scope(app, supervisor.id, foreign_case.id)


def test_the_daily_cap_is_configurable(make_app, make_org, make_user, make_case, login):
    app = make_app(break_glass_daily_cap=1)
    supervisor = make_user("supervisor", org=make_org(kind="lead_agency"))
    client = app.test_client()
    login(client, supervisor)
    owner = make_org(kind="lead_agency")
    first, second = make_case(owner), make_case(owner)
    assert ask(client, first.id).status_code == 302
    refused = ask(client, second.id)
    assert refused.status_code == 429 and "1 emergency accesses allowed per day" in refused.get_data(as_text=True)
    assert audit_events(app, "case.break_glass", outcome="refused")[0].details["reason"] == "daily_cap"


@pytest.mark.parametrize("database", BOTH_DATABASES)
def test_a_concurrent_burst_never_exceeds_the_cap(app, make_org, make_user, make_case, database):
    """Eight requests of one supervisor at once, for eight cases, with a cap of 3: exactly three
    grants, and the day's count says 3."""
    from casework.audit import break_glass
    from casework.auth.models import User

    cap = app.config["CASEWORK"].break_glass_daily_cap
    supervisor = make_user("supervisor", org=make_org(kind="lead_agency"))
    owner = make_org(kind="lead_agency")
    cases = [make_case(owner) for _ in range(8)]
    start = threading.Barrier(len(cases))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(case_id) -> None:
        with app.test_request_context():
            user = session.get(User, supervisor.id)
            start.wait()
            try:
                break_glass.grant_access(user, case_id, REASON)
                session.commit()
                outcome = "granted"
            except break_glass.BreakGlassCapReached:
                session.commit()
                outcome = "capped"
            except Exception as error:  # noqa: BLE001 - reported below
                session.rollback()
                outcome = f"error {type(error).__name__}: {error}"
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(case.id,)) for case in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["capped"] * (len(cases) - cap) + ["granted"] * cap, outcomes
    with app.app_context():
        assert session.execute(select(func.count()).select_from(BreakGlassAccess)).scalar_one() == cap
        assert session.execute(select(BreakGlassDailyCount.grants)).scalar_one() == cap


@pytest.mark.parametrize("role", ["caseworker", "partner", "researcher", "admin"])
def test_only_supervisors_may_break_glass(app, make_user, login, foreign_case, role):
    client = app.test_client()
    login(client, make_user(role))
    assert client.get("/cases/break-glass").status_code == 403
    assert ask(client, foreign_case.id).status_code == 403
    assert grants(app) == []


def test_anonymous_is_sent_to_sign_in(client, foreign_case):
    response = ask(client, foreign_case.id)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_without_csrf_token_nothing_is_granted(app, outsider, foreign_case):
    _supervisor, client = outsider
    response = client.post(f"/cases/{foreign_case.id}/break-glass", data={"reason": REASON}, csrf=False)
    assert response.status_code == 400
    assert grants(app) == []


@pytest.mark.parametrize("page", ["timeline", "consents", "summary"])
def test_every_out_of_scope_page_of_a_case_offers_emergency_access(app, outsider, foreign_case, page):
    """Issue 21: not only the case file: a link to any page of the case (a notice, a colleague's
    message) out of scope is a 404 that offers the way on."""
    _supervisor, client = outsider
    response = client.get(f"/cases/{foreign_case.id}/{page}")
    assert response.status_code == 404
    assert f"/cases/{foreign_case.id}/break-glass" in response.get_data(as_text=True)


def test_the_supervisors_tools_are_linked(app, make_org, make_user, login, make_case):
    """Issue 21: emergency access from the menu, who looked at the case from the case file."""
    org = make_org(kind="lead_agency")
    supervisor = make_user("supervisor", org=org)
    case = make_case(org)
    client = app.test_client()
    login(client, supervisor)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'href="/cases/break-glass"' in page  # the menu
    assert f'href="/audit/cases/{case.id}"' in page  # who opened or changed this case
