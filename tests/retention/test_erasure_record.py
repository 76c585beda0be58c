"""Issue 21: after erasure the organisation keeps a trail to the case: its reference, who erased
it, when and why (a reason code), listed for its supervisors and administrators; never anything
of the person, and never for another organisation."""

from __future__ import annotations

from casework.cases.models import Case
from casework.db import session
from tests.partners.world import FAMILY, GIVEN

REASON = "The person asked for all their records to be removed."


def erase(world, client=None, **overrides):
    client = client or world.client_for(world.supervisor)
    with world.app.app_context():
        version = session.get(Case, world.case.id).version_id
    data = {
        "reason": REASON,
        "reason_code": "person_request",
        "confirm_reference": world.case.reference,
        "version_id": version,
        **overrides,
    }
    return client.post(f"/cases/{world.case.id}/erase", data=data)


def test_the_erasure_record_lists_reference_who_when_and_why(world):
    assert erase(world).status_code == 302
    for user in (world.supervisor, world.admin):
        client = world.client_for(user)
        home = client.get("/", follow_redirects=True).get_data(as_text=True)
        assert "/erasures/" in home  # linked from the menu
        response = client.get("/erasures/")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert world.case.reference in page
        assert world.supervisor.display_name in page
        assert "The person asked for erasure" in page  # the reason code's label
        for victim_data in (GIVEN, FAMILY, REASON):
            assert victim_data not in page


def test_the_erasure_record_is_the_organisations_own(world, make_user):
    assert erase(world).status_code == 302
    other_supervisor = make_user("supervisor", org=world.other_lead)
    other_admin = make_user("admin", org=world.other_lead)
    for user in (other_supervisor, other_admin):
        page = world.client_for(user).get("/erasures/")
        assert page.status_code == 200 and world.case.reference not in page.get_data(as_text=True)
    for user in (world.caseworker, world.partner, world.researcher):
        assert world.client_for(user).get("/erasures/").status_code in (403, 404)


def test_an_erasure_needs_a_reason_code(world):
    for code in ("", "nonsense"):
        response = erase(world, reason_code=code)
        assert response.status_code == 400
        assert 'class="error-summary"' in response.get_data(as_text=True)
        with world.app.app_context():
            assert session.get(Case, world.case.id).erased_at is None


def test_an_erasure_by_the_retention_rule_is_on_the_record_as_such(world):
    from casework.admin import retention

    with world.app.app_context():
        retention.erase_case(
            session.get(Case, world.case.id), retention.RETENTION_REASON, actor=None, trigger="retention"
        )
        session.commit()
    page = world.client_for(world.supervisor).get("/erasures/").get_data(as_text=True)
    assert world.case.reference in page
    assert "The retention period ended" in page and "the system" in page
