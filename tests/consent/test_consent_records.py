"""Consent records: recorded through the form with every rule, never a boolean; current state derived."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from casework.consent.models import Consent
from casework.db import session
from tests.partners.world import audit_actions

TODAY = date.today()


def consent_form(**overrides: Any) -> dict[str, str]:
    data = {
        "purpose": "assistance",
        "organisation_id": "",
        "decision": "granted",
        "method": "written",
        "given_by": "victim",
        "giver_name": "",
        "given_on": TODAY.isoformat(),
        "expires_on": "",
        "notes": "Explained in Yoruba with an interpreter.",
    }
    data.update(overrides)
    return data


def count_consents(app: Any) -> int:
    with app.app_context():
        return session.execute(select(func.count()).select_from(Consent)).scalar_one()


def test_caseworker_records_consent_to_share_with_a_named_partner(world):
    client = world.client_for(world.caseworker)
    response = client.post(
        f"/cases/{world.case.id}/consents/new",
        data=consent_form(purpose="referral_sharing", organisation_id=str(world.partner_org.id)),
    )
    assert response.status_code == 302
    with world.app.app_context():
        consent = session.execute(select(Consent)).scalar_one()
        assert consent.purpose == "referral_sharing"
        assert consent.organisation_id == world.partner_org.id
        assert consent.recorded_by_id == world.caseworker.id
        assert consent.notes == "Explained in Yoruba with an interpreter."
        assert b"Yoruba" not in consent.notes_ct  # encrypted at rest
    assert "consent.record" in audit_actions(world.app)


def test_guardian_name_is_encrypted_and_shown_in_history(world):
    client = world.client_for(world.caseworker)
    response = client.post(
        f"/cases/{world.case.id}/consents/new",
        data=consent_form(given_by="guardian", method="guardian", giver_name="Oluwaseun Adébáyọ̀"),
    )
    assert response.status_code == 302
    with world.app.app_context():
        consent = session.execute(select(Consent)).scalar_one()
        assert b"Oluwaseun" not in consent.giver_name_ct
    page = client.get(f"/cases/{world.case.id}/consents")
    assert page.status_code == 200
    assert "Oluwaseun Adébáyọ̀" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"purpose": "referral_sharing"}, "Name the organisation"),
        ({"purpose": "no_such_purpose"}, "Not a valid choice"),
        ({"decision": "maybe"}, "Not a valid choice"),
        ({"given_on": (TODAY + timedelta(days=1)).isoformat()}, "cannot be in the future"),
        ({"given_on": "14/03/2025"}, "Not a valid date"),
        ({"expires_on": (TODAY - timedelta(days=3)).isoformat()}, "must be after the date given"),
        ({"given_by": "guardian", "method": "guardian"}, "Enter the name of the guardian"),
        ({"given_by": "victim", "method": "guardian"}, "cannot be recorded as given by a guardian"),
        ({"notes": "line\x00break"}, "control characters"),
        ({"giver_name": "x" * 201, "given_by": "guardian"}, "200"),
        ({"decision": "refused", "expires_on": (TODAY + timedelta(days=30)).isoformat()}, "A refusal has no expiry"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_is_lost(world, overrides, field_message):
    client = world.client_for(world.caseworker)
    response = client.post(f"/cases/{world.case.id}/consents/new", data=consent_form(**overrides))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_message in page
    kept = "break" if "notes" in overrides else "Explained in Yoruba with an interpreter."
    assert kept in page  # the user's input is kept
    assert count_consents(world.app) == 0


def test_an_organisation_that_is_not_an_active_partner_is_refused(world, make_org):
    inactive = make_org("Closed NGO", kind="partner_ngo", active=False)
    client = world.client_for(world.caseworker)
    for org in (inactive, world.other_lead, world.lead):
        response = client.post(
            f"/cases/{world.case.id}/consents/new",
            data=consent_form(purpose="referral_sharing", organisation_id=str(org.id)),
        )
        assert response.status_code == 400
    assert count_consents(world.app) == 0


def test_a_childs_consent_must_come_from_a_guardian(world, make_case):
    child = make_case(world.lead, assigned_to=world.caseworker, age_at_registration=16)
    client = world.client_for(world.caseworker)
    response = client.post(f"/cases/{child.id}/consents/new", data=consent_form())
    assert response.status_code == 400
    assert "a guardian or legal representative gives consent" in response.get_data(as_text=True)
    response = client.post(
        f"/cases/{child.id}/consents/new",
        data=consent_form(given_by="legal_representative", giver_name="Counsel Ada Obi"),
    )
    assert response.status_code == 302
    assert count_consents(world.app) == 1


def test_a_child_at_registration_who_is_now_adult_by_date_of_birth_consents_themself(world, make_case):
    grown = make_case(
        world.lead,
        assigned_to=world.caseworker,
        age_at_registration=17,
        date_of_birth=TODAY.replace(year=TODAY.year - 19),
    )
    client = world.client_for(world.caseworker)
    assert client.post(f"/cases/{grown.id}/consents/new", data=consent_form()).status_code == 302


@pytest.mark.parametrize("who", ["partner", "researcher", "admin"])
def test_roles_without_consent_permission_are_refused(world, who):
    client = world.client_for(getattr(world, who))
    assert client.get(f"/cases/{world.case.id}/consents/new").status_code == 403
    assert client.post(f"/cases/{world.case.id}/consents/new", data=consent_form()).status_code == 403
    assert client.get(f"/cases/{world.case.id}/consents").status_code == 403
    assert count_consents(world.app) == 0


def test_staff_outside_the_case_scope_get_404_and_it_is_audited(world, make_user):
    unassigned = make_user("caseworker", org=world.lead)
    for user in (world.other_caseworker, unassigned):
        client = world.client_for(user)
        assert client.post(f"/cases/{world.case.id}/consents/new", data=consent_form()).status_code == 404
        assert client.get(f"/cases/{world.case.id}/consents").status_code == 404
    assert "case.load" in audit_actions(world.app, outcome="refused")
    assert count_consents(world.app) == 0


def test_posting_without_csrf_token_is_refused(world):
    client = world.client_for(world.caseworker)
    response = client.post(f"/cases/{world.case.id}/consents/new", data=consent_form(), csrf=False)
    assert response.status_code == 400
    assert count_consents(world.app) == 0


def test_the_record_page_renders_for_staff(world):
    client = world.client_for(world.supervisor)
    response = client.get(f"/cases/{world.case.id}/consents/new")
    assert response.status_code == 200
    assert "Shelter Partner" in response.get_data(as_text=True)  # partner choices offered
