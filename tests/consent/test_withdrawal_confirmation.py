"""Issue 21: withdrawing a consent that referrals rest on says first which referrals it revokes,
and revokes them only once the user confirms (a POST with its CSRF token)."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

from casework.consent.models import Consent
from casework.db import session
from casework.partners.models import Referral

TODAY = date.today()


def status_of(app, referral_id) -> str:
    with app.app_context():
        return session.get(Referral, referral_id).status


def test_the_withdrawal_page_names_the_referrals_it_will_revoke(world, make_referral, make_consent):
    referral = make_referral(world.case, world.partner_org)
    unrelated = make_referral(world.case, world.other_partner_org)
    client = world.client_for(world.caseworker)
    page = client.get(f"/consents/{referral.consent_id}/withdraw")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert referral.reference in text and world.partner_org.name in text
    assert unrelated.reference not in text
    assert 'name="confirm_revocations"' in text


def test_no_referral_is_revoked_until_the_user_confirms(world, make_referral):
    referral = make_referral(world.case, world.partner_org)
    client = world.client_for(world.caseworker)
    url = f"/consents/{referral.consent_id}/withdraw"
    response = client.post(url, data={"withdrawn_on": TODAY.isoformat()})
    assert response.status_code == 400
    assert 'class="error-summary"' in response.get_data(as_text=True)
    assert status_of(world.app, referral.id) == "accepted"
    with world.app.app_context():
        assert session.get(Consent, referral.consent_id).withdrawn_on is None  # nothing half-saved
    # Without its CSRF token the confirmed form is refused too.
    refused = client.post(url, data={"withdrawn_on": TODAY.isoformat(), "confirm_revocations": "y"}, csrf=False)
    assert refused.status_code == 400 and status_of(world.app, referral.id) == "accepted"
    confirmed = {"withdrawn_on": TODAY.isoformat(), "confirm_revocations": "y", "shown_revocations": str(referral.id)}
    done = client.post(url, data=confirmed)
    assert done.status_code == 302
    assert status_of(world.app, referral.id) == "revoked"


def test_a_consent_nothing_rests_on_needs_no_confirmation(world, make_consent):
    consent = make_consent(world.case, "assistance", given_on=TODAY - timedelta(days=3))
    client = world.client_for(world.caseworker)
    page = client.get(f"/consents/{consent.id}/withdraw").get_data(as_text=True)
    assert 'name="confirm_revocations"' not in page
    assert client.post(f"/consents/{consent.id}/withdraw", data={"withdrawn_on": TODAY.isoformat()}).status_code == 302


def test_a_confirmation_holds_only_for_the_referrals_shown(world, make_referral):
    referral = make_referral(world.case, world.partner_org)
    client = world.client_for(world.caseworker)
    url = f"/consents/{referral.consent_id}/withdraw"
    page = client.get(url).get_data(as_text=True)
    assert f'value="{referral.id}"' in page  # the list shown rides with the form
    same_consent = SimpleNamespace(id=referral.consent_id)
    later = make_referral(world.case, world.partner_org, service_kind="legal", consent=same_consent)
    confirmed = {"withdrawn_on": TODAY.isoformat(), "confirm_revocations": "y", "shown_revocations": str(referral.id)}
    response = client.post(url, data=confirmed)
    assert response.status_code == 409
    assert later.reference in response.get_data(as_text=True)
    assert status_of(world.app, referral.id) == "accepted" and status_of(world.app, later.id) == "accepted"
