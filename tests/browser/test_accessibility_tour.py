"""Every role's pages on a phone and on a laptop, in English, French and Spanish (and, for three
roles, Arabic and Russian): each page loads without console errors and axe-core finds no serious
or critical violation on it (the check runs on every document a browser test opens: see
conftest.py). Nothing scrolls sideways on a phone."""

from __future__ import annotations

import io
from datetime import date

import pytest

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def world(app, make_org, make_user, make_case, make_consent, make_referral):
    from casework import access
    from casework.assistance import services as assistance
    from casework.auth.models import User
    from casework.cases.models import Case
    from casework.db import session
    from casework.documents import services as documents
    from casework.documents.store import store_for

    lead = make_org("Lead agency")
    partner_org = make_org("Partner NGO", kind="partner_ngo")
    people = {
        "caseworker": make_user("caseworker", org=lead, display_name="Carla Caseworker"),
        "supervisor": make_user("supervisor", org=lead, display_name="Sam Supervisor"),
        "admin": make_user("admin", org=lead, display_name="Ada Admin"),
        "operator": make_user("operator", org=make_org("Platform"), display_name="Otto Operator"),
        "researcher": make_user("researcher", display_name="Rita Researcher"),
        "partner": make_user("partner", org=partner_org, display_name="Paolo Partner"),
    }
    case = make_case(
        lead,
        assigned_to=people["caseworker"],
        given_name="Fatima",
        family_name="Al-Sayed",
        opened_on=date(2025, 2, 3),
        profile={"exploitation_types": frozenset({"forced_labour"})},
    )
    make_consent(case, "assistance")
    referral = make_referral(
        case, partner_org, scope=("given_name", "age", "needs", "documents_photo"), status="accepted"
    )
    with app.test_request_context():
        user = session.get(User, people["caseworker"].id)
        grant = access.grant_for(user, session.get(Case, case.id))
        service = assistance.create_service(grant, "shelter", {"status": "in_progress", "started_on": date(2025, 3, 1)})
        document = documents.upload(
            grant,
            kind="photo",
            title="Photo at registration",
            source=io.BytesIO(_png()),
            filename="photo.png",
            attachment=documents.Attachment(),
            store=store_for(app),
            max_bytes=1024 * 1024,
        )
        session.commit()
        service_id = service.id
        document_id = document.id
    return people, case, referral, service_id, document_id


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (600, 400), (40, 90, 160)).save(out, format="PNG")
    return out.getvalue()


def pages_of(role: str, case, referral, service_id, document_id) -> list[str]:
    staff = [
        "/home",
        "/tasks/",
        f"/cases/{case.id}/tasks",
        "/reports/",
        "/cases/",
        "/cases/search",
        "/cases/new",
        f"/cases/{case.id}",
        *(f"/cases/{case.id}?tab={tab}" for tab in ("plan", "assessments", "notes", "management")),
        f"/cases/{case.id}/plan/goals/new",
        f"/cases/{case.id}/plan/review",
        f"/cases/{case.id}/closure",
        f"/cases/{case.id}/assessments/new?kind=risk_safety",
        f"/cases/{case.id}/assessments/new?kind=screening",
        f"/cases/{case.id}/edit",
        f"/cases/{case.id}/profile",
        f"/cases/{case.id}/timeline",
        f"/cases/{case.id}/consents",
        f"/cases/{case.id}/consents/new",
        f"/cases/{case.id}/referrals/new",
        f"/cases/{case.id}/summary",
        f"/cases/{case.id}/summary?recipient=victim",
        f"/cases/{case.id}/assistance/shelter/new",
        f"/assistance/{service_id}",
        f"/assistance/{service_id}/edit",
        f"/cases/{case.id}/documents",
        f"/cases/{case.id}/documents/new",
        f"/documents/{document_id}",
        f"/documents/{document_id}/replace",
        f"/documents/{document_id}/delete",
        "/auth/password",
    ]
    return {
        "caseworker": staff,
        "supervisor": [
            *staff, "/exports/settings", f"/audit/cases/{case.id}", "/cases/break-glass", "/notifications/",
            "/erasures/", f"/consents/{referral.consent_id}/withdraw",
        ],
        "admin": ["/admin/", "/admin/users", "/admin/users/new", "/erasures/"],
        "operator": ["/admin/", "/admin/users", "/admin/organisations", "/admin/organisations/new", "/audit/"],
        "researcher": ["/exports/"],
        "partner": [
            "/partners/portal", "/partners/portal?status=accepted", "/partners/services",
            f"/partners/referrals/{referral.id}", f"/partners/cases/{case.id}",
            f"/cases/{case.id}/documents", f"/documents/{document_id}", "/home",
        ],
    }[role]  # fmt: skip


@pytest.mark.parametrize(
    ("role", "locale", "width"),
    [
        ("caseworker", "en-GB", 375),
        ("caseworker", "fr-FR", 1280),
        ("supervisor", "es-ES", 375),
        ("supervisor", "en-GB", 1280),
        ("admin", "fr-FR", 375),
        ("operator", "es-ES", 1280),
        ("researcher", "es-ES", 375),
        ("partner", "en-GB", 375),
        ("partner", "fr-FR", 1280),
        # Right to left, and Cyrillic (tests/browser/test_languages.py has a few pages in all five).
        ("supervisor", "ar", 375),
        ("caseworker", "ru-RU", 768),
        ("partner", "ar", 1280),
    ],
)
def test_every_page_of_a_role_is_accessible_and_fits(browsing, sign_in, world, role, locale, width):
    people, case, referral, service_id, document_id = world
    page = browsing.new_page(locale=locale, width=width)
    sign_in(page, people[role])
    sideways = []
    for path in pages_of(role, case, referral, service_id, document_id):
        response = page.goto(path)
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        assert page.get_attribute("html", "lang") == locale[:2]
        if not page.evaluate(NO_SIDEWAYS_SCROLL):
            sideways.append(path)
    assert sideways == [], f"pages that scroll sideways at {width}px"
    assert len(browsing.checked) >= len(pages_of(role, case, referral, service_id, document_id))
    browsing.assert_clean()
