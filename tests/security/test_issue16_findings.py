"""The findings of the external assessment (issue 16), one test each, through the web as the
assessor attacked: break-glass as lasting write access, partners reading withheld identifiers,
administrators of one organisation reaching another's cases, free text and secrets stored or
carried in clear. Each failed on the code before the fix (see the branch's report)."""

from __future__ import annotations

import base64
import json
import os
import stat
import zlib
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from casework.auth.models import User
from casework.cases.models import BreakGlassAccess, CaseNote
from casework.consent.models import Consent
from casework.db import get_db, session, utcnow
from casework.partners.models import Referral

REASON = "Police report a risk to the person tonight; owner agency unreachable by phone."


# -- a small world: two lead agencies, a partner NGO and a second one --------------------------
@pytest.fixture
def orgs(make_org):
    return {
        "owner": make_org("Owner Agency", kind="lead_agency"),
        "visitor": make_org("Visiting Agency", kind="lead_agency"),
        "ngo": make_org("Shelter NGO", kind="partner_ngo"),
        "ngo2": make_org("Clinic NGO", kind="partner_ngo"),
    }


@pytest.fixture
def case(orgs, make_user, make_case):
    worker = make_user("caseworker", org=orgs["owner"])
    return make_case(
        orgs["owner"],
        assigned_to=worker,
        given_name="Odalys",
        family_name="Zqbreakglass",
        phone="+234 803 555 0199",
        document_number="A99887766",
    )


def grant_break_glass(app, user, case) -> None:
    """The visitor holds an active grant (however it was obtained)."""
    with app.app_context():
        grant = BreakGlassAccess(
            case_id=case.id, user_id=user.id, granted_at=utcnow(), expires_at=utcnow() + timedelta(hours=4)
        )
        grant.reason = REASON
        session.add(grant)
        session.commit()


@pytest.fixture
def visitor(app, orgs, make_user, login, case):
    supervisor = make_user("supervisor", org=orgs["visitor"])
    client = app.test_client()
    login(client, supervisor)
    grant_break_glass(app, supervisor, case)
    return supervisor, client


def count(app, model, *where) -> int:
    with app.app_context():
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


# -- finding 1: break-glass is read-only -------------------------------------------------------
def test_break_glass_visitor_reads_the_case(visitor, case):
    _supervisor, client = visitor
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 200
    assert "Zqbreakglass" in response.get_data(as_text=True)


def test_break_glass_visitor_cannot_record_consent_in_the_victims_name(visitor, case, orgs, app):
    _supervisor, client = visitor
    response = client.post(
        f"/cases/{case.id}/consents/new",
        data={
            "purpose": "referral_sharing",
            "organisation_id": str(orgs["ngo"].id),
            "decision": "granted",
            "method": "verbal",
            "given_by": "victim",
            "given_on": date.today().isoformat(),
        },
    )
    assert response.status_code == 403
    assert count(app, Consent, Consent.case_id == case.id) == 0


def test_break_glass_visitor_cannot_refer_even_with_consent_in_force(visitor, case, orgs, app, make_consent):
    make_consent(case, "referral_sharing", organisation=orgs["ngo"])
    _supervisor, client = visitor
    response = client.post(
        f"/cases/{case.id}/referrals/new",
        data={
            "to_org_id": str(orgs["ngo"].id),
            "service_kind": "shelter",
            "field_scope": ["given_name", "date_of_birth", "contact_phone", "identity_document"],
            "confirm_sensitive": "y",
        },
    )
    assert response.status_code == 403
    assert count(app, Referral, Referral.case_id == case.id) == 0


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/cases/{id}/notes", {"body": "visitor note"}),
        ("/cases/{id}/edit", {"given_name": "Changed", "opened_on": "2025-03-14", "data_source": "case_management"}),
        ("/cases/{id}/profile", {}),
        ("/cases/{id}/assign", {"assigned_to": ""}),
        ("/cases/{id}/close", {"closed_on": "2025-04-01"}),
        ("/cases/{id}/reopen", {}),
        ("/cases/{id}/referrals/emergency", {"reason": REASON, "confirm": "y"}),
        ("/cases/{id}/assistance/shelter/new", {"status": "needed"}),
        ("/cases/{id}/erase", {"reason": REASON}),
    ],
)
def test_break_glass_visitor_can_change_nothing(visitor, case, app, path, data):
    _supervisor, client = visitor
    response = client.post(path.format(id=case.id), data=data)
    assert response.status_code == 403, path
    assert count(app, CaseNote, CaseNote.case_id == case.id) == 0


@pytest.mark.parametrize("path", ["/cases/{id}/summary", "/cases/{id}/summary.pdf", "/cases/{id}/subject-access"])
def test_break_glass_visitor_cannot_print_or_export(visitor, case, path):
    _supervisor, client = visitor
    assert client.get(path.format(id=case.id)).status_code == 403


def test_break_glass_case_file_offers_no_button_the_visitor_cannot_use(visitor, case):
    _supervisor, client = visitor
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    for action in (
        "/erase",
        "/summary",
        "/subject-access",
        "/consents/new",
        "/referrals/new",
        "/referrals/emergency",
        "/notes",
        "/edit",
        "/assign",
        "/close",
        "/assistance/shelter/new",
    ):
        assert f"/cases/{case.id}{action}" not in page, action


def test_emergency_override_checks_the_owner(app, case, orgs, make_user):
    from casework.consent import overrides

    outsider = make_user("supervisor", org=orgs["visitor"])
    owner = make_user("supervisor", org=orgs["owner"])
    expires = date.today() + timedelta(days=3)
    with app.app_context():
        errors = overrides.validate(case, orgs["ngo"].id, REASON, expires, actor=outsider)
        assert errors, "an override by another organisation's supervisor must be refused"
        assert overrides.validate(case, orgs["ngo"].id, REASON, expires, actor=owner) == {}


def test_break_glass_cannot_be_reached_by_guessing_a_reference(app, orgs, make_user, login, case):
    supervisor = make_user("supervisor", org=orgs["visitor"])
    client = app.test_client()
    login(client, supervisor)
    client.post("/cases/break-glass", data={"reference": case.reference, "reason": REASON})
    assert count(app, BreakGlassAccess) == 0


def test_break_glass_grants_are_capped_per_supervisor_per_day(app, make_org, make_user, login, make_case):
    supervisor = make_user("supervisor", org=make_org(kind="lead_agency"))
    client = app.test_client()
    login(client, supervisor)
    owner = make_org(kind="lead_agency")
    cap = app.config["CASEWORK"].break_glass_daily_cap
    cases = [make_case(owner) for _ in range(cap + 1)]
    answers = [client.post(f"/cases/{c.id}/break-glass", data={"reason": REASON}).status_code for c in cases]
    assert answers[:cap] == [302] * cap
    assert answers[cap] == 429
    assert count(app, BreakGlassAccess) == cap


def test_owner_supervisors_are_notified_and_can_end_the_grant(app, orgs, make_user, login, case):
    supervisor = make_user("supervisor", org=orgs["visitor"])
    visitor_client = app.test_client()
    login(visitor_client, supervisor)
    assert visitor_client.post(f"/cases/{case.id}/break-glass", data={"reason": REASON}).status_code == 302
    owner = make_user("supervisor", org=orgs["owner"])
    owner_client = app.test_client()
    login(owner_client, owner)
    page = owner_client.get("/notifications/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert case.reference in body and "Visiting Agency" in body
    with app.app_context():
        grant = session.execute(select(BreakGlassAccess)).scalar_one()
    assert owner_client.post(f"/break-glass/{grant.id}/end", data={}).status_code == 302
    assert visitor_client.get(f"/cases/{case.id}").status_code == 404


# -- finding 2: masking on every path a partner can reach -------------------------------------
@pytest.fixture
def shared_case(app, orgs, case, make_referral, make_user, login):
    """The case referred to both NGOs (given name and shared notes only); a staff note naming
    the person, and a note by the second NGO."""
    make_referral(case, orgs["ngo"], scope=("given_name", "case_notes_shared"), service_kind="shelter")
    make_referral(case, orgs["ngo2"], scope=("given_name", "case_notes_shared"), service_kind="medical")
    with app.app_context():
        staff = CaseNote(case_id=case.id, author_org_id=orgs["owner"].id, shareable=True)
        other_ngo = CaseNote(case_id=case.id, author_org_id=orgs["ngo2"].id, shareable=True)
        session.add_all([staff, other_ngo])
        session.flush()
        staff.body = "Zqbreakglass called from +234 803 555 0199 about passport A99887766."
        other_ngo.body = "Clinic NGO only: Zqsecondngo appointment."
        session.commit()
    partner = make_user("partner", org=orgs["ngo"])
    client = app.test_client()
    login(client, partner)
    return client


def test_empty_note_on_the_staff_route_never_shows_the_staff_case_file(shared_case, case):
    response = shared_case.post(f"/cases/{case.id}/notes", data={"body": ""})
    page = response.get_data(as_text=True)
    assert "Zqbreakglass" not in page and "A99887766" not in page and "555 0199" not in page


def test_service_free_text_is_masked_for_the_partner(app, shared_case, case, orgs):
    from casework.assistance.models import ShelterStay

    with app.app_context():
        stay = ShelterStay(case_id=case.id, status="in_progress", provider_org_id=orgs["ngo"].id)
        session.add(stay)
        session.flush()
        stay.notes = "Zqbreakglass arrived; call +234 803 555 0199."
        stay.facility = "House of Zqbreakglass"
        session.commit()
    page = shared_case.get(f"/assistance/{stay.id}").get_data(as_text=True)
    assert "arrived" in page
    assert "Zqbreakglass" not in page and "555 0199" not in page


def test_a_partner_never_reads_another_partners_notes(shared_case, case):
    page = shared_case.get(f"/partners/cases/{case.id}").get_data(as_text=True)
    assert "[name withheld]" in page  # the owner's shared note, masked
    assert "Zqsecondngo" not in page


def test_the_partner_summary_holds_only_the_owner_and_recipient_notes(app, shared_case, case, orgs, make_user, login):
    from casework.partners import summary

    with app.app_context():
        referral = session.execute(select(Referral).where(Referral.to_org_id == orgs["ngo"].id)).scalar_one()
        built = summary.build(session.get(type(case), case.id), "partner", referral.id)
        texts = " ".join(line.value for section in built.sections for line in section.texts)
    assert "Zqsecondngo" not in texts and "Zqbreakglass" not in texts


# -- finding 3: administrators manage their own organisation only -----------------------------
@pytest.fixture
def admins(app, orgs, make_user, login):
    admin_b = make_user("admin", org=orgs["visitor"])
    client = app.test_client()
    login(client, admin_b)
    return admin_b, client


def test_an_admin_cannot_create_a_user_in_another_organisation(app, admins, orgs):
    _admin, client = admins
    response = client.post(
        "/admin/users/new",
        data={
            "display_name": "Planted",
            "email": "planted@example.org",
            "role": "supervisor",
            "organisation_id": str(orgs["owner"].id),
        },
    )
    assert response.status_code == 400
    assert 'class="secret"' not in response.get_data(as_text=True)  # no one-time password shown
    with app.app_context():
        planted = session.execute(select(User).where(User.email == "planted@example.org")).scalar_one_or_none()
        assert planted is None or planted.organisation_id == orgs["visitor"].id


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/users/{id}", None),
        ("/admin/users/{id}/reset-password", {"pw-identity_checked": "y"}),
        ("/admin/users/{id}/reset-two-factor", {"tf-identity_checked": "y"}),
        ("/admin/users/{id}/role", {"role-role": "admin"}),
        ("/admin/users/{id}/deactivate", {}),
    ],
)
def test_an_admin_cannot_touch_another_organisations_accounts(app, admins, orgs, make_user, path, data):
    _admin, client = admins
    target = make_user("supervisor", org=orgs["owner"])
    url = path.format(id=target.id)
    response = client.get(url) if data is None else client.post(url, data=data)
    assert response.status_code == 404
    with app.app_context():
        fresh = session.get(User, target.id)
        assert fresh.role == "supervisor" and fresh.active and fresh.totp_enabled and not fresh.must_change_password


def test_an_admin_lists_only_its_own_organisations_users(admins, orgs, make_user):
    _admin, client = admins
    stranger = make_user("caseworker", org=orgs["owner"], email="stranger@owner.example")
    page = client.get("/admin/users").get_data(as_text=True)
    assert stranger.email not in page


def test_organisations_are_managed_by_the_platform_operator_only(admins):
    _admin, client = admins
    assert client.get("/admin/organisations").status_code == 403


def test_admin_actions_are_shown_to_the_organisations_supervisors(app, orgs, make_user, login):
    admin = make_user("admin", org=orgs["owner"])
    admin_client = app.test_client()
    login(admin_client, admin)
    target = make_user("caseworker", org=orgs["owner"])
    response = admin_client.post(f"/admin/users/{target.id}/reset-password", data={"pw-identity_checked": "y"})
    assert response.status_code == 200
    supervisor = make_user("supervisor", org=orgs["owner"])
    supervisor_client = app.test_client()
    login(supervisor_client, supervisor)
    page = supervisor_client.get("/notifications/").get_data(as_text=True)
    assert target.display_name in page and admin.display_name in page


# -- finding 5: free text and secrets ----------------------------------------------------------
def raw_bytes(app, sql: str, **params) -> bytes:
    with get_db(app).engine.connect() as connection:
        value = connection.execute(text(sql), params).scalar_one()
    return value.encode() if isinstance(value, str) else bytes(value or b"")


def test_staff_free_text_columns_are_encrypted(app, case, orgs):
    from casework.assistance.models import LegalAssistance, MedicalAssistance, ReturnAssistance

    with app.app_context():
        rows = [
            LegalAssistance(case_id=case.id, status="needed", representative="Clinic for Zqbreakglass"),
            MedicalAssistance(case_id=case.id, status="needed", referred_to="Dr Zqbreakglass"),
            ReturnAssistance(case_id=case.id, status="needed", reception_organisation="Zqbreakglass family"),
        ]
        session.add_all(rows)
        session.commit()
        ids = [row.id for row in rows]
    for table, column, row_id in zip(
        ("legal_assistance", "medical_assistance", "return_assistance"),
        ("representative", "referred_to", "reception_organisation"),
        ids,
        strict=True,
    ):
        stored = raw_bytes(app, f"SELECT {column} FROM {table} WHERE id = :id", id=row_id.hex)  # noqa: S608
        assert stored and b"Zqbreakglass" not in stored, table


def test_break_glass_reason_is_encrypted(app, visitor):
    assert b"Police" not in raw_bytes(app, "SELECT reason FROM break_glass_access")


def test_erasure_reason_is_encrypted_and_readable_after_erasure(app, orgs, make_user, login, case):
    supervisor = make_user("supervisor", org=orgs["owner"])
    client = app.test_client()
    login(client, supervisor)
    with app.app_context():
        version = session.get(type(case), case.id).version_id
    reason = "The person asked for erasure in writing at the office visit."
    response = client.post(
        f"/cases/{case.id}/erase",
        data={
            "reason": reason,
            "reason_code": "person_request",
            "confirm_reference": case.reference,
            "version_id": version,
        },
    )
    assert response.status_code == 302
    assert b"office visit" not in raw_bytes(app, "SELECT erasure_reason FROM cases WHERE id = :id", id=case.id.hex)
    with app.app_context():
        assert session.get(type(case), case.id).erasure_reason == reason


@pytest.mark.parametrize("password", ["abcdabcdabcd", "12345678901234", "{email}", "{email}{email}"])
def test_weak_passwords_are_refused(app, make_user, login, password):
    user = make_user("caseworker", email="nadia.worker@example.org")
    client = app.test_client()
    login(client, user)
    new = password.format(email=user.email)
    response = client.post(
        "/auth/password", data={"current_password": user.test_password, "new_password": new, "confirm": new}
    )
    assert response.status_code == 400


def session_cookie(client) -> dict:
    cookie = client.get_cookie("casework_session")
    payload = cookie.value.split(".")[0 if not cookie.value.startswith(".") else 1]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if cookie.value.startswith("."):
        raw = zlib.decompress(raw)
    return json.loads(raw)


def test_the_totp_enrolment_secret_is_not_in_the_session_cookie(app, make_user, login):
    user = make_user("caseworker", totp=False)
    client = app.test_client()
    login(client, user)
    page = client.get("/auth/two-factor/setup").get_data(as_text=True)
    assert "two-factor" in page.lower()
    assert not any("totp" in key for key in session_cookie(client))


def test_the_sqlite_database_file_is_created_owner_only(make_app, tmp_path):
    path = tmp_path / "fresh" / "casework.sqlite3"
    path.parent.mkdir()
    old = os.umask(0o022)
    try:
        app = make_app(database_url=f"sqlite:///{path}")
    finally:
        os.umask(old)
    with get_db(app).engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_blind_indexes_differ_between_organisations(app, make_org, make_case):
    first = make_case(make_org(kind="lead_agency"), given_name="Amina", family_name="Bello")
    second = make_case(make_org(kind="lead_agency"), given_name="Amina", family_name="Bello")
    with app.app_context():
        from casework.cases.services import refresh_blind_indexes

        rows = [session.get(type(first), first.id), session.get(type(second), second.id)]
        for row in rows:
            refresh_blind_indexes(row)
        session.commit()
        assert rows[0].name_bidx and rows[1].name_bidx
        assert rows[0].name_bidx != rows[1].name_bidx


def test_services_refuse_a_visitor_whatever_the_view_checked(app, visitor, case, orgs, make_consent):
    """Defence in depth: the services ask the grant too, so a view that forgot its check still
    cannot record consent or refer for a break-glass visitor."""
    from werkzeug.exceptions import Forbidden

    from casework import access
    from casework.consent import services as consent_services
    from casework.partners import services as referral_services

    make_consent(case, "referral_sharing", organisation=orgs["ngo"])
    supervisor, _client = visitor
    with app.test_request_context():
        grant = access.grant_for(session.get(User, supervisor.id), session.get(type(case), case.id))
        assert grant.relation is access.Relation.BREAK_GLASS and grant.allows(access.Permission.CASE_READ)
        data = consent_services.ConsentInput(
            purpose="referral_sharing",
            organisation_id=orgs["ngo"].id,
            decision="granted",
            method="verbal",
            given_by="victim",
            giver_name=None,
            given_on=date.today(),
            expires_on=None,
            notes=None,
        )
        with pytest.raises(Forbidden):
            consent_services.record_consent(grant, data)
        referral = referral_services.ReferralInput(
            to_org_id=orgs["ngo"].id,
            service_kind="shelter",
            field_scope=frozenset({"given_name"}),
            message=None,
            confirm_sensitive=False,
        )
        with pytest.raises(Forbidden):
            referral_services.create_referral(grant, referral)
    assert count(app, Referral, Referral.case_id == case.id) == 0
    assert count(app, Consent, Consent.case_id == case.id) == 1  # the one made above, no other
