"""Issue 21: a partner finds the services it recorded (its own organisation's, on the cases it
may still see) and gets back to view or edit them."""

from __future__ import annotations

from sqlalchemy import update

from casework.consent.models import Consent
from casework.db import session


def test_my_services_lists_the_partners_own_services_with_view_and_edit_links(
    client, login, make_referral, make_service, make_case, world
):
    make_referral(world.case, world.partner_org, service_kind="shelter")
    mine = make_service(world.case, "shelter", provider=world.partner_org, status="in_progress")
    theirs = make_service(world.case, "medical", provider=world.lead)
    not_referred = make_case(world.lead, assigned_to=world.caseworker)
    elsewhere = make_service(not_referred, "legal", provider=world.partner_org)
    login(client, world.partner)
    response = client.get("/partners/services")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"/assistance/{mine.id}" in page and f"/assistance/{mine.id}/edit" in page
    assert str(theirs.id) not in page  # another organisation's service
    assert str(elsewhere.id) not in page and not_referred.reference not in page  # a case it may not see
    assert world.case.reference in page
    case_page = client.get(f"/partners/cases/{world.case.id}").get_data(as_text=True)
    assert f"/assistance/{mine.id}/edit" in case_page  # and from the case page too
    portal = client.get("/partners/portal").get_data(as_text=True)
    assert "/partners/services" in portal


def test_my_services_forgets_a_case_once_consent_is_withdrawn(client, login, make_referral, make_service, world):
    referral = make_referral(world.case, world.partner_org, service_kind="shelter")
    mine = make_service(world.case, "shelter", provider=world.partner_org)
    with client.application.app_context():
        session.execute(
            update(Consent).where(Consent.id == referral.consent_id).values(withdrawn_on=referral.created_at.date())
        )
        session.commit()
    login(client, world.partner)
    page = client.get("/partners/services").get_data(as_text=True)
    assert str(mine.id) not in page and world.case.reference not in page


def test_my_services_is_the_partners_only(client, login, world):
    for user in (world.caseworker, world.supervisor):
        login(client, user)
        assert client.get("/partners/services").status_code in (403, 404)
