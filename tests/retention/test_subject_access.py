"""Subject access: a complete, decrypted export for the owner organisation's staff only."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from casework.assistance.models import ShelterStay
from casework.audit.models import AuditEvent
from casework.cases.models import BreakGlassAccess, CaseNote
from casework.db import session, utcnow
from tests.partners.world import DOCUMENT, FAMILY, GIVEN, PHONE


def test_owner_staff_download_everything_held_about_the_person(world, make_consent, make_referral):
    make_consent(world.case, "assistance", given_by="guardian", method="guardian")
    referral = make_referral(world.case, world.partner_org)
    with world.app.app_context():
        note = CaseNote(case_id=world.case.id, author_org_id=world.partner_org.id, shareable=True)
        session.add(note)
        note.body = "Partner note: settled in well"
        shelter = ShelterStay(case_id=world.case.id, status="in_progress")
        session.add(shelter)
        shelter.facility = "Safe House North"
        session.commit()
    response = world.client_for(world.caseworker).get(f"/cases/{world.case.id}/subject-access")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    record = json.loads(response.data)
    assert record["case"]["given_name"] == GIVEN and record["case"]["family_name"] == FAMILY
    assert record["case"]["phone"] == PHONE and record["case"]["document_number"] == DOCUMENT
    assert "wrapped_key" not in record["case"] and "name_bidx" not in record["case"]
    assert {c["purpose"] for c in record["consents"]} == {"assistance", "referral_sharing"}
    assert record["referrals"][0]["id"] == str(referral.id)
    assert record["referrals"][0]["to_organisation"] == "Shelter Partner"
    assert record["notes"][0]["body"] == "Partner note: settled in well"
    assert record["services"][0]["facility"] == "Safe House North"
    with world.app.app_context():
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "case.subject_access")).scalar_one()
        assert event.case_id == world.case.id and event.details["format"] == "json"


def test_only_owner_staff_may_export(world, make_user, make_referral):
    make_referral(world.case, world.partner_org)
    break_glass = make_user("supervisor", org=world.other_lead)
    with world.app.app_context():
        session.add(
            BreakGlassAccess(
                case_id=world.case.id, user_id=break_glass.id, reason="Urgent", expires_at=utcnow() + timedelta(hours=1)
            )
        )
        session.commit()
    refused = (
        (world.partner, 403), (break_glass, 403), (world.other_caseworker, 404),
        (world.researcher, 403), (world.admin, 403),
    )  # fmt: skip
    for user, status in refused:
        response = world.client_for(user).get(f"/cases/{world.case.id}/subject-access")
        assert response.status_code == status
        assert GIVEN not in response.get_data(as_text=True)
    assert world.client_for(world.supervisor).get(f"/cases/{world.case.id}/subject-access").status_code == 200
