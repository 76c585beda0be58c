"""A caseworker's day in a real browser, in English, French and Spanish: sign in onto the work
list, see a deadline derived from a recorded permit expiry, follow the overdue count to the
filtered list, open the task and mark it done, then find the person by part of her name."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.browser.support import heading, submit

pytestmark = pytest.mark.browser

HEADINGS = {"en": "Work list", "fr": "Liste de travail", "es": "Lista de trabajo"}
PERMIT = {"en": "Residence permit expires", "fr": "Le titre de séjour expire", "es": "El permiso de residencia vence"}


@pytest.fixture
def caseworker(make_user, make_org):
    return make_user("caseworker", org=make_org("Lead agency"), display_name="Carla Caseworker")


@pytest.fixture
def amara(app, caseworker):
    """A case registered through the service (name tokens included) with a permit expiring."""
    from casework.assistance.models import LegalAssistance
    from casework.auth.models import User
    from casework.cases import services
    from casework.db import session

    with app.test_request_context():
        actor = session.get(User, caseworker.id)
        details = services.CaseDetails(
            given_name="Amara", family_name="Okafor", gender="female", citizenship="NG", opened_on=date(2025, 3, 14)
        )
        case = services.register_case(details, actor)
        session.add(
            LegalAssistance(case_id=case.id, status="in_progress", permit_expires_on=date.today() + timedelta(days=20))
        )
        session.commit()
        return case.reference


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_work_list_and_search(browsing, sign_in, caseworker, amara, language):
    page = browsing.new_page(locale={"en": "en-GB", "fr": "fr-FR", "es": "es-ES"}[language])
    sign_in(page, caseworker)
    assert page.url.endswith("/home")
    assert page.get_attribute("html", "lang") == language
    assert heading(page) == HEADINGS[language]
    assert page.inner_text("#count-overdue").startswith("1 ")

    with page.expect_navigation():
        page.click("#count-overdue")
    assert page.url.endswith("/tasks/?due=overdue")
    row = page.locator("table.tasks tbody tr")
    assert row.count() == 1 and amara in row.inner_text() and PERMIT[language] in row.inner_text()
    with page.expect_navigation():
        row.locator("a").first.click()
    page.select_option("#action", "done")
    assert submit(page, "#task-status-submit") == 200
    page.goto("/home")
    assert page.inner_text("#count-overdue").startswith("0 ")

    page.goto("/cases/search")
    page.fill("#full_name", "amar")
    assert submit(page, "#search-submit") == 200
    assert amara in page.inner_text("#search-results")
    browsing.assert_clean()
