"""A partner records the assistance it delivered on cases referred to it, and sees only that."""

from __future__ import annotations

from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.db import session
from tests.assistance.conftest import GOOD, count_services


def test_partner_records_as_provider_with_its_referral(app, client, login, make_referral, world, load):
    referral = make_referral(world.case, world.partner_org, service_kind="legal")
    login(client, world.partner)
    page = client.get(f"/cases/{world.case.id}/assistance/legal/new").get_data(as_text=True)
    assert world.partner_org.name in page
    assert world.lead.name not in page  # a partner cannot name another provider
    # A partner cannot name another organisation as the provider.
    data = {**GOOD["legal"], "provider_org_id": str(world.lead.id)}
    response = client.post(f"/cases/{world.case.id}/assistance/legal/new", data=data)
    assert response.status_code == 400
    assert count_services(app, world.case.id) == 0
    data["provider_org_id"] = str(world.partner_org.id)
    response = client.post(f"/cases/{world.case.id}/assistance/legal/new", data=data)
    assert response.status_code == 302
    saved = load(response.headers["Location"].rsplit("/", 1)[-1])
    assert saved.provider_org_id == world.partner_org.id
    assert saved.referral_id == referral.id
    # ... and may view and edit it.
    assert client.get(f"/assistance/{saved.id}").status_code == 200
    edit = client.post(
        f"/assistance/{saved.id}/edit", data={**data, "notes": "Next hearing in May.", "version_id": "1"}
    )
    assert edit.status_code == 302
    assert load(saved.id).notes == "Next hearing in May."


def test_partner_sees_only_its_own_services_in_the_case_section(app, client, login, make_referral, make_service, world):
    make_referral(world.case, world.partner_org)
    mine = make_service(world.case, "shelter", provider=world.partner_org)
    theirs = make_service(world.case, "medical", provider=world.lead)
    unassigned = make_service(world.case, "legal")
    from tests.assistance.test_case_section import render_section

    page = render_section(app, world.partner, world.case)
    assert str(mine.id) in page
    assert str(theirs.id) not in page and str(unassigned.id) not in page
    staff_page = render_section(app, world.caseworker, world.case)
    assert all(str(s.id) in staff_page for s in (mine, theirs, unassigned))


def test_staff_naming_a_partner_links_its_referral(app, client, login, make_referral, world, load):
    referral = make_referral(world.case, world.partner_org, service_kind="shelter")
    login(client, world.caseworker)
    data = {**GOOD["shelter"], "provider_org_id": str(world.partner_org.id)}
    response = client.post(f"/cases/{world.case.id}/assistance/shelter/new", data=data)
    saved = load(response.headers["Location"].rsplit("/", 1)[-1])
    assert saved.provider_org_id == world.partner_org.id
    assert saved.referral_id == referral.id


def test_inactive_partner_is_not_offered(app, client, login, make_org, world):
    inactive = make_org(kind="partner_ngo", active=False)
    login(client, world.caseworker)
    page = client.get(f"/cases/{world.case.id}/assistance/shelter/new").get_data(as_text=True)
    assert world.partner_org.name in page and world.lead.name in page
    assert inactive.name not in page and world.other_lead.name not in page
    data = {**GOOD["shelter"], "provider_org_id": str(inactive.id)}
    assert client.post(f"/cases/{world.case.id}/assistance/shelter/new", data=data).status_code == 400


def test_changes_are_audited_with_codes_only(app, client, login, world):
    login(client, world.caseworker)
    response = client.post(f"/cases/{world.case.id}/assistance/shelter/new", data=GOOD["shelter"])
    service_id = response.headers["Location"].rsplit("/", 1)[-1]
    client.post(f"/assistance/{service_id}/edit", data={**GOOD["shelter"], "notes": "changed", "version_id": "1"})
    with app.app_context():
        events = (
            session.execute(select(AuditEvent).where(AuditEvent.target_id == service_id).order_by(AuditEvent.id))
            .scalars()
            .all()
        )
        assert [e.action for e in events] == ["service.create", "service.update"]
        assert events[0].details == {"kind": "shelter", "status": "in_progress"}
        assert events[1].details == {"kind": "shelter", "status": "in_progress", "changed": ["notes"]}
        assert all(e.case_id == world.case.id and e.actor_id == world.caseworker.id for e in events)
