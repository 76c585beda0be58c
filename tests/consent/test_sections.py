"""The case file's consent and referral sections load in a fixed number of queries."""

from __future__ import annotations

from casework.access import redact
from casework.cases.models import Case
from casework.consent.views import section_data as consent_section
from casework.db import session
from casework.partners.presenters import section_data as partner_section


def queries_for_sections(world, query_counter) -> int:
    from casework.auth.models import User

    with world.app.test_request_context():
        user = session.get(User, world.caseworker.id)
        case = session.get(Case, world.case.id)
        rcase = redact(user, case)
        with query_counter() as counted:
            consents = consent_section(rcase)
            referrals = partner_section(rcase)
            # touch what the templates show: names, decrypted values, organisations
            shown = [(c.giver_name, c.notes, consents.org(c.organisation_id)) for c in consents.history]
            shown += [(r.status, referrals.org(r.to_org_id)) for r in referrals.referrals]
        assert shown
        return counted.n


def test_sections_do_not_query_per_record(world, make_org, make_consent, make_referral, query_counter):
    make_consent(world.case, "assistance", given_by="guardian", method="guardian")
    make_referral(world.case, world.partner_org)
    few = queries_for_sections(world, query_counter)
    for i in range(5):
        org = make_org(f"Partner {i}", kind="partner_ngo")
        make_consent(world.case, "assistance", notes=f"conversation {i}")
        make_referral(world.case, org)
    assert queries_for_sections(world, query_counter) == few


def test_sections_are_not_for_partners(world, make_referral):
    from casework.auth.models import User

    make_referral(world.case, world.partner_org, scope=("given_name", "case_notes_shared", "needs"))
    with world.app.test_request_context():
        partner = session.get(User, world.partner.id)
        rcase = redact(partner, session.get(Case, world.case.id))
        assert consent_section(rcase) is None
        assert partner_section(rcase) is None
