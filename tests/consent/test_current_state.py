"""The current consent state is derived from the records (latest decision wins; expired or
withdrawn = none) and the SQL gate in casework.access agrees with it in every case."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import exists, select

from casework import access
from casework.cases.models import Case
from casework.consent import services
from casework.consent.models import Consent
from casework.db import session

TODAY = date.today()
DAY = timedelta(days=1)

# name -> list of consent records (kwargs for make_consent), in the order they are recorded;
# and whether consent is in force today.
SCENARIOS = {
    "granted": ([{}], True),
    "granted_then_refused": ([{"given_on": TODAY - 10 * DAY}, {"decision": "refused", "given_on": TODAY - DAY}], False),
    "expired_yesterday": ([{"given_on": TODAY - 30 * DAY, "expires_on": TODAY - DAY}], False),
    "expires_today": ([{"given_on": TODAY - 30 * DAY, "expires_on": TODAY}], True),
    "withdrawn_today": ([{"given_on": TODAY - 30 * DAY, "withdrawn_on": TODAY}], False),
    "withdrawn_tomorrow_is_still_in_force": ([{"given_on": TODAY - 30 * DAY, "withdrawn_on": TODAY + DAY}], True),
    "older_grant_superseded_by_withdrawn_newer": (
        [{"given_on": TODAY - 30 * DAY}, {"given_on": TODAY - 5 * DAY, "withdrawn_on": TODAY - DAY}],
        False,
    ),
    "refused_then_granted": ([{"decision": "refused", "given_on": TODAY - 9 * DAY}, {"given_on": TODAY - DAY}], True),
    "granted_in_the_future": ([{"given_on": TODAY + DAY}], False),
    "same_day_refusal_recorded_later": ([{"given_on": TODAY}, {"decision": "refused", "given_on": TODAY}], False),
    "none": ([], False),
}


def sql_says_active(case_id, purpose: str, org_id=None) -> bool:
    condition = exists().where(Consent.case_id == Case.id, access.active_consent_condition(purpose, TODAY, org_id))
    return session.execute(select(Case.id).where(Case.id == case_id, condition)).first() is not None


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_python_and_sql_agree_on_the_current_state(app, world, make_case, make_consent, name):
    records, expected = SCENARIOS[name]
    case = make_case(world.lead, assigned_to=world.caseworker)
    for record in records:
        make_consent(case, "anonymised_research", **record)
    with app.app_context():
        in_python = services.active_consent(case.id, "anonymised_research") is not None
        assert in_python is expected
        assert sql_says_active(case.id, "anonymised_research") is expected


def test_states_per_purpose_and_per_organisation(app, world, make_consent):
    case = world.case
    make_consent(case, "referral_sharing", organisation=world.partner_org, given_on=TODAY - 3 * DAY)
    make_consent(case, "referral_sharing", organisation=world.other_partner_org, decision="refused")
    make_consent(case, "law_enforcement_cooperation", given_on=TODAY - 40 * DAY, expires_on=TODAY - 10 * DAY)
    with app.app_context():
        states = services.current_consents(case.id)
        assert states[("referral_sharing", world.partner_org.id)].state == "active"
        assert states[("referral_sharing", world.other_partner_org.id)].state == "refused"
        assert states[("law_enforcement_cooperation", None)].state == "expired"
        assert ("assistance", None) not in states
        # the same for a day in the past: before the consent to the partner was given
        earlier = services.current_consents(case.id, on=TODAY - 20 * DAY)
        assert ("referral_sharing", world.partner_org.id) not in earlier
        assert earlier[("law_enforcement_cooperation", None)].state == "active"
        # the SQL gate is per organisation
        assert sql_says_active(case.id, "referral_sharing", world.partner_org.id)
        assert not sql_says_active(case.id, "referral_sharing", world.other_partner_org.id)


def test_history_is_kept_and_shown_on_the_consent_section(app, world, make_consent):
    make_consent(world.case, "assistance", given_on=TODAY - 20 * DAY, notes="first conversation")
    make_consent(world.case, "assistance", decision="refused", given_on=TODAY - DAY, notes="changed their mind")
    client = world.client_for(world.caseworker)
    page = client.get(f"/cases/{world.case.id}/consents").get_data(as_text=True)
    assert "first conversation" in page and "changed their mind" in page
    assert "Refused" in page
