"""Redacted case summaries: only what the chosen recipient's consent and scope allow."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.cases.models import BreakGlassAccess, CaseNote, TraffickingProfile
from casework.db import session, utcnow
from tests.partners.world import ADDRESS, ALIAS, DOCUMENT, EMAIL, FAMILY, GIVEN, PHONE, audit_actions

TODAY = date.today()
NARRATIVE = "She was recruited by a neighbour with a fake job offer."


@pytest.fixture
def profiled(world):
    with world.app.app_context():
        profile = TraffickingProfile(case_id=world.case.id, exploitation_types={"forced_labour"})
        session.add(profile)
        profile.narrative = NARRATIVE
        note = CaseNote(case_id=world.case.id, author_org_id=world.lead.id, shareable=True)
        session.add(note)
        note.body = f"{FAMILY} asked us to call {PHONE}."
        session.commit()
    return world


def summary(client, case_id, **params):
    return client.get(f"/cases/{case_id}/summary", query_string=params)


def test_the_chooser_page_opens_without_parameters(world):
    response = summary(world.client_for(world.caseworker), world.case.id)
    assert response.status_code == 200
    assert GIVEN not in response.get_data(as_text=True)


def test_partner_summary_holds_only_the_referral_scope_with_masked_notes(profiled, make_referral):
    world = profiled
    referral = make_referral(world.case, world.partner_org, scope=("given_name", "age", "needs", "case_notes_shared"))
    response = summary(
        world.client_for(world.caseworker), world.case.id, recipient="partner", referral_id=str(referral.id)
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert GIVEN in text and "[name withheld] asked us to call [phone withheld]." in text
    for value in (FAMILY, ALIAS, PHONE, EMAIL, DOCUMENT, ADDRESS, NARRATIVE, "Forced labour"):
        assert value not in text
    with world.app.app_context():
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "summary.print")).scalar_one()
        assert event.details["recipient"] == "partner" and event.outcome == "ok"


def test_partner_summary_needs_consent_in_force(world, make_referral, make_consent):
    expired = make_consent(
        world.case, "referral_sharing", organisation=world.partner_org, given_on=TODAY - timedelta(days=90),
        expires_on=TODAY - timedelta(days=1),
    )  # fmt: skip
    referral = make_referral(world.case, world.partner_org, consent=expired)
    client = world.client_for(world.caseworker)
    response = summary(client, world.case.id, recipient="partner", referral_id=str(referral.id))
    assert response.status_code == 400
    assert "not in force" in response.get_data(as_text=True)
    assert GIVEN not in response.get_data(as_text=True)
    assert "summary.print" in audit_actions(world.app, outcome="refused")


def test_partner_summary_needs_a_referral_of_this_case(world, make_case, make_referral):
    other = make_case(world.lead, assigned_to=world.caseworker)
    foreign = make_referral(other, world.partner_org)
    client = world.client_for(world.caseworker)
    for params in ({"recipient": "partner"}, {"recipient": "partner", "referral_id": str(foreign.id)}):
        assert summary(client, world.case.id, **params).status_code == 400


def test_law_enforcement_gets_identity_and_offence_only_with_consent(profiled, make_consent):
    world = profiled
    client = world.client_for(world.caseworker)
    refused = summary(client, world.case.id, recipient="law_enforcement")
    assert refused.status_code == 400 and GIVEN not in refused.get_data(as_text=True)
    make_consent(world.case, "law_enforcement_cooperation")
    response = summary(client, world.case.id, recipient="law_enforcement")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert GIVEN in text and FAMILY in text and "1999-05-04" in text and "Forced labour" in text
    for value in (PHONE, EMAIL, ADDRESS, DOCUMENT, NARRATIVE):
        assert value not in text


def test_the_person_gets_everything_about_them(profiled):
    world = profiled
    response = summary(world.client_for(world.caseworker), world.case.id, recipient="victim")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    for value in (
        GIVEN,
        FAMILY,
        ALIAS,
        PHONE,
        EMAIL,
        ADDRESS,
        DOCUMENT,
        NARRATIVE,
        f"{FAMILY} asked us to call {PHONE}.",
    ):
        assert value in text


@pytest.mark.parametrize(
    "params",
    [
        {"recipient": "journalist"},
        {"recipient": ""},
        {"recipient": "partner", "referral_id": "not-a-uuid"},
        {"recipient": "partner", "referral_id": str(uuid.uuid4())},
    ],
)
def test_bad_summary_parameters_are_a_400(world, params):
    client = world.client_for(world.caseworker)
    assert summary(client, world.case.id, **params).status_code == 400
    assert client.get(f"/cases/{world.case.id}/summary.pdf", query_string=params).status_code == 400


def test_pdf_download_in_a_unicode_font(world, make_case, make_consent):
    case = make_case(world.lead, assigned_to=world.caseworker, given_name="Nguyễn Thị Ánh", family_name="Петрова-محمد")
    make_consent(case, "law_enforcement_cooperation")
    client = world.client_for(world.caseworker)
    for recipient in ("law_enforcement", "victim"):
        response = client.get(f"/cases/{case.id}/summary.pdf", query_string={"recipient": recipient})
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF")
        assert f"summary-{case.reference}-{recipient}.pdf" in response.headers["Content-Disposition"]
        assert response.headers["Cache-Control"] == "no-store"
    with world.app.app_context():
        formats = [
            e.details["format"]
            for e in session.execute(select(AuditEvent).where(AuditEvent.action == "summary.print")).scalars()
        ]
    assert formats == ["pdf", "pdf"]


def test_who_may_not_print_a_summary(world, make_user):
    break_glass = make_user("supervisor", org=world.other_lead)
    with world.app.app_context():
        session.add(
            BreakGlassAccess(
                case_id=world.case.id, user_id=break_glass.id, reason="Urgent", expires_at=utcnow() + timedelta(hours=1)
            )
        )
        session.commit()
    world.break_glass = break_glass
    for who, status in (
        ("researcher", 403), ("admin", 403), ("partner", 403), ("other_caseworker", 404), ("break_glass", 403),
    ):  # fmt: skip
        client = world.client_for(getattr(world, who))
        for path in ("summary", "summary.pdf"):
            response = client.get(f"/cases/{world.case.id}/{path}", query_string={"recipient": "victim"})
            assert response.status_code == status, (who, path)
            assert GIVEN not in response.get_data(as_text=True)


def test_the_pdf_holds_exactly_the_redacted_summary(world, make_referral, monkeypatch):
    from casework.partners import pdf

    rendered = []
    real_render = pdf.render

    def capture(built):
        rendered.append(built)
        return real_render(built)

    monkeypatch.setattr(pdf, "render", capture)
    referral = make_referral(world.case, world.partner_org, scope=("given_name", "age"))
    client = world.client_for(world.caseworker)
    query = {"recipient": "partner", "referral_id": str(referral.id)}
    assert client.get(f"/cases/{world.case.id}/summary.pdf", query_string=query).status_code == 200
    (built,) = rendered
    values = [line.value for section in built.sections for line in section.lines + section.texts]
    labels = [line.label for section in built.sections for line in section.lines]
    assert GIVEN in values and "24" in values
    assert labels == ["Given name", "Age at registration"]
