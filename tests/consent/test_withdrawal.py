"""Withdrawal of consent: recorded with who and when; bad dates refused; twice is a 409."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from casework.consent.models import Consent
from casework.db import session
from tests.partners.world import audit_actions

TODAY = date.today()
DAY = timedelta(days=1)


def reload(app, consent_id) -> Consent:
    with app.app_context():
        consent = session.get(Consent, consent_id)
        session.expunge(consent)
        return consent


def test_withdrawal_records_who_and_when(world, make_consent):
    consent = make_consent(world.case, "anonymised_research", given_on=TODAY - 10 * DAY)
    client = world.client_for(world.caseworker)
    assert client.get(f"/consents/{consent.id}/withdraw").status_code == 200
    response = client.post(f"/consents/{consent.id}/withdraw", data={"withdrawn_on": (TODAY - DAY).isoformat()})
    assert response.status_code == 302
    withdrawn = reload(world.app, consent.id)
    assert withdrawn.withdrawn_on == TODAY - DAY
    assert withdrawn.withdrawal_recorded_by_id == world.caseworker.id
    assert withdrawn.withdrawal_recorded_at is not None
    assert "consent.withdraw" in audit_actions(world.app)
    history = client.get(f"/cases/{world.case.id}/consents").get_data(as_text=True)
    assert f"Withdrawn on {(TODAY - DAY).isoformat()}" in history


def test_withdrawing_twice_is_a_conflict_that_shows_what_is_on_record(world, make_consent):
    consent = make_consent(world.case, "assistance", given_on=TODAY - 10 * DAY)
    client = world.client_for(world.caseworker)
    first = (TODAY - 2 * DAY).isoformat()
    assert client.post(f"/consents/{consent.id}/withdraw", data={"withdrawn_on": first}).status_code == 302
    response = client.post(f"/consents/{consent.id}/withdraw", data={"withdrawn_on": TODAY.isoformat()})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert first in page and TODAY.isoformat() in page  # both: what is on record, what was entered
    assert reload(world.app, consent.id).withdrawn_on == TODAY - 2 * DAY


def test_a_refusal_cannot_be_withdrawn(world, make_consent):
    consent = make_consent(world.case, "assistance", decision="refused")
    client = world.client_for(world.caseworker)
    assert client.post(f"/consents/{consent.id}/withdraw", data={"withdrawn_on": TODAY.isoformat()}).status_code == 409
    assert reload(world.app, consent.id).withdrawn_on is None


def test_bad_withdrawal_dates_are_refused(world, make_consent):
    consent = make_consent(world.case, "assistance", given_on=TODAY - 10 * DAY)
    client = world.client_for(world.caseworker)
    for value, message in (
        ((TODAY + DAY).isoformat(), "cannot be in the future"),
        ((TODAY - 11 * DAY).isoformat(), "cannot be before consent was given"),
        ("yesterday", "Not a valid date"),
        ("", "This field is required"),
    ):
        response = client.post(f"/consents/{consent.id}/withdraw", data={"withdrawn_on": value})
        assert response.status_code == 400, value
        assert message in response.get_data(as_text=True)
    assert reload(world.app, consent.id).withdrawn_on is None


def test_who_may_not_withdraw(world, make_consent):
    consent = make_consent(world.case, "assistance")
    data = {"withdrawn_on": TODAY.isoformat()}
    for who, status in (("other_caseworker", 404), ("partner", 403), ("researcher", 403), ("admin", 403)):
        client = world.client_for(getattr(world, who))
        assert client.post(f"/consents/{consent.id}/withdraw", data=data).status_code == status, who
    client = world.client_for(world.caseworker)
    assert client.post(f"/consents/{uuid.uuid4()}/withdraw", data=data).status_code == 404
    assert reload(world.app, consent.id).withdrawn_on is None
    assert "consent.load" in audit_actions(world.app, outcome="refused")
