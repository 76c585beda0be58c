"""Issue 21: a partner reads what it is asked before it answers, and finds its way among its
referrals (filters that work without scripts, pages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from casework.db import session
from casework.partners.models import Referral
from tests.partners.world import DOCUMENT, FAMILY, GIVEN, PHONE

ASKED = f"Please take {GIVEN} {FAMILY} tonight; call {PHONE}, passport {DOCUMENT}. She needs a quiet room."


def with_message(app, referral, message=ASKED):
    with app.app_context():
        row = session.get(Referral, referral.id)
        row.message = message
        session.commit()
    return referral


def test_a_pending_referral_shows_the_referrers_message_with_the_person_masked(world, make_referral):
    referral = make_referral(world.case, world.partner_org, status="pending")
    with_message(world.app, referral, f"{ASKED} Our file: {world.case.reference}.")
    page = world.client_for(world.partner).get(f"/partners/referrals/{referral.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "She needs a quiet room." in text  # what is asked, before accepting
    for identifying in (GIVEN, FAMILY, PHONE, DOCUMENT, world.case.reference):
        assert identifying not in text  # nothing of the person before acceptance


def test_the_message_stays_hidden_from_other_partners_and_once_the_consent_is_gone(world, make_referral):
    referral = with_message(world.app, make_referral(world.case, world.partner_org, status="pending"))
    other = world.client_for(world.other_partner).get(f"/partners/referrals/{referral.id}")
    assert other.status_code == 404 and "quiet room" not in other.get_data(as_text=True)
    with world.app.app_context():
        from casework.consent.models import Consent

        session.execute(
            update(Consent).where(Consent.id == referral.consent_id).values(withdrawn_on=datetime.now(UTC).date())
        )
        session.commit()
    page = world.client_for(world.partner).get(f"/partners/referrals/{referral.id}").get_data(as_text=True)
    assert "quiet room" not in page


def _sent(app, referral, days_ago):
    with app.app_context():
        session.execute(
            update(Referral)
            .where(Referral.id == referral.id)
            .values(created_at=datetime.now(UTC) - timedelta(days=days_ago))
        )
        session.commit()


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_portal_filters_by_status_date_and_reference_without_scripts(world, make_case, make_referral, database):
    """(On PostgreSQL too: a referral's reference is its id's first hex digits, read in SQL.)"""
    accepted = make_referral(world.case, world.partner_org, service_kind="shelter")
    other_case = make_case(world.lead, assigned_to=world.caseworker)
    pending = make_referral(other_case, world.partner_org, status="pending", service_kind="legal")
    _sent(world.app, accepted, 40)
    client = world.client_for(world.partner)

    by_status = client.get("/partners/portal?status=pending").get_data(as_text=True)
    assert pending.reference in by_status and accepted.reference not in by_status
    recent = (datetime.now(UTC).date() - timedelta(days=7)).isoformat()
    by_date = client.get(f"/partners/portal?sent_from={recent}").get_data(as_text=True)
    assert pending.reference in by_date and accepted.reference not in by_date
    by_reference = client.get(f"/partners/portal?q={accepted.reference.lower()}").get_data(as_text=True)
    assert accepted.reference in by_reference and pending.reference not in by_reference
    by_case = client.get(f"/partners/portal?q={world.case.reference}").get_data(as_text=True)
    assert accepted.reference in by_case  # a case it may see, by its reference
    hidden = client.get(f"/partners/portal?q={other_case.reference}").get_data(as_text=True)
    assert pending.reference not in hidden  # a pending referral's case reference finds nothing


def test_the_portal_refuses_bad_filters_with_a_message(world):
    client = world.client_for(world.partner)
    for query in ("status=nonsense", "sent_from=2025-13-40", "sent_from=2025-05-01&sent_to=2025-04-01", "page=0"):
        response = client.get(f"/partners/portal?{query}")
        assert response.status_code == 400, query
        assert 'class="error-summary"' in response.get_data(as_text=True), query


def test_the_portal_pages(world, make_case, make_referral):
    made = [make_referral(make_case(world.lead), world.partner_org, status="pending") for _ in range(27)]
    client = world.client_for(world.partner)
    first = client.get("/partners/portal").get_data(as_text=True)
    second = client.get("/partners/portal?page=2").get_data(as_text=True)
    shown = [r.reference for r in made if r.reference in first] + [r.reference for r in made if r.reference in second]
    assert sorted(shown) == sorted(r.reference for r in made)
    assert 'rel="next"' in first and "page=2" in first
