"""Referrals: created only on consent in force, minimal scope, transitions audited and locked."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from casework.db import session
from casework.partners.models import Referral
from tests.partners.world import audit_actions

TODAY = date.today()
DAY = timedelta(days=1)


def referral_form(world: Any, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "to_org_id": str(world.partner_org.id),
        "service_kind": "shelter",
        "field_scope": ["given_name", "age", "languages", "needs"],
        "message": "Needs a safe bed tonight.",
    }
    data.update(overrides)
    return data


def count_referrals(app: Any) -> int:
    with app.app_context():
        return session.execute(select(func.count()).select_from(Referral)).scalar_one()


def post_referral(world: Any, client: Any = None, **overrides: Any) -> Any:
    client = client or world.client_for(world.caseworker)
    return client.post(f"/cases/{world.case.id}/referrals/new", data=referral_form(world, **overrides))


# -- the consent gate ------------------------------------------------------------------------
def test_no_referral_without_consent_to_share_with_that_organisation(world):
    response = post_referral(world)
    assert response.status_code == 400
    assert "no consent in force to share with this organisation" in response.get_data(as_text=True)
    assert "Needs a safe bed tonight." in response.get_data(as_text=True)  # input kept
    assert count_referrals(world.app) == 0


@pytest.mark.parametrize(
    "consent",
    [
        {"organisation": "other_partner_org"},  # consent to share with someone else
        {"decision": "refused"},
        {"given_on": TODAY - 40 * DAY, "expires_on": TODAY - DAY},  # expired = none
        {"given_on": TODAY - 40 * DAY, "withdrawn_on": TODAY},  # withdrawn = none
        {"purpose": "assistance"},  # another purpose
    ],
)
def test_consent_not_in_force_for_that_organisation_blocks_the_referral(world, make_consent, consent):
    consent = dict(consent)
    purpose = consent.pop("purpose", "referral_sharing")
    org = getattr(world, consent.pop("organisation", "partner_org"))
    make_consent(world.case, purpose, organisation=org if purpose == "referral_sharing" else None, **consent)
    assert post_referral(world).status_code == 400
    assert count_referrals(world.app) == 0


def test_with_consent_the_referral_is_created_pending_on_that_consent_and_audited(world, make_consent):
    consent = make_consent(world.case, "referral_sharing", organisation=world.partner_org)
    response = post_referral(world)
    assert response.status_code == 302
    with world.app.app_context():
        referral = session.execute(select(Referral)).scalar_one()
        assert referral.status == "pending"
        assert referral.consent_id == consent.id
        assert referral.field_scope == {"given_name", "age", "languages", "needs"}
        assert referral.message == "Needs a safe bed tonight."
        assert b"safe bed" not in referral.message_ct
    assert "referral.create" in audit_actions(world.app)


def test_the_form_proposes_the_minimal_scope(world):
    page = world.client_for(world.caseworker).get(f"/cases/{world.case.id}/referrals/new").get_data(as_text=True)
    for code in ("given_name", "age", "languages", "needs"):
        assert f'value="{code}" checked' in page or f'checked value="{code}"' in page or _checked(page, code)
    assert not _checked(page, "identity_document")


def _checked(page: str, code: str) -> bool:
    import re

    return (
        re.search(rf'<input[^>]*\bchecked\b[^>]*value="{code}"|<input[^>]*value="{code}"[^>]*\bchecked\b', page)
        is not None
    )


def test_identity_documents_or_address_need_an_explicit_confirmation(world, make_consent):
    make_consent(world.case, "referral_sharing", organisation=world.partner_org)
    client = world.client_for(world.caseworker)
    scope = ["given_name", "identity_document", "address"]
    response = post_referral(world, client, field_scope=scope)
    assert response.status_code == 400
    assert "can locate or expose the person" in response.get_data(as_text=True)
    assert count_referrals(world.app) == 0
    assert post_referral(world, client, field_scope=scope, confirm_sensitive="y").status_code == 302


@pytest.mark.parametrize(
    "overrides",
    [
        {"field_scope": ["given_name", "blood_type"]},
        {"field_scope": []},
        {"service_kind": "spa_day"},
        {"to_org_id": "not-a-uuid"},
        {"to_org_id": "00000000-0000-0000-0000-000000000000"},
        {"message": "bad \x07 bell"},
        {"message": "x" * 2001},
    ],
)
def test_bad_referral_input_is_a_400_with_nothing_created(world, make_consent, overrides):
    make_consent(world.case, "referral_sharing", organisation=world.partner_org)
    assert post_referral(world, **overrides).status_code == 400
    assert count_referrals(world.app) == 0


def test_a_second_open_referral_for_the_same_assistance_is_refused(world, make_consent):
    make_consent(world.case, "referral_sharing", organisation=world.partner_org)
    client = world.client_for(world.caseworker)
    assert post_referral(world, client).status_code == 302
    assert post_referral(world, client).status_code == 400
    assert count_referrals(world.app) == 1


@pytest.mark.parametrize(
    ("who", "status"), [("partner", 403), ("researcher", 403), ("admin", 403), ("other_caseworker", 404)]
)
def test_users_who_may_not_refer(world, make_consent, who, status):
    make_consent(world.case, "referral_sharing", organisation=world.partner_org)
    client = world.client_for(getattr(world, who))
    assert client.get(f"/cases/{world.case.id}/referrals/new").status_code == status
    assert post_referral(world, client).status_code == status
    assert count_referrals(world.app) == 0


# -- transitions -------------------------------------------------------------------------------
def load(app: Any, referral_id: Any) -> Referral:
    with app.app_context():
        referral = session.get(Referral, referral_id)
        assert referral is not None
        session.expunge(referral)
        return referral


def test_partner_declines_only_with_a_reason(world, make_referral):
    referral = make_referral(world.case, world.partner_org, status="pending")
    client = world.client_for(world.partner)
    url = f"/partners/referrals/{referral.id}/respond"
    response = client.post(url, data={"decision": "decline", "reason": "", "version_id": referral.version_id})
    assert response.status_code == 400
    assert load(world.app, referral.id).status == "pending"
    response = client.post(
        url, data={"decision": "decline", "reason": "No free beds", "version_id": referral.version_id}
    )
    assert response.status_code == 302
    declined = load(world.app, referral.id)
    assert declined.status == "declined" and declined.responded_by_id == world.partner.id
    assert "referral.decline" in audit_actions(world.app)
    lead_view = world.client_for(world.caseworker).get(f"/partners/referrals/{referral.id}").get_data(as_text=True)
    assert "No free beds" in lead_view and "Declined by Shelter Partner" in lead_view


def test_partner_accepts_then_completes_and_access_follows(world, make_referral):
    referral = make_referral(world.case, world.partner_org, status="pending")
    client = world.client_for(world.partner)
    assert client.get(f"/partners/cases/{world.case.id}").status_code == 404  # pending: no case
    response = client.post(
        f"/partners/referrals/{referral.id}/respond", data={"decision": "accept", "version_id": referral.version_id}
    )
    assert response.status_code == 302
    assert client.get(f"/partners/cases/{world.case.id}").status_code == 200
    accepted = load(world.app, referral.id)
    response = client.post(f"/partners/referrals/{referral.id}/complete", data={"version_id": accepted.version_id})
    assert response.status_code == 302
    assert load(world.app, referral.id).status == "completed"
    assert client.get(f"/partners/cases/{world.case.id}").status_code == 404  # completed: access ended
    actions = audit_actions(world.app)
    assert "referral.accept" in actions and "referral.complete" in actions


def test_an_outdated_version_gives_a_409_that_keeps_the_input(world, make_referral):
    referral = make_referral(world.case, world.partner_org, status="pending")
    client = world.client_for(world.partner)
    stale = referral.version_id - 1
    response = client.post(
        f"/partners/referrals/{referral.id}/respond",
        data={"decision": "decline", "reason": "Our own words here", "version_id": stale},
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "changed while you were looking" in page and "Our own words here" in page
    assert load(world.app, referral.id).status == "pending"


def test_answering_twice_is_a_409(world, make_referral):
    referral = make_referral(world.case, world.partner_org, status="pending")
    client = world.client_for(world.partner)
    url = f"/partners/referrals/{referral.id}/respond"
    assert client.post(url, data={"decision": "accept", "version_id": referral.version_id}).status_code == 302
    again = client.post(url, data={"decision": "decline", "reason": "late", "version_id": referral.version_id})
    assert again.status_code == 409
    assert load(world.app, referral.id).status == "accepted"


def test_bad_respond_input_is_a_400(world, make_referral):
    referral = make_referral(world.case, world.partner_org, status="pending")
    client = world.client_for(world.partner)
    url = f"/partners/referrals/{referral.id}/respond"
    for data in (
        {"decision": "maybe", "version_id": 1},
        {"decision": "accept"},
        {"decision": "accept", "version_id": "x"},
    ):
        assert client.post(url, data=data).status_code == 400
    assert load(world.app, referral.id).status == "pending"


def test_referring_side_revokes_with_a_reason_and_the_partner_loses_access(world, make_referral):
    referral = make_referral(world.case, world.partner_org)
    partner = world.client_for(world.partner)
    assert partner.get(f"/partners/cases/{world.case.id}").status_code == 200
    lead = world.client_for(world.caseworker)
    url = f"/partners/referrals/{referral.id}/revoke"
    assert lead.post(url, data={"reason": "", "version_id": referral.version_id}).status_code == 400
    assert lead.post(url, data={"reason": "Person moved away", "version_id": referral.version_id}).status_code == 302
    revoked = load(world.app, referral.id)
    assert revoked.status == "revoked" and revoked.revoke_cause == "referring_org"
    assert partner.get(f"/partners/cases/{world.case.id}").status_code == 404
    timeline = partner.get(f"/partners/referrals/{referral.id}").get_data(as_text=True)
    assert "Revoked by the referring organisation" in timeline


def test_each_side_is_refused_the_other_sides_actions(world, make_referral):
    referral = make_referral(world.case, world.partner_org, status="pending")
    lead = world.client_for(world.caseworker)
    data = {"decision": "accept", "version_id": referral.version_id}
    assert lead.post(f"/partners/referrals/{referral.id}/respond", data=data).status_code == 403
    assert lead.post(f"/partners/referrals/{referral.id}/complete", data=data).status_code == 403
    partner = world.client_for(world.partner)
    revoke = {"reason": "no", "version_id": referral.version_id}
    assert partner.post(f"/partners/referrals/{referral.id}/revoke", data=revoke).status_code == 403
    other_partner = world.client_for(world.other_partner)
    assert other_partner.get(f"/partners/referrals/{referral.id}").status_code == 404
    assert other_partner.post(f"/partners/referrals/{referral.id}/respond", data=data).status_code == 404
    other_lead = world.client_for(world.other_caseworker)
    assert other_lead.get(f"/partners/referrals/{referral.id}").status_code == 404
    assert world.client_for(world.researcher).get(f"/partners/referrals/{referral.id}").status_code == 404
    assert load(world.app, referral.id).status == "pending"
    assert "referral.load" in audit_actions(world.app, outcome="refused")


def test_the_case_file_shows_the_referrals_section(world, make_referral):
    make_referral(world.case, world.partner_org)
    client = world.client_for(world.caseworker)
    page = client.get(f"/cases/{world.case.id}?tab=referrals").get_data(as_text=True)
    assert 'id="referrals"' in page and "Shelter Partner" in page
    assert 'id="consents"' in client.get(f"/cases/{world.case.id}?tab=consents").get_data(as_text=True)


def test_sharing_identity_or_travel_document_scans_needs_the_confirmation_too(world, make_consent):
    make_consent(world.case, "referral_sharing", organisation=world.partner_org)
    client = world.client_for(world.caseworker)
    for scope in (["given_name", "documents_identity"], ["given_name", "documents_travel"]):
        response = post_referral(world, client, field_scope=scope)
        assert response.status_code == 400
        assert "can locate or expose the person" in response.get_data(as_text=True)
    assert count_referrals(world.app) == 0
    scope = ["given_name", "documents_identity", "documents_medical"]
    assert post_referral(world, client, field_scope=scope, confirm_sensitive="y").status_code == 302
