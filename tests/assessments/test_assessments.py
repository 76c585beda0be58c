"""Issue 18.5: assessments, versioned and scored; the screening interview; free text encrypted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from casework import vocab
from casework.db import session

TODAY = date.today().isoformat()


@pytest.fixture
def case(make_case: Callable[..., Any], org: Any, caseworker: Any) -> Any:
    return make_case(org, assigned_to=caseworker)


def risk_form(score: str, **extra: str) -> dict[str, str]:
    data = {f"item_{item.code}": score for item in vocab.RISK_ITEMS}
    data.update({"assessed_on": TODAY, "notes": "Zq assessor notes", "safety_plan": "Zq call the hotline"})
    data.update(extra)
    return data


def test_instrument_scoring() -> None:
    from casework.assessments.instruments import INSTRUMENTS, risk_level, score

    needs = INSTRUMENTS["needs_vulnerability"]
    scores, total, maximum = score(needs, {item.code: "moderate" for item in needs.items})
    assert (total, maximum) == (16, 24) and set(scores.values()) == {2}
    assert risk_level(needs, scores, total, maximum) == "high"  # 16 >= 2/3 of 24
    assert risk_level(needs, scores, 8, 24) == "medium"
    assert risk_level(needs, scores, 7, 24) == "low"
    risk = INSTRUMENTS["risk_safety"]
    one_severe = {item.code: 0 for item in risk.items} | {"self_harm": 3}
    assert risk_level(risk, one_severe, 3, 24) == "high"  # one severe risk is enough
    assert risk_level(INSTRUMENTS["screening"], {}, None, None) is None


def test_a_reassessment_keeps_the_history_with_scores(app: Flask, signed_in: Any, case: Any, caseworker: Any) -> None:
    from casework.assessments.models import Assessment

    client = signed_in(caseworker)
    first = client.post(f"/cases/{case.id}/assessments/new?kind=risk_safety", data=risk_form("severe"))
    assert first.status_code == 302 and "tab=assessments" in first.headers["Location"]
    second = client.post(f"/cases/{case.id}/assessments/new?kind=risk_safety", data=risk_form("none"))
    assert second.status_code == 302
    with app.app_context():
        rows = list(
            session.execute(
                select(Assessment).where(Assessment.case_id == case.id).order_by(Assessment.version)
            ).scalars()
        )
        versions = [(a.version, a.total_score, a.max_score, a.risk_level) for a in rows]
        assert versions == [(1, 24, 24, "high"), (2, 0, 24, "low")]
        assert b"Zq call" not in rows[0].safety_plan_ct and b"Zq assessor" not in rows[0].notes_ct
        first_id = rows[0].id
    history = client.get(f"/cases/{case.id}?tab=assessments").get_data(as_text=True)
    assert "Version 1" in history and "Version 2" in history
    assert "24 / 24" in history and "0 / 24" in history
    # The summary header shows the latest level.
    assert 'id="summary-risk"><span class="badge badge-ok">Low' in history
    old = client.get(f"/assessments/{first_id}").get_data(as_text=True)
    assert "Zq call the hotline" in old and "24 / 24" in old


def test_bad_input_is_refused_and_nothing_is_saved(app: Flask, signed_in: Any, case: Any, caseworker: Any) -> None:
    from casework.assessments.models import Assessment

    client = signed_in(caseworker)
    missing = risk_form("mild")
    del missing["item_debt"]
    assert client.post(f"/cases/{case.id}/assessments/new?kind=risk_safety", data=missing).status_code == 400
    tampered = risk_form("terrible")
    assert client.post(f"/cases/{case.id}/assessments/new?kind=risk_safety", data=tampered).status_code == 400
    future = risk_form("mild", assessed_on="2999-01-01")
    assert client.post(f"/cases/{case.id}/assessments/new?kind=risk_safety", data=future).status_code == 400
    assert client.post(f"/cases/{case.id}/assessments/new?kind=nope", data=risk_form("mild")).status_code == 400
    with app.app_context():
        assert session.execute(select(Assessment.id).where(Assessment.case_id == case.id)).first() is None


def test_the_screening_interview_is_its_own_form(app: Flask, signed_in: Any, case: Any, caseworker: Any) -> None:
    client = signed_in(caseworker)
    page = client.get(f"/cases/{case.id}/assessments/new?kind=screening").get_data(as_text=True)
    assert "Identity documents withheld by someone else" in page and 'name="outcome"' in page
    data = {f"item_{item.code}": "no" for item in vocab.SCREENING_INDICATORS}
    data.update(item_documents_withheld="yes", assessed_on=TODAY)
    assert client.post(f"/cases/{case.id}/assessments/new?kind=screening", data=data).status_code == 400
    data["outcome"] = "presumed_victim"
    assert client.post(f"/cases/{case.id}/assessments/new?kind=screening", data=data).status_code == 302
    tab = client.get(f"/cases/{case.id}?tab=assessments").get_data(as_text=True)
    assert "Presumed victim of trafficking" in tab


def test_partners_see_no_assessment_unless_shared(
    app: Flask,
    signed_in: Any,
    make_user: Callable[..., Any],
    make_org: Callable[..., Any],
    make_referral: Callable[..., Any],
    case: Any,
    caseworker: Any,
) -> None:
    from casework.assessments.models import Assessment

    signed_in(caseworker).post(f"/cases/{case.id}/assessments/new?kind=risk_safety", data=risk_form("mild"))
    with app.app_context():
        assessment_id = session.execute(select(Assessment.id)).scalar_one()
    partner_org = make_org("Shelter NGO", kind="partner_ngo")
    make_referral(case, partner_org, scope=("given_name",))
    partner = signed_in(make_user("partner", org=partner_org))
    assert partner.get(f"/assessments/{assessment_id}").status_code == 403
    page = partner.get(f"/partners/cases/{case.id}").get_data(as_text=True)
    assert "Zq call the hotline" not in page and "Risk and safety assessment" not in page


def test_a_referral_that_shares_them_shows_the_plan_and_assessments_masked(
    app: Flask,
    signed_in: Any,
    make_user: Callable[..., Any],
    make_org: Callable[..., Any],
    make_referral: Callable[..., Any],
    case: Any,
    caseworker: Any,
) -> None:
    worker = signed_in(caseworker)
    worker.post(f"/cases/{case.id}/assessments/new?kind=risk_safety", data=risk_form("mild"))
    worker.post(f"/cases/{case.id}/plan/goals/new", data={"domain": "housing", "description": "Testcase needs a flat"})
    partner_org = make_org("Shelter NGO", kind="partner_ngo")
    make_referral(case, partner_org, scope=("given_name", "case_plan", "assessments"))
    page = signed_in(make_user("partner", org=partner_org)).get(f"/partners/cases/{case.id}").get_data(as_text=True)
    assert "Risk and safety assessment" in page and "8 / 24, risk level Medium" in page
    assert "Zq call the hotline" in page and "Housing (Open)" in page
    # The family name is not in the referral's scope: masked in the goal's words.
    assert "needs a flat" in page and "Testcase needs" not in page
