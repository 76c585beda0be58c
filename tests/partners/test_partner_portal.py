"""The partner portal's limits, through HTTP: only referrals to the partner's organisation,
only accepted ones with consent in force open the case, only the shared fields; every attempt
to reach more is a 404 and is audited."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import func, select, update

from casework.cases.models import CaseNote
from casework.consent.models import Consent
from casework.db import session
from casework.partners.models import Referral
from tests.partners.world import ADDRESS, ALIAS, DOCUMENT, EMAIL, FAMILY, GIVEN, PHONE, audit_actions

TODAY = date.today()
DAY = timedelta(days=1)
UNSHARED = (FAMILY, ALIAS, PHONE, EMAIL, DOCUMENT, ADDRESS)


def test_partner_sees_only_the_shared_fields_of_an_accepted_referral(world, make_referral):
    make_referral(world.case, world.partner_org, scope=("given_name", "age", "languages", "needs"))
    client = world.client_for(world.partner)
    page = client.get(f"/partners/cases/{world.case.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert GIVEN in text and "Yoruba, English" in text and world.case.reference in text
    for value in UNSHARED:
        assert value not in text
    assert "case.view" in audit_actions(world.app)
    assert f"/cases/{world.case.id}/assistance/shelter/new" in text  # record the assistance delivered


def test_portal_lists_only_referrals_to_the_partners_organisation(world, make_case, make_referral):
    other_case = make_case(world.lead, assigned_to=world.caseworker, given_name="Otherperson")
    mine = make_referral(world.case, world.partner_org)
    theirs = make_referral(other_case, world.other_partner_org)
    page = world.client_for(world.partner).get("/partners/portal").get_data(as_text=True)
    assert mine.reference in page and theirs.reference not in page
    assert other_case.reference not in page


def test_a_pending_referral_shows_only_metadata(world, make_referral):
    referral = make_referral(world.case, world.partner_org, status="pending")
    client = world.client_for(world.partner)
    for url in ("/partners/portal", f"/partners/referrals/{referral.id}"):
        response = client.get(url)
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert referral.reference in text and "Lead Agency" in text and "Shelter" in text
        assert world.case.reference not in text  # not even the case reference
        assert GIVEN not in text
    assert client.get(f"/partners/cases/{world.case.id}").status_code == 404


def test_other_cases_and_other_organisations_referrals_are_404_and_audited(world, make_case, make_referral):
    make_referral(world.case, world.partner_org)
    other_case = make_case(world.lead, assigned_to=world.caseworker)
    elsewhere = make_referral(other_case, world.other_partner_org)
    client = world.client_for(world.partner)
    for url in (
        f"/partners/cases/{other_case.id}",
        f"/partners/cases/{uuid.uuid4()}",
        f"/partners/referrals/{elsewhere.id}",
        f"/partners/referrals/{uuid.uuid4()}",
        f"/cases/{other_case.id}",
    ):
        assert client.get(url).status_code == 404, url
    post = client.post(f"/partners/cases/{other_case.id}/notes", data={"body": "let me in"})
    assert post.status_code == 404
    refused = audit_actions(world.app, outcome="refused")
    assert refused.count("case.load") >= 4 and "referral.load" in refused


def test_other_fields_and_staff_pages_are_refused(world, make_referral):
    make_referral(world.case, world.partner_org)
    client = world.client_for(world.partner)
    assert client.get(f"/partners/cases/{world.case.id}").status_code == 200
    for url in (
        f"/cases/{world.case.id}/consents",
        f"/cases/{world.case.id}/consents/new",
        f"/cases/{world.case.id}/summary?recipient=victim",
        f"/cases/{world.case.id}/summary.pdf?recipient=victim",
        f"/cases/{world.case.id}/referrals/new",
        f"/cases/{world.case.id}/erase",
    ):
        assert client.get(url).status_code == 403, url
    subject_access = client.get(f"/cases/{world.case.id}/subject-access")
    assert subject_access.status_code == 403
    assert GIVEN not in subject_access.get_data(as_text=True)


def test_withdrawing_consent_revokes_access_at_once_and_is_audited(world, make_referral):
    referral = make_referral(world.case, world.partner_org)
    partner = world.client_for(world.partner)
    assert partner.get(f"/partners/cases/{world.case.id}").status_code == 200
    lead = world.client_for(world.caseworker)
    # The referral is named first, and the withdrawal confirmed for it.
    withdrawal = {"withdrawn_on": TODAY.isoformat(), "confirm_revocations": "y", "shown_revocations": str(referral.id)}
    response = lead.post(f"/consents/{referral.consent_id}/withdraw", data=withdrawal)
    assert response.status_code == 302
    assert partner.get(f"/partners/cases/{world.case.id}").status_code == 404  # the very next request
    with world.app.app_context():
        revoked = session.get(Referral, referral.id)
        assert revoked.status == "revoked" and revoked.revoke_cause == "consent_withdrawn"
    actions = audit_actions(world.app)
    assert "consent.withdraw" in actions and "referral.revoke" in actions
    assert "case.load" in audit_actions(world.app, outcome="refused")
    portal = partner.get("/partners/portal").get_data(as_text=True)
    assert world.case.reference not in portal


def test_the_policy_itself_refuses_when_consent_is_withdrawn_outside_the_referral_flow(world, make_referral):
    """Even if the referral were left 'accepted', the access policy reads the consent records."""
    referral = make_referral(world.case, world.partner_org)
    partner = world.client_for(world.partner)
    assert partner.get(f"/partners/cases/{world.case.id}").status_code == 200
    with world.app.app_context():
        session.execute(update(Consent).where(Consent.id == referral.consent_id).values(withdrawn_on=TODAY))
        session.commit()
    assert partner.get(f"/partners/cases/{world.case.id}").status_code == 404


def test_a_later_refusal_ends_access_even_while_the_old_grant_is_unexpired(world, make_referral, make_consent):
    make_referral(world.case, world.partner_org)
    partner = world.client_for(world.partner)
    assert partner.get(f"/partners/cases/{world.case.id}").status_code == 200
    make_consent(world.case, "referral_sharing", organisation=world.partner_org, decision="refused")
    assert partner.get(f"/partners/cases/{world.case.id}").status_code == 404


def test_expired_consent_counts_as_none(world, make_consent, make_referral):
    expired = make_consent(
        world.case,
        "referral_sharing",
        organisation=world.partner_org,
        given_on=TODAY - 60 * DAY,
        expires_on=TODAY - DAY,
    )
    referral = make_referral(world.case, world.partner_org, consent=expired)
    client = world.client_for(world.partner)
    assert client.get(f"/partners/cases/{world.case.id}").status_code == 404
    page = client.get(f"/partners/referrals/{referral.id}").get_data(as_text=True)
    assert GIVEN not in page and world.case.reference not in page
    assert "Access ended" in client.get("/partners/portal").get_data(as_text=True)


def test_a_pending_referral_on_expired_consent_cannot_be_accepted(world, make_consent, make_referral):
    expired = make_consent(
        world.case,
        "referral_sharing",
        organisation=world.partner_org,
        given_on=TODAY - 60 * DAY,
        expires_on=TODAY - DAY,
    )
    referral = make_referral(world.case, world.partner_org, consent=expired, status="pending")
    client = world.client_for(world.partner)
    response = client.post(
        f"/partners/referrals/{referral.id}/respond", data={"decision": "accept", "version_id": referral.version_id}
    )
    assert response.status_code == 400
    assert client.get(f"/partners/cases/{world.case.id}").status_code == 404


def test_another_partner_sees_nothing_of_the_case(world, make_referral):
    make_referral(world.case, world.partner_org)
    client = world.client_for(world.other_partner)
    assert client.get(f"/partners/cases/{world.case.id}").status_code == 404
    assert world.case.reference not in client.get("/partners/portal").get_data(as_text=True)


def test_shared_notes_are_masked_and_partner_notes_reach_the_lead(world, make_referral):
    make_referral(world.case, world.partner_org, scope=("given_name", "case_notes_shared"))
    with world.app.app_context():
        note = CaseNote(case_id=world.case.id, author_org_id=world.lead.id, shareable=True)
        session.add(note)
        note.body = f"{GIVEN} {FAMILY.upper()} called from {PHONE}; passport {DOCUMENT}."
        private = CaseNote(case_id=world.case.id, author_org_id=world.lead.id, shareable=False)
        session.add(private)
        private.body = "Internal only: safeguarding concern"
        session.commit()
    partner = world.client_for(world.partner)
    text = partner.get(f"/partners/cases/{world.case.id}").get_data(as_text=True)
    assert f"{GIVEN} [name withheld] called from [phone withheld]; passport [document withheld]." in text
    assert "Internal only" not in text
    response = partner.post(f"/partners/cases/{world.case.id}/notes", data={"body": "Admitted to our shelter today."})
    assert response.status_code == 302
    lead = world.client_for(world.caseworker).get(f"/cases/{world.case.id}?tab=notes").get_data(as_text=True)
    assert "Admitted to our shelter today." in lead


def test_partner_note_bad_input_is_a_400(world, make_referral):
    make_referral(world.case, world.partner_org)
    client = world.client_for(world.partner)
    for body in ("", "x" * 4001, "bad\x1bescape"):
        assert client.post(f"/partners/cases/{world.case.id}/notes", data={"body": body}).status_code == 400
    with world.app.app_context():
        assert session.execute(select(func.count()).select_from(CaseNote)).scalar_one() == 0


def test_staff_may_not_use_the_partner_pages(world, make_referral):
    make_referral(world.case, world.partner_org)
    for who in ("caseworker", "supervisor", "researcher", "admin"):
        client = world.client_for(getattr(world, who))
        assert client.get(f"/partners/cases/{world.case.id}").status_code == 403
        assert client.get("/partners/portal").status_code == 403
        assert client.post(f"/partners/cases/{world.case.id}/notes", data={"body": "x"}).status_code == 403
