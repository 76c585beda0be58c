"""Country pickers in a real browser: a type-ahead box that finds a country by any word of its
name in the reader's language, chosen with the keyboard, and a plain select without JavaScript."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def caseworker(make_user, make_org):
    return make_user("caseworker", org=make_org("Lead agency"), display_name="Carla Caseworker")


def test_type_ahead_finds_a_country_by_a_word_of_its_name_and_the_keyboard_picks_it(browsing, sign_in, caseworker):
    page = browsing.new_page()
    sign_in(page, caseworker)
    page.goto("/cases/new")
    assert not page.is_visible("#citizenship")  # the select is hidden behind its type-ahead box
    box = page.locator("#citizenship-typeahead")
    assert box.get_attribute("role") == "combobox"
    assert page.locator("label[for='citizenship-typeahead']").inner_text().startswith("Citizenship")

    box.click()
    box.type("kingd")
    options = page.locator("#citizenship-typeahead + [role=listbox] [role=option]")
    assert options.all_inner_texts() == ["United Kingdom"]
    assert box.get_attribute("aria-expanded") == "true"
    box.press("Enter")  # picks the highlighted option, does not submit the form
    assert page.url.endswith("/cases/new")
    assert page.input_value("#citizenship") == "GB"
    assert box.input_value() == "United Kingdom"

    # Accents do not matter, arrows move through the matches, Escape keeps the choice made.
    country = page.locator("#country_of_exploitation-typeahead")
    country.click()
    country.type("cote")
    assert page.locator("#country_of_exploitation-typeahead + [role=listbox] [role=option]").first.inner_text() == (
        "Côte d’Ivoire"
    )
    country.press("ArrowDown")
    country.press("Enter")
    assert page.input_value("#country_of_exploitation") == "CI"
    country.fill("no such place")
    country.press("Escape")
    assert country.input_value() == "Côte d’Ivoire" and page.input_value("#country_of_exploitation") == "CI"

    # A half-typed word is never taken for a country: leaving the box restores the answer.
    box.fill("Fra")
    page.focus("#languages")
    assert page.input_value("#citizenship") == "GB" and box.input_value() == "United Kingdom"
    # Emptying the box clears the answer ("not recorded").
    box.fill("")
    page.focus("#languages")
    assert page.input_value("#citizenship") == ""
    browsing.assert_clean()


def test_type_ahead_in_french_matches_french_names(browsing, sign_in, caseworker):
    page = browsing.new_page(locale="fr-FR")
    sign_in(page, caseworker)
    page.goto("/cases/new")
    assert page.get_attribute("html", "lang") == "fr"
    box = page.locator("#citizenship-typeahead")
    box.click()
    box.type("allem")
    assert page.locator("#citizenship-typeahead + [role=listbox] [role=option]").all_inner_texts() == ["Allemagne"]
    box.press("Enter")
    assert page.input_value("#citizenship") == "DE"
    browsing.assert_clean()


def test_without_javascript_the_picker_is_a_plain_select_in_name_order(browser, live_server, sign_in, caseworker):
    context = browser.new_context(base_url=live_server, java_script_enabled=False, locale="en-GB")
    try:
        page = context.new_page()
        sign_in(page, caseworker)
        page.goto("/cases/new")
        assert page.is_visible("#citizenship")
        assert page.locator("#citizenship-typeahead").count() == 0
        names = page.locator("#citizenship option").all_inner_texts()
        assert names[2:5] == ["Afghanistan", "Åland Islands", "Albania"]
        page.select_option("#citizenship", "DE")
        assert page.input_value("#citizenship") == "DE"
    finally:
        context.close()
