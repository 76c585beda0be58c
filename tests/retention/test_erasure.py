"""Erasure: crypto-shredding leaves no readable identifying data anywhere in the database."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from casework.assistance.models import LegalAssistance, ShelterStay
from casework.cases.models import BreakGlassAccess, Case, CaseNote, TraffickingProfile
from casework.consent.models import Consent
from casework.crypto import ERASED, blind_index
from casework.db import get_db, session, utcnow
from casework.partners.models import Referral
from tests.partners.world import ADDRESS, ALIAS, DOCUMENT, EMAIL, FAMILY, GIVEN, PHONE, audit_actions

REASON = "The person asked for their data to be erased (request dated last week)."
GUARDIAN = "Wilhelmina Oyelaran-Fairbrook"
NOTE = "Met at the Quayside drop-in; prefers evening calls"
SERVICE_NOTE = "Bunk 7 near the Marigold stairwell"
FACILITY = "Harbourlight House"
NARRATIVE = "Recruited via the Pomegranate Cafe noticeboard"
MESSAGE = "Please collect her from Juniper station"
LAWYER = "Barrister Ignatius Vandersloot"
SECRETS = (
    GIVEN,
    FAMILY,
    ALIAS,
    PHONE,
    EMAIL,
    DOCUMENT,
    ADDRESS,
    GUARDIAN,
    NOTE,
    SERVICE_NOTE,
    FACILITY,
    NARRATIVE,
    MESSAGE,
    LAWYER,
)


def db_file_bytes(app: Any) -> bytes:
    """Everything SQLite holds on disk for this database: the file, its WAL and shared memory."""
    path = Path(get_db(app).engine.url.database)
    blobs = [path.read_bytes()]
    for suffix in ("-wal", "-shm", "-journal"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            blobs.append(extra.read_bytes())
    return b"".join(blobs)


def checkpoint(app: Any) -> None:
    with get_db(app).engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


@pytest.fixture
def full_case(world, make_referral, make_consent):
    """The world's case with something in every place that can hold identifying data."""
    consent = make_consent(world.case, "assistance", given_by="guardian", method="guardian")
    make_referral(world.case, world.partner_org)
    with world.app.app_context():
        case = session.get(Case, world.case.id)
        session.get(Consent, consent.id).giver_name = GUARDIAN
        key = blind_index.organisation_key(case.owner_org_id)
        case.name_bidx = blind_index.name_index(GIVEN, FAMILY, key)
        case.document_bidx = blind_index.document_index(DOCUMENT, key)
        profile = TraffickingProfile(case=case, exploitation_types={"forced_labour"}, origin_country="NG")
        profile.narrative = NARRATIVE
        note = CaseNote(case=case, author_org_id=world.lead.id)
        note.body = NOTE
        shelter = ShelterStay(case=case, status="provided")
        shelter.facility = FACILITY
        shelter.notes = SERVICE_NOTE
        legal = LegalAssistance(case=case, status="provided", representative=LAWYER)
        session.add_all([profile, note, shelter, legal])
        referral = session.execute(select(Referral)).scalar_one()
        referral.message = MESSAGE
        grant = BreakGlassAccess(case_id=case.id, user_id=world.supervisor.id, expires_at=utcnow())
        grant.reason = f"Checking {FAMILY}"
        session.add(grant)
        session.commit()
        secrets = {
            "wrapped_key": case.wrapped_key,
            "name_bidx": case.name_bidx.encode(),
            "document_bidx": case.document_bidx.encode(),
        }
    return world, secrets


def erase(world: Any, client: Any = None, **overrides: Any) -> Any:
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


def test_after_erasure_no_readable_identifying_data_remains_in_the_database_file(full_case):
    world, secrets = full_case
    checkpoint(world.app)
    before = db_file_bytes(world.app)
    for key, value in secrets.items():
        assert value in before, key  # the search finds them while they exist
    assert LAWYER.encode() not in before  # staff free text is encrypted under the case's key

    response = erase(world)
    assert response.status_code == 302

    after = db_file_bytes(world.app)
    for value in SECRETS:
        assert value.encode() not in after, value
        assert value.encode("utf-16-le") not in after, value
    for key, value in secrets.items():
        assert value not in after, key  # the data key is gone from the file, not just unlinked


def test_every_encrypted_value_of_the_case_reads_as_erased(full_case):
    world, _ = full_case
    assert erase(world).status_code == 302
    with world.app.app_context():
        case = session.get(Case, world.case.id)
        assert case.erased_at is not None and case.erasure_reason == REASON
        assert case.name_bidx is None and case.document_bidx is None and case.name_dob_bidx is None
        for field in (
            "given_name",
            "family_name",
            "aliases",
            "phone",
            "email",
            "address",
            "document_number",
            "date_of_birth",
        ):
            assert getattr(case, field) is ERASED, field
        assert case.profile.narrative is ERASED
        assert all(note.body is ERASED for note in case.notes)
        shelter = session.execute(select(ShelterStay)).scalar_one()
        assert shelter.notes is ERASED and shelter.facility is ERASED
        assert session.execute(select(LegalAssistance)).scalar_one().representative is ERASED
        grant = session.execute(select(BreakGlassAccess)).scalar_one()
        assert grant.reason_ct is None and grant.reason is None  # its ciphertext went with the key
        consents = session.execute(select(Consent)).scalars().all()
        assert len(consents) == 2 and all(c.giver_name in (ERASED, None) for c in consents)
        assert any(c.giver_name is ERASED for c in consents)
        referral = session.execute(select(Referral)).scalar_one()
        assert referral.message is ERASED
        assert referral.status == "revoked" and referral.revoke_cause == "case_erased"
        # no research consent: the coded fields went too
        assert case.gender is None and case.age_at_registration is None and case.citizenship is None
        assert case.profile.exploitation_types is None and case.profile.origin_country is None
    actions = audit_actions(world.app)
    assert "case.erase" in actions and "referral.revoke" in actions


def test_coded_fields_stay_when_research_consent_is_in_force(world, make_consent):
    make_consent(world.case, "anonymised_research")
    assert erase(world).status_code == 302
    with world.app.app_context():
        case = session.get(Case, world.case.id)
        assert case.given_name is ERASED
        assert (case.gender, case.age_at_registration, case.citizenship) == ("female", 24, "NG")


def test_the_erased_case_is_gone_for_everyone(full_case):
    world, _ = full_case
    partner = world.client_for(world.partner)
    assert partner.get(f"/partners/cases/{world.case.id}").status_code == 200
    supervisor = world.client_for(world.supervisor)
    assert erase(world, supervisor).status_code == 302
    assert partner.get(f"/partners/cases/{world.case.id}").status_code == 404
    assert supervisor.get(f"/cases/{world.case.id}").status_code == 404
    assert erase(world, supervisor).status_code == 404


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"reason": "asked to"}, "at least 20 characters"),
        ({"reason": ""}, "This field is required"),
        ({"reason": "The person asked for erasure \x00 of the record"}, "control characters"),
        ({"confirm_reference": "CT-1999-000001"}, "not the reference of this case"),
        ({"confirm_reference": ""}, "This field is required"),
        ({"version_id": "abc"}, ""),
    ],
)
def test_bad_erasure_input_is_a_400_and_nothing_is_erased(world, overrides, message):
    response = erase(world, **overrides)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with world.app.app_context():
        case = session.get(Case, world.case.id)
        assert case.erased_at is None and case.given_name == GIVEN


def test_an_outdated_version_is_a_409_and_nothing_is_erased(world):
    response = erase(world, version_id=0)
    assert response.status_code == 409
    assert REASON in response.get_data(as_text=True)  # the reason typed is kept
    with world.app.app_context():
        assert session.get(Case, world.case.id).erased_at is None


def test_who_may_not_erase(world, make_user):
    outsider = make_user("supervisor", org=world.other_lead)
    break_glass = make_user("supervisor", org=world.other_lead)
    with world.app.app_context():
        session.add(
            BreakGlassAccess(
                case_id=world.case.id,
                user_id=break_glass.id,
                reason="Emergency lookup",
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        session.commit()
    for user, status in (
        (world.caseworker, 403), (world.partner, 403), (world.admin, 403), (world.researcher, 403),
        (outsider, 404), (break_glass, 403),
    ):  # fmt: skip
        client = world.client_for(user)
        assert client.get(f"/cases/{world.case.id}/erase").status_code == status
        assert erase(world, client).status_code == status
    with world.app.app_context():
        assert session.get(Case, world.case.id).erased_at is None


def test_the_erase_page_warns_not_to_write_identifying_details(world):
    page = world.client_for(world.supervisor).get(f"/cases/{world.case.id}/erase")
    assert page.status_code == 200
    assert "do not write names" in page.get_data(as_text=True)


def test_the_erase_page_says_what_happens_to_backups(world):
    """The README's threat model, not a promise it cannot keep: backups made before the erasure
    still hold the case's wrapped key until the master key that wrapped it is retired."""
    page = world.client_for(world.supervisor).get(f"/cases/{world.case.id}/erase").get_data(as_text=True)
    assert "including backups" not in page
    assert "Backups made before" in page and "master key" in page


def test_closed_date_is_kept_for_the_record(world):
    with world.app.app_context():
        case = session.get(Case, world.case.id)
        case.status, case.closed_on = "closed", date(2020, 1, 31)
        session.commit()
    assert erase(world).status_code == 302
    with world.app.app_context():
        case = session.get(Case, world.case.id)
        assert case.closed_on == date(2020, 1, 31) and case.reference == world.case.reference
