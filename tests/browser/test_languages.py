"""Issue 21: a few key pages in every interface language (Arabic right to left) on a phone, a
tablet and a laptop: each says its language and direction, nothing scrolls sideways, and
axe-core finds no serious or critical violation (conftest.py checks every document opened)."""

from __future__ import annotations

from datetime import date

import pytest

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"
WIDTHS = (375, 768, 1280)


@pytest.fixture
def world(make_org, make_user, make_case, make_consent, make_referral):
    lead = make_org("Lead agency")
    partner_org = make_org("Partner NGO", kind="partner_ngo")
    caseworker = make_user("caseworker", org=lead, display_name="Carla Caseworker")
    partner = make_user("partner", org=partner_org, display_name="Paolo Partner")
    case = make_case(
        lead, assigned_to=caseworker, given_name="Fatima", family_name="Al-Sayed", opened_on=date(2025, 2, 3)
    )
    make_consent(case, "assistance")
    referral = make_referral(case, partner_org, scope=("given_name", "age", "needs"), status="accepted")
    return caseworker, partner, case, referral


@pytest.mark.parametrize(
    ("locale", "direction"), [("en-GB", "ltr"), ("fr-FR", "ltr"), ("es-ES", "ltr"), ("ar", "rtl"), ("ru-RU", "ltr")]
)
def test_key_pages_in_every_language_and_width(browsing, sign_in, world, locale, direction):
    caseworker, partner, case, referral = world
    journeys = [  # the partner's pages on a phone only: the suite stays under a minute
        (caseworker, ["/cases/", f"/cases/{case.id}", f"/consents/{referral.consent_id}/withdraw"], WIDTHS),
        (partner, ["/partners/portal", "/partners/services"], WIDTHS[:1]),
    ]
    sideways = []
    for user, paths, widths in journeys:
        page = browsing.new_page(locale=locale, width=widths[0])
        sign_in(page, user)
        for width in widths:
            page.set_viewport_size({"width": width, "height": 900})
            for path in paths:
                response = page.goto(path)
                assert response is not None and response.status == 200, f"{path}: {response and response.status}"
                assert (page.get_attribute("html", "lang"), page.get_attribute("html", "dir")) == (
                    locale[:2],
                    direction,
                )
                if not page.evaluate(NO_SIDEWAYS_SCROLL):
                    sideways.append(f"{path} @{width}px")
    assert sideways == []
    assert len(browsing.checked) >= 3 * 5
    browsing.assert_clean()
