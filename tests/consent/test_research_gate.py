"""Gate: no anonymised research export includes a case without active research consent.

The export engineer tests their export; this tests the condition it must use,
``casework.access.active_consent_condition("anonymised_research", day)``, over a population.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import exists, select

from casework import access
from casework.cases.models import Case
from casework.consent.models import Consent
from casework.db import session

TODAY = date.today()
DAY = timedelta(days=1)


def test_research_condition_selects_only_cases_with_research_consent_in_force(app, world, make_case, make_consent):
    def new_case():
        return make_case(world.lead, assigned_to=world.caseworker)

    included = new_case()
    make_consent(included, "anonymised_research", given_on=TODAY - 100 * DAY)
    also_included = new_case()
    make_consent(also_included, "anonymised_research", decision="refused", given_on=TODAY - 9 * DAY)
    make_consent(also_included, "anonymised_research", given_on=TODAY - DAY)

    excluded = {}
    excluded["none"] = new_case()
    excluded["other_purpose"] = new_case()
    make_consent(excluded["other_purpose"], "assistance")
    excluded["refused"] = new_case()
    make_consent(excluded["refused"], "anonymised_research", decision="refused")
    excluded["expired"] = new_case()
    make_consent(excluded["expired"], "anonymised_research", given_on=TODAY - 400 * DAY, expires_on=TODAY - DAY)
    excluded["withdrawn"] = new_case()
    make_consent(excluded["withdrawn"], "anonymised_research", given_on=TODAY - 40 * DAY, withdrawn_on=TODAY - DAY)
    excluded["refused_later"] = new_case()
    make_consent(excluded["refused_later"], "anonymised_research", given_on=TODAY - 40 * DAY)
    make_consent(excluded["refused_later"], "anonymised_research", decision="refused", given_on=TODAY - DAY)
    excluded["not_yet"] = new_case()
    make_consent(excluded["not_yet"], "anonymised_research", given_on=TODAY + DAY)

    with app.app_context():
        consented = exists().where(
            Consent.case_id == Case.id, access.active_consent_condition("anonymised_research", TODAY)
        )
        selected = set(session.execute(select(Case.id).where(consented)).scalars())
    assert selected == {included.id, also_included.id}
    assert not selected & {case.id for case in excluded.values()}
