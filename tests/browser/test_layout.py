"""Phones, tablets and laptops: the case list, the case file and the registration form at 375,
768 and 1280 CSS pixels. Nothing scrolls sideways, the first case shows on a phone's first
screen, reference numbers and dates never break across lines, the French header keeps to one
row, and dashboard figures lead to the cases they count. Screenshots of each page and width go
to a temporary directory (CASEWORK_SCREENSHOTS=DIR keeps them elsewhere); every page is also
checked by axe-core (conftest.py)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from casework.db import session

pytestmark = pytest.mark.browser

WIDTHS = (375, 768, 1280)
PHONE_HEIGHT = 667
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"
# Inline elements that hold one token (a reference, a date): one line box each.
BROKEN_TOKENS = """(selector) => Array.from(document.querySelectorAll(selector))
  .filter(e => e.getClientRects().length > 1).map(e => e.textContent)"""
# The tables this layout turns into cards (others, of other features, may scroll in their box).
OWN_TABLES = "#case-list, .assistance-section table, .duplicates-table"
WIDE_TABLES = """(selector) => Array.from(document.querySelectorAll(selector))
  .filter(t => t.parentElement.scrollWidth > t.parentElement.clientWidth + 1).map(t => t.id || t.className)"""
TOKENS = ".case-ref, .case-date"
LONG_NAMES = [
    ("Maria Fernanda Guadalupe", "Rodríguez-Villanueva de la Concepción"),
    ("Nguyễn Thị Minh", "Khai-Phạm"),
    ("Oluwaseun Adebayo", "Okonkwo-Chukwuemeka"),
    ("Анастасия Владимировна", "Константинопольская"),
]


@pytest.fixture
def lead(make_org):
    return make_org("Lead agency")


@pytest.fixture
def caseworker(make_user, lead):
    return make_user("caseworker", org=lead, display_name="Carla Caseworker-Longname")


@pytest.fixture
def supervisor(make_user, lead):
    return make_user("supervisor", org=lead, display_name="Sam Supervisor")


@pytest.fixture
def cases(app, lead, caseworker, make_case):
    """A dozen cases with long names, one of them with assistance, a note and a profile."""
    from casework import access
    from casework.assistance import services as assistance
    from casework.auth.models import User

    made = [
        make_case(
            lead,
            assigned_to=caseworker,
            given_name=LONG_NAMES[i % len(LONG_NAMES)][0],
            family_name=LONG_NAMES[i % len(LONG_NAMES)][1],
            opened_on=date(2025, 1 + i % 12, 10 + i),
            status=("open", "in_assistance", "closed")[i % 3],
            profile={"exploitation_types": frozenset({"forced_labour", "sexual_exploitation"})} if i == 0 else None,
        )
        for i in range(12)
    ]
    with app.test_request_context():
        from casework.cases.models import Case

        user = session.get(User, caseworker.id)
        case = session.get(Case, made[0].id)
        for kind in ("shelter", "legal", "medical"):
            assistance.create_service(
                access.grant_for(user, case), kind, {"status": "in_progress", "started_on": date(2025, 3, 15)}
            )
        session.commit()
    return made


@pytest.fixture
def screenshots(tmp_path_factory) -> Path:
    chosen = os.environ.get("CASEWORK_SCREENSHOTS")
    directory = Path(chosen) if chosen else tmp_path_factory.mktemp("layout-screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def look(page, screenshots: Path, name: str, width: int, faults: list[str]) -> None:
    """Screenshot the page; note it if it scrolls sideways, or if a table scrolls inside its box."""
    page.screenshot(path=str(screenshots / f"{name}-{width}.png"), full_page=True)
    page.screenshot(path=str(screenshots / f"{name}-{width}-first-screen.png"))
    if not page.evaluate(NO_SIDEWAYS_SCROLL):
        sizes = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        faults.append(f"{name} at {width}px scrolls sideways: {sizes}")
    wide = page.evaluate(WIDE_TABLES, OWN_TABLES)
    if wide:
        faults.append(f"{name} at {width}px: tables scroll sideways inside their box: {wide}")
    broken = page.evaluate(BROKEN_TOKENS, TOKENS)
    if broken:
        faults.append(f"{name} at {width}px: references or dates broken across lines: {broken}")


@pytest.mark.parametrize("width", WIDTHS)
def test_case_list_case_file_and_registration_fit_the_width(browsing, sign_in, caseworker, cases, screenshots, width):
    page = browsing.new_page(width=width, height=PHONE_HEIGHT if width == 375 else 900)
    sign_in(page, caseworker)
    faults: list[str] = []

    page.goto("/cases/")
    look(page, screenshots, "case-list", width, faults)
    if width == 375:
        # The filters fold away: the first case starts on the first screen.
        first = page.locator("#case-list tbody tr").first.bounding_box()
        if first is None or first["y"] > PHONE_HEIGHT:
            faults.append(f"the first case starts at {first and first['y']}px, below the first screen")
        if page.is_visible("#status"):
            faults.append("the filters are unfolded on a phone")
        else:
            page.click("#case-filters summary")
            assert page.is_visible("#status")

    page.goto(f"/cases/{cases[0].id}")
    look(page, screenshots, "case-file", width, faults)
    page.goto("/cases/new")
    look(page, screenshots, "registration", width, faults)
    assert faults == []
    browsing.assert_clean()


def test_french_header_keeps_to_one_row_on_a_laptop(browsing, sign_in, supervisor, screenshots):
    page = browsing.new_page(locale="fr-FR", width=1280)
    sign_in(page, supervisor)
    assert page.get_attribute("html", "lang") == "fr"
    page.screenshot(path=str(screenshots / "header-fr-1280.png"))
    brand = page.locator(".site-header .brand").bounding_box()
    language = page.locator("#language-select").bounding_box()
    nav = page.locator(".main-nav").bounding_box()
    assert brand and language and nav
    # The language picker sits level with the brand; the navigation keeps to one row of its own.
    assert abs((language["y"] + language["height"] / 2) - (brand["y"] + brand["height"] / 2)) < 12, (brand, language)
    assert nav["height"] < 2 * brand["height"], nav
    browsing.assert_clean()


def test_dashboard_figures_lead_to_the_cases_they_count(browsing, sign_in, supervisor, cases):
    page = browsing.new_page()
    sign_in(page, supervisor)
    page.goto("/reports/")
    open_cases = page.locator("#stat-open-cases a.stat-link")
    shown = int(open_cases.locator(".stat-value").inner_text())
    with page.expect_navigation():
        open_cases.click()
    assert "/cases/" in page.url and "status=active" in page.url
    assert page.locator("#case-count").inner_text().startswith(f"{shown} case")
    page.goto("/reports/")
    with page.expect_navigation():
        page.click("#stat-open-cases a[href*='status=in_assistance']")
    assert page.locator("#case-list tbody tr").count() == sum(1 for i in range(12) if i % 3 == 1)
    browsing.assert_clean()
