"""The supervisor's emergency override: only with a written reason, audited, shown on both
sides, limited to one referral for a few days; it never widens access beyond that."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import exists, func, select, update

from casework import access
from casework.cases.models import Case
from casework.consent.models import Consent, ConsentOverride
from casework.db import session
from casework.partners.models import Referral
from tests.partners.world import GIVEN, audit_actions

TODAY = date.today()
DAY = timedelta(days=1)
REASON = "Unconscious in hospital after an assault; trafficker searching for her."


def emergency_form(world: Any, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "to_org_id": str(world.partner_org.id),
        "service_kind": "shelter",
        "field_scope": ["given_name", "age", "needs"],
        "message": "Emergency placement needed.",
        "reason": REASON,
        "expires_on": (TODAY + 3 * DAY).isoformat(),
        "confirm": "y",
    }
    data.update(overrides)
    return data


def counts(app: Any) -> tuple[int, int]:
    with app.app_context():
        overrides = session.execute(select(func.count()).select_from(ConsentOverride)).scalar_one()
        referrals = session.execute(select(func.count()).select_from(Referral)).scalar_one()
        return overrides, referrals


def emergency(world: Any, client: Any = None, **overrides: Any) -> Any:
    client = client or world.client_for(world.supervisor)
    return client.post(f"/cases/{world.case.id}/referrals/emergency", data=emergency_form(world, **overrides))


def test_caseworkers_and_others_cannot_override(world):
    for who, status in (("caseworker", 403), ("partner", 403), ("researcher", 403), ("admin", 403)):
        client = world.client_for(getattr(world, who))
        assert client.get(f"/cases/{world.case.id}/referrals/emergency").status_code == status
        assert emergency(world, client).status_code == status
    assert counts(world.app) == (0, 0)


def test_another_organisations_supervisor_cannot_override(world, make_user):
    outsider = make_user("supervisor", org=world.other_lead)
    assert emergency(world, world.client_for(outsider)).status_code == 404
    assert counts(world.app) == (0, 0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"reason": "life at risk"}, "at least 20 characters"),
        ({"reason": " " * 30}, "This field is required"),
        ({"confirm": ""}, "cannot be asked now"),
        ({"expires_on": (TODAY + 8 * DAY).isoformat()}, "within 7 days"),
        ({"expires_on": (TODAY - DAY).isoformat()}, "within 7 days"),
        ({"expires_on": "soon"}, "Not a valid date"),
    ],
)
def test_an_override_needs_a_written_reason_confirmation_and_a_short_term(world, overrides, message):
    response = emergency(world, **overrides)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert counts(world.app) == (0, 0)


def test_an_override_cannot_overrule_the_persons_refusal(world, make_consent):
    make_consent(world.case, "referral_sharing", organisation=world.partner_org, decision="refused")
    response = emergency(world)
    assert response.status_code == 400
    assert "cannot overrule their decision" in response.get_data(as_text=True)
    assert counts(world.app) == (0, 0)


def test_the_override_referral_is_audited_shown_on_both_sides_and_opens_only_that_referral(world):
    assert emergency(world).status_code == 302
    with world.app.app_context():
        referral = session.execute(select(Referral)).scalar_one()
        override = session.execute(select(ConsentOverride)).scalar_one()
        assert referral.consent_id is None and referral.override_id == override.id
        assert override.reason == REASON and REASON.encode() not in override.reason_ct
        referral_id, version = referral.id, referral.version_id
    assert "consent.override" in audit_actions(world.app)
    # the lead side sees the override and its reason
    lead = world.client_for(world.caseworker)
    lead_page = lead.get(f"/partners/referrals/{referral_id}").get_data(as_text=True)
    assert "emergency override" in lead_page.lower() and REASON in lead_page
    assert REASON in lead.get(f"/cases/{world.case.id}/consents").get_data(as_text=True)
    # the partner sees that it rests on an override (not the reason), accepts, sees the case
    partner = world.client_for(world.partner)
    portal = partner.get("/partners/portal").get_data(as_text=True)
    assert "Emergency override" in portal and REASON not in portal
    response = partner.post(
        f"/partners/referrals/{referral_id}/respond", data={"decision": "accept", "version_id": version}
    )
    assert response.status_code == 302
    case_page = partner.get(f"/partners/cases/{world.case.id}").get_data(as_text=True)
    assert GIVEN in case_page and "Emergency override without consent" in case_page
    # ... and nothing else: it is not consent for anything
    with world.app.app_context():
        for purpose in ("referral_sharing", "anonymised_research", "law_enforcement_cooperation"):
            condition = exists().where(Consent.case_id == Case.id, access.active_consent_condition(purpose, TODAY))
            assert session.execute(select(Case.id).where(condition)).first() is None
    supervisor = world.client_for(world.supervisor)
    assert supervisor.get(f"/cases/{world.case.id}/summary?recipient=law_enforcement").status_code == 400
    assert world.client_for(world.other_partner).get(f"/partners/cases/{world.case.id}").status_code == 404
    # a normal referral to the same partner still needs consent
    normal = supervisor.post(
        f"/cases/{world.case.id}/referrals/new",
        data={"to_org_id": str(world.partner_org.id), "service_kind": "medical", "field_scope": ["age"]},
    )
    assert normal.status_code == 400


@pytest.mark.parametrize("other_records", [False, True], ids=["no-consent-records", "with-consent-records"])
def test_the_case_file_shows_an_override_with_or_without_consent_records(world, make_consent, other_records):
    # The consent section learns whether there are overrides from the consent records' query;
    # with no records it must still look for them.
    if other_records:
        make_consent(world.case, "anonymised_research", decision="refused", recorded_by_id=world.caseworker.id)
    supervisor = world.client_for(world.supervisor)
    before = supervisor.get(f"/cases/{world.case.id}?tab=consents").get_data(as_text=True)
    assert "Emergency overrides (without consent)" not in before
    assert emergency(world).status_code == 302
    page = supervisor.get(f"/cases/{world.case.id}?tab=consents").get_data(as_text=True)
    assert "Emergency overrides (without consent)" in page and REASON in page
    assert f"by {world.supervisor.display_name}" in page
    if other_records:
        # the consent record's recorder is named from the same query
        history = page.split(">History<", 1)[1]
        assert world.caseworker.display_name in history


def accepted_override_referral(world: Any) -> Any:
    assert emergency(world).status_code == 302
    with world.app.app_context():
        referral = session.execute(select(Referral)).scalar_one()
        session.execute(update(Referral).where(Referral.id == referral.id).values(status="accepted"))
        session.commit()
        return referral


def test_the_override_ends_on_its_expiry_date(world):
    referral = accepted_override_referral(world)
    partner = world.client_for(world.partner)
    assert partner.get(f"/partners/cases/{world.case.id}").status_code == 200
    with world.app.app_context():
        session.execute(
            update(ConsentOverride).where(ConsentOverride.id == referral.override_id).values(expires_on=TODAY - DAY)
        )
        session.commit()
    assert partner.get(f"/partners/cases/{world.case.id}").status_code == 404


def test_the_persons_refusal_ends_the_override_and_revokes_the_referral(world):
    referral = accepted_override_referral(world)
    partner = world.client_for(world.partner)
    assert partner.get(f"/partners/cases/{world.case.id}").status_code == 200
    lead = world.client_for(world.caseworker)
    response = lead.post(
        f"/cases/{world.case.id}/consents/new",
        data={
            "purpose": "referral_sharing",
            "organisation_id": str(world.partner_org.id),
            "decision": "refused",
            "method": "verbal",
            "given_by": "victim",
            "given_on": TODAY.isoformat(),
        },
    )
    assert response.status_code == 302
    assert partner.get(f"/partners/cases/{world.case.id}").status_code == 404
    with world.app.app_context():
        assert session.get(Referral, referral.id).status == "revoked"
        assert session.get(ConsentOverride, referral.override_id).ended_at is not None
    assert "consent.override_end" in audit_actions(world.app)


def test_the_persons_grant_takes_over_from_the_override(world):
    referral = accepted_override_referral(world)
    partner = world.client_for(world.partner)
    assert partner.get(f"/partners/cases/{world.case.id}").status_code == 200
    lead = world.client_for(world.caseworker)
    response = lead.post(
        f"/cases/{world.case.id}/consents/new",
        data={
            "purpose": "referral_sharing",
            "organisation_id": str(world.partner_org.id),
            "decision": "granted",
            "method": "written",
            "given_by": "victim",
            "given_on": TODAY.isoformat(),
        },
    )
    assert response.status_code == 302
    with world.app.app_context():
        moved = session.get(Referral, referral.id)
        consent = session.execute(select(Consent)).scalar_one()
        assert moved.consent_id == consent.id and moved.status == "accepted"
        assert session.get(ConsentOverride, referral.override_id).end_cause == "person_decided"
    assert partner.get(f"/partners/cases/{world.case.id}").status_code == 200
    assert "referral.consent_attached" in audit_actions(world.app)


def test_a_grant_recorded_outside_the_flow_still_ends_the_override_in_the_policy(world, make_consent):
    accepted_override_referral(world)
    make_consent(world.case, "referral_sharing", organisation=world.partner_org)
    # the referral was not moved onto the consent: the policy no longer honours the override
    assert world.client_for(world.partner).get(f"/partners/cases/{world.case.id}").status_code == 404
