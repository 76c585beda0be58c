"""Who must not reach each assistance route: other organisations, unassigned caseworkers,
roles without case access, partners without a referral or on another provider's service."""

from __future__ import annotations

import pytest

from tests.assistance.conftest import GOOD, count_services


def routes(world, service):
    """(method, url, data) of every assistance route."""
    return [
        ("GET", f"/cases/{world.case.id}/assistance/shelter/new", None),
        ("POST", f"/cases/{world.case.id}/assistance/shelter/new", GOOD["shelter"]),
        ("GET", f"/assistance/{service.id}", None),
        ("GET", f"/assistance/{service.id}/edit", None),
        ("POST", f"/assistance/{service.id}/edit", {**GOOD["reintegration"], "version_id": "1"}),
        ("POST", f"/assistance/{service.id}/status", {"status": "provided", "version_id": "1"}),
        ("POST", f"/assistance/{service.id}/follow-ups", {"visited_on": "2025-07-01"}),
    ]


def call(client, method, url, data):
    return client.get(url) if method == "GET" else client.post(url, data=data)


@pytest.fixture
def service(world, make_service):
    return make_service(world.case, "reintegration", provider=world.lead, notes="private")


@pytest.mark.parametrize("who", ["outsider", "unassigned"])
def test_staff_outside_the_case_scope_get_404(app, client, login, world, service, load, who):
    login(client, getattr(world, who))
    for method, url, data in routes(world, service):
        assert call(client, method, url, data).status_code == 404, (who, method, url)
    assert count_services(app, world.case.id) == 1
    assert load(service.id).version_id == 1


@pytest.mark.parametrize("role", ["researcher", "admin"])
def test_roles_without_case_access_get_403(app, client, login, make_user, world, service, role):
    login(client, make_user(role))
    for method, url, data in routes(world, service):
        assert call(client, method, url, data).status_code == 403, (role, method, url)
    assert count_services(app, world.case.id) == 1


def test_signed_out_users_are_sent_to_sign_in(client, world, service):
    for method, url, data in routes(world, service):
        response = call(client, method, url, data)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_partner_without_a_referral_gets_404(app, client, login, world, service):
    login(client, world.partner)
    for method, url, data in routes(world, service):
        assert call(client, method, url, data).status_code == 404, (method, url)
    assert count_services(app, world.case.id) == 1


@pytest.mark.parametrize("referral_status", ["pending", "declined", "revoked"])
def test_partner_with_a_referral_not_accepted_gets_404(client, login, make_referral, world, service, referral_status):
    make_referral(world.case, world.partner_org, status=referral_status)
    login(client, world.partner)
    for method, url, data in routes(world, service):
        assert call(client, method, url, data).status_code == 404, (method, url)


def test_partner_on_another_providers_service_gets_404(app, client, login, make_referral, world, service, load):
    make_referral(world.case, world.partner_org)
    login(client, world.partner)
    for method, url, data in routes(world, service)[2:]:  # the service routes
        assert call(client, method, url, data).status_code == 404, (method, url)
    assert load(service.id).version_id == 1
    # The case itself is reachable: the partner may record what it delivers.
    assert client.get(f"/cases/{world.case.id}/assistance/shelter/new").status_code == 200


def test_partner_with_withdrawn_consent_gets_404(client, login, make_referral, make_consent, world, make_service):
    from datetime import date

    consent = make_consent(world.case, "referral_sharing", organisation=world.partner_org, withdrawn_on=date.today())
    make_referral(world.case, world.partner_org, consent=consent)
    own = make_service(world.case, "shelter", provider=world.partner_org)
    login(client, world.partner)
    assert client.get(f"/assistance/{own.id}").status_code == 404


def test_caseworker_cannot_record_on_a_closed_case(app, client, login, make_case, world):
    closed = make_case(world.lead, assigned_to=world.caseworker, status="closed")
    login(client, world.caseworker)
    assert client.get(f"/cases/{closed.id}/assistance/shelter/new").status_code == 403
    assert client.post(f"/cases/{closed.id}/assistance/shelter/new", data=GOOD["shelter"]).status_code == 403
    assert count_services(app, closed.id) == 0


def test_refusals_are_audited_without_victim_data(app, client, login, world, service):
    from sqlalchemy import select

    from casework.audit.models import AuditEvent
    from casework.db import session

    login(client, world.outsider)
    client.get(f"/assistance/{service.id}")
    with app.app_context():
        events = session.execute(select(AuditEvent).where(AuditEvent.outcome == "refused")).scalars().all()
        assert any(e.case_id == world.case.id for e in events)
        assert all("private" not in str(e.details) for e in events)


def test_nonexistent_service_is_404(client, login, world):
    import uuid

    login(client, world.caseworker)
    assert client.get(f"/assistance/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/cases/{uuid.uuid4()}/assistance/shelter/new").status_code == 404
