"""What a caseworker does, in a real browser: sign in with the keyboard, register a case through
the duplicate check, find it by name, record each kind of assistance, meet a version conflict
without losing anything, and switch the interface to French and Spanish. Every page must load
without console errors or Content-Security-Policy violations (see conftest.py)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.browser.support import ASSISTANCE, case_reference, heading, register, submit

pytestmark = pytest.mark.browser

FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return "body";
  return e.id || `${e.tagName.toLowerCase()}[type=${e.getAttribute("type") || ""}]`;
}"""


@pytest.fixture
def org(make_org):
    return make_org("Lead agency")


@pytest.fixture
def caseworker(make_user, org):
    return make_user("caseworker", org=org, display_name="Carla Caseworker")


@pytest.fixture
def supervisor(make_user, org):
    return make_user("supervisor", org=org, display_name="Sam Supervisor")  # TOTP on


def test_sign_in_with_the_keyboard_only(browsing, caseworker):
    page = browsing.new_page()
    page.goto("/auth/login")
    assert page.evaluate(FOCUSED) == "email", "the email field has the focus when the page opens"

    # From the first link of the page (skip link), Tab walks the header, then email, password, submit.
    page.focus(".skip-link")
    order = [page.evaluate(FOCUSED)]
    for _ in range(12):
        page.keyboard.press("Tab")
        order.append(page.evaluate(FOCUSED))
        if order[-1] == "button[type=submit]" and "password" in order:
            break
    assert order[0] != "email" and "language-select" in order
    email = order.index("email")
    assert order[email : email + 3] == ["email", "password", "button[type=submit]"], order

    page.focus("#email")
    page.keyboard.type(caseworker.email)
    page.keyboard.press("Tab")
    page.keyboard.type(caseworker.test_password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/home")
    assert heading(page) == "Work list"


def test_register_a_case_through_the_duplicate_check_and_find_it(browsing, sign_in, caseworker):
    page = browsing.new_page()
    sign_in(page, caseworker)

    assert register(page, "Amina", "Okafor") == 200
    assert page.locator(".flash-success").inner_text().startswith("Case CT-")
    first_reference = case_reference(page)

    # The same name again: nothing is saved until the caseworker decides on the possible duplicate.
    assert register(page, "AMINA", "okafor") == 200
    duplicates = page.locator("#duplicates")
    assert duplicates.is_visible()
    assert first_reference in duplicates.inner_text()
    page.check("#duplicate-new")
    assert submit(page, "#confirm-registration") == 200
    second_reference = case_reference(page)
    assert second_reference != first_reference

    # The name search is a POST form (no name in the URL); it finds both cases.
    page.goto("/cases/search")
    page.fill("#full_name", "okafor amina")
    assert submit(page, "#search-submit") == 200
    assert page.url.endswith("/cases/search")
    results = page.locator("#search-results")
    assert "2 cases found" in results.inner_text()
    assert first_reference in results.inner_text() and second_reference in results.inner_text()
    browsing.assert_clean()


def test_record_one_assistance_of_each_kind(browsing, sign_in, caseworker, org, make_case):
    case = make_case(org, assigned_to=caseworker)
    page = browsing.new_page()
    sign_in(page, caseworker)
    for kind, fill in ASSISTANCE.items():
        page.goto(f"/cases/{case.id}?tab=assistance")
        with page.expect_navigation():
            page.click(f"a[href$='/assistance/{kind}/new']")
        page.select_option("#status", "in_progress")
        page.fill("#started_on", "2025-03-15")
        fill(page)
        assert submit(page) == 200, f"{kind}: {page.locator('.error-summary').all_inner_texts()}"
        assert "/assistance/" in page.url
        assert page.locator(".flash-success").inner_text() == "Assistance recorded."

    page.goto(f"/cases/{case.id}?tab=assistance")
    rows = page.locator(".assistance-section tbody tr")
    assert rows.count() == len(ASSISTANCE)
    shown = rows.all_inner_texts()
    for label in ("Shelter", "Legal assistance", "Medical care", "Psychosocial support", "Return", "Reintegration"):
        assert any(text.startswith(label) for text in shown), label
    browsing.assert_clean()


def test_a_version_conflict_shows_both_versions_and_loses_nothing(
    browsing, sign_in, caseworker, supervisor, org, make_case
):
    case = make_case(org, assigned_to=caseworker, languages="English", opened_on=date(2025, 3, 14))
    mine = browsing.new_page()  # the caseworker
    theirs = browsing.new_page()  # the supervisor, with two-factor sign-in
    sign_in(mine, caseworker)
    sign_in(theirs, supervisor)
    for page in (mine, theirs):
        page.goto(f"/cases/{case.id}/edit")

    theirs.fill("#languages", "Tigrinya")
    assert submit(theirs, "#edit-submit") == 200
    assert theirs.locator(".flash-success").inner_text() == "Saved."

    mine.fill("#languages", "Arabic")
    mine.fill("#place_of_birth", "Asmara")
    browsing.expect_status(409)
    assert submit(mine, "#edit-submit") == 409
    assert heading(mine) == "This case was changed by someone else"
    row = mine.locator("#conflict-languages")
    assert "differs" in row.inner_text()
    assert row.locator(".theirs").inner_text() == "Tigrinya"
    assert row.locator(".yours").inner_text() == "Arabic"
    # Nothing lost: the form below still holds every value the caseworker typed.
    assert mine.input_value("#languages") == "Arabic"
    assert mine.input_value("#place_of_birth") == "Asmara"

    assert submit(mine, "#edit-submit") == 200
    assert mine.locator(".flash-success").inner_text() == "Saved."
    assert "Arabic" in mine.inner_text("main") and "Asmara" in mine.inner_text("main")
    browsing.assert_clean()


def test_switch_language_to_french_then_spanish(browsing, sign_in, caseworker):
    page = browsing.new_page()
    sign_in(page, caseworker)
    assert heading(page) == "Work list"

    for language, dashboard, cases in (("fr", "Liste de travail", "Dossiers"), ("es", "Lista de trabajo", "Casos")):
        with page.expect_navigation():
            page.select_option("#language-select", language)  # submits on change (casework.js)
        assert page.get_attribute("html", "lang") == language
        assert page.url.endswith("/home"), "the switcher returns to the same page"
        assert heading(page) == dashboard
        page.goto("/cases/")  # the choice holds on the next pages
        assert heading(page) == cases
        assert page.input_value("#language-select") == language
        page.goto("/home")
    browsing.assert_clean()
