"""Issue 18: the case plan and the case file as a workbench, in a real browser.

- A caseworker adds a goal, records a review and asks to close; a supervisor approves both and
  closes the case (en, fr, es: the steps find buttons by id, never by their words).
- The case file on a phone (375 x 667): the summary header and the tab navigation are on the
  first screen, no tab needs 6,000 px of scrolling, nothing scrolls sideways. Screenshots go
  to CASEWORK_SCREENSHOTS (docs/screenshots/ holds the before/after of the case file).
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from casework.db import session
from tests.browser.support import submit

pytestmark = pytest.mark.browser

TODAY = date.today()
PHONE = (375, 667)
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def org(make_org):
    return make_org("Lead agency")


@pytest.fixture
def caseworker(make_user, org):
    return make_user("caseworker", org=org, display_name="Carla Caseworker")


@pytest.fixture
def supervisor(make_user, org):
    return make_user("supervisor", org=org, display_name="Sam Supervisor")


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR", "es-ES"])
def test_a_supervisor_approves_a_plan_review_and_a_closure(
    app, browsing, sign_in, make_case, org, caseworker, supervisor, locale
):
    from casework.assistance.models import ShelterStay

    case = make_case(org, assigned_to=caseworker)
    with app.app_context():  # an open item: closing needs approval
        session.add(ShelterStay(case_id=case.id, status="in_progress"))
        session.commit()
    worker = browsing.new_page(locale=locale)
    sign_in(worker, caseworker)
    worker.goto(f"/cases/{case.id}?tab=plan")
    worker.click("#add-goal")
    worker.select_option("#domain", "safety")
    worker.fill("#description", "Move to a safe house")
    assert submit(worker, "#goal-submit") == 200
    assert "Move to a safe house" in worker.inner_text("#plan-goals")
    worker.click("#review-plan")
    worker.fill("#reviewed_on", TODAY.isoformat())
    worker.fill("#next_review_on", (TODAY + timedelta(days=30)).isoformat())
    assert submit(worker, "#review-submit") == 200
    worker.goto(f"/cases/{case.id}?tab=management")
    worker.click("#request-closure")
    worker.fill("#summary", "Goals met")
    assert submit(worker, "#closure-submit") == 200

    boss = browsing.new_page(locale=locale)
    sign_in(boss, supervisor)
    for _request in range(2):  # the review, then the closure
        boss.goto(f"/cases/{case.id}?tab=plan")
        boss.click("#approvals a[id^=decide-]")
        boss.check("#decision-0")  # approve
        assert submit(boss, "#decision-submit") == 200
    boss.goto(f"/cases/{case.id}?tab=plan")
    assert boss.locator("#approvals a[id^=decide-]").count() == 0
    boss.goto(f"/cases/{case.id}?tab=management")
    boss.fill("#closed_on", TODAY.isoformat())
    assert submit(boss, "#close-submit") == 200
    with boss.expect_navigation():
        boss.click("#tab-management")
    assert boss.is_visible("#reopen-form")
    browsing.assert_clean()


@pytest.fixture
def busy_case(app, org, caseworker, make_case):
    """A case with a profile, assistance, a plan, two assessments and notes: a full case file."""
    from casework import access, vocab
    from casework.assessments import services as assessments
    from casework.assistance import services as assistance
    from casework.auth.models import User
    from casework.cases import services as cases
    from casework.cases.models import Case
    from casework.plans import services as plans

    made = make_case(
        org,
        assigned_to=caseworker,
        profile={"exploitation_types": frozenset({"forced_labour", "sexual_exploitation"})},
    )
    with app.test_request_context():
        user = session.get(User, caseworker.id)
        case = session.get(Case, made.id)
        grant = access.grant_for(user, case)
        for kind in ("shelter", "legal", "medical"):
            assistance.create_service(grant, kind, {"status": "in_progress", "started_on": date(2025, 3, 15)})
        for domain in ("safety", "housing", "legal_status"):
            plans.add_goal(grant, plans.GoalInput(domain, f"Goal about {domain}"))
        for score in ("severe", "mild"):
            answers = {item.code: score for item in vocab.RISK_ITEMS}
            assessments.record_assessment(
                grant, assessments.AssessmentInput("risk_safety", TODAY, answers, safety_plan="Call the hotline")
            )
        for n in range(6):
            cases.add_note(case, f"Visit {n}: all well.", False, user)
        session.commit()
    return made


@pytest.fixture
def screenshots(tmp_path_factory) -> Path:
    chosen = os.environ.get("CASEWORK_SCREENSHOTS")
    directory = Path(chosen) if chosen else tmp_path_factory.mktemp("workbench-screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def test_the_case_file_on_a_phone_shows_the_summary_and_the_tabs(browsing, sign_in, caseworker, busy_case, screenshots):
    width, height = PHONE
    page = browsing.new_page(width=width, height=height)
    sign_in(page, caseworker)
    page.goto(f"/cases/{busy_case.id}")
    page.screenshot(path=str(screenshots / "case-file-375-after.png"), full_page=True)
    page.screenshot(path=str(screenshots / "case-file-375-after-first-screen.png"))
    for element in ("#summary-header", "#case-tabs"):
        box = page.locator(element).bounding_box()
        assert box is not None and box["y"] < height, f"{element} is not on the first screen: {box}"
    assert page.inner_text("#summary-risk").startswith("Medium")  # the latest: 8 / 24, not the first's 24
    assert page.inner_text("#summary-services").strip() == "3"
    tabs = page.locator("#case-tabs a").evaluate_all("links => links.map(a => a.id.replace('tab-', ''))")
    assert "plan" in tabs and "assessments" in tabs
    faults = []
    for tab in tabs:
        with page.expect_navigation():
            page.click(f"#tab-{tab}")
        assert page.get_attribute(f"#tab-{tab}", "aria-current") == "page"
        tall = page.evaluate("() => document.documentElement.scrollHeight")
        if tall > 6000:
            faults.append(f"{tab}: {tall}px tall")
        if not page.evaluate(NO_SIDEWAYS_SCROLL):
            faults.append(f"{tab}: scrolls sideways")
        if tab == "assessments":
            page.screenshot(path=str(screenshots / "case-file-375-after-assessments.png"), full_page=True)
    assert faults == []
    browsing.assert_clean()
