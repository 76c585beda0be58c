"""The case file page: sections, redaction for partners, erased values, notes, timeline,
close/reopen and assignment."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from casework.audit.models import AuditEvent
from casework.auth.models import User
from casework.cases import services
from casework.cases.models import Case, CaseNote
from casework.cases.services import InputErrors
from casework.db import session

TOMORROW = date.today() + timedelta(days=1)


def note_count(app) -> int:
    with app.app_context():
        return session.execute(select(func.count(CaseNote.id))).scalar_one()


# -- viewing ---------------------------------------------------------------------------------------
def test_assigned_caseworker_sees_every_section_and_the_view_is_audited(app, client, login, caseworker, register):
    case = register(caseworker, aliases="Mina", phone="+39 06 1234 5678")
    login(client, caseworker)
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for text in (case.reference, "Amina", "Okafor", "Mina", "+39 06 1234 5678", "Nigeria", "Italy", "Carla Caseworker"):
        assert text in html
    for section in ('id="identity"', 'id="coded"', 'id="open-timeline"', 'id="summary-header"', 'id="case-tabs"'):
        assert section in html
    # The other sections are tabs of their own (issue 18.6): one section at a time on a phone.
    assert 'id="profile"' not in html and 'id="notes"' not in html
    assert 'id="profile"' in client.get(f"/cases/{case.id}?tab=profile").get_data(as_text=True)
    assert 'id="notes"' in client.get(f"/cases/{case.id}?tab=notes").get_data(as_text=True)
    assert "withheld" not in html
    assert f'href="/cases/{case.id}/edit"' in html
    assert f'href="/cases/{case.id}/timeline"' in html
    timeline = client.get(f"/cases/{case.id}/timeline")
    assert timeline.status_code == 200
    assert "Case registered" in timeline.get_data(as_text=True)
    with app.app_context():
        views = session.execute(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "case.view", AuditEvent.case_id == case.id)
        ).scalar_one()
    assert views == 4  # the case file, two of its tabs and its timeline page


def test_supervisor_sees_the_organisations_cases(client, login, supervisor, caseworker, register):
    case = register(caseworker)
    login(client, supervisor)
    assert "Amina" in client.get(f"/cases/{case.id}").get_data(as_text=True)
    html = client.get(f"/cases/{case.id}?tab=management").get_data(as_text=True)
    assert 'id="assign-form"' in html and 'id="close-form"' in html


@pytest.mark.parametrize(
    ("who", "status"),
    [("colleague", 404), ("other_caseworker", 404), ("other_supervisor", 404), ("researcher", 403), ("admin", 403)],
)
def test_who_must_not_see_a_case(client, login, make_user, colleague, other_org, caseworker, register, who, status):
    case = register(caseworker)
    user = {
        "colleague": colleague,
        "other_caseworker": make_user("caseworker", org=other_org),
        "other_supervisor": make_user("supervisor", org=other_org),
        "researcher": make_user("researcher"),
        "admin": make_user("admin"),
    }[who]
    login(client, user)
    for page in (f"/cases/{case.id}", f"/cases/{case.id}/timeline"):
        response = client.get(page)
        assert response.status_code == status
        assert "Amina" not in response.get_data(as_text=True)
        assert "Case registered" not in response.get_data(as_text=True)


def test_unknown_case_is_404(client, login, caseworker):
    login(client, caseworker)
    assert client.get("/cases/00000000-0000-0000-0000-000000000000").status_code == 404


def test_partner_sees_only_the_referral_scope(
    app, client, login, make_user, make_org, caseworker, register, make_referral
):
    case = register(caseworker, aliases="Mina")
    partner_org = make_org("Shelter NGO", kind="partner_ngo")
    make_referral(case, partner_org, scope=("given_name", "age"))
    with app.test_request_context():
        author = session.get(User, caseworker.id)
        row = session.get(Case, case.id)
        services.add_note(row, "Internal: risk from family", False, author)
        services.add_note(row, "Shared: needs a Hausa interpreter", True, author)
        session.commit()
    login(client, make_user("partner", org=partner_org))
    response = client.get(f"/cases/{case.id}")
    # Partners are sent to their portal's case page, which masks identifiers in shared notes.
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/partners/cases/{case.id}")
    response = client.get(response.headers["Location"])
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Amina" in html
    for secret in ("Okafor", "Mina", "Internal: risk", "Shared: needs", "1999-04-02", "Carla Caseworker"):
        assert secret not in html
    for staff_only in ('id="open-timeline"', 'id="profile"', 'id="case-actions"', 'id="edit-identity"'):
        assert staff_only not in html
    # The timeline page is staff-only: a partner is sent to its portal's case page.
    response = client.get(f"/cases/{case.id}/timeline")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/partners/cases/{case.id}")


def test_partner_sees_shared_notes_when_the_scope_allows(
    app, client, login, make_user, make_org, caseworker, register, make_referral
):
    case = register(caseworker)
    partner_org = make_org(kind="partner_ngo")
    make_referral(case, partner_org, scope=("given_name", "case_notes_shared"))
    with app.test_request_context():
        author = session.get(User, caseworker.id)
        row = session.get(Case, case.id)
        services.add_note(row, "Internal: risk from family", False, author)
        services.add_note(row, "Shared: needs a Hausa interpreter", True, author)
        session.commit()
    partner = make_user("partner", org=partner_org)
    login(client, partner)
    html = client.get(f"/cases/{case.id}", follow_redirects=True).get_data(as_text=True)
    assert "Shared: needs a Hausa interpreter" in html and "Internal: risk" not in html
    # A partner writes notes on its own case page; the owner's staff route refuses it (403: the
    # staff case file is never rendered for a partner, not even with the form's errors).
    assert client.post(f"/cases/{case.id}/notes", data={"body": ""}).status_code == 403
    assert client.post(f"/cases/{case.id}/notes", data={"body": "Staff route."}).status_code == 403
    # A partner's own note is visible to it and to the owner's staff.
    response = client.post(f"/partners/cases/{case.id}/notes", data={"body": "Arrived at the shelter."})
    assert response.status_code == 302
    assert "Arrived at the shelter." in client.get(f"/cases/{case.id}", follow_redirects=True).get_data(as_text=True)
    owner = client.application.test_client()
    login(owner, caseworker)
    assert "Arrived at the shelter." in owner.get(f"/cases/{case.id}?tab=notes").get_data(as_text=True)


def test_partner_without_an_accepted_referral_gets_404(
    client, login, make_user, make_org, caseworker, register, make_referral
):
    case = register(caseworker)
    partner_org = make_org(kind="partner_ngo")
    make_referral(case, partner_org, status="pending")
    login(client, make_user("partner", org=partner_org))
    assert client.get(f"/cases/{case.id}").status_code == 404


def test_erased_values_are_marked_erased(app, client, login, caseworker, register):
    case = register(caseworker)
    with app.app_context():
        session.get(Case, case.id).destroy_data_key()
        session.commit()
    login(client, caseworker)
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="field-given_name"><span class="erased">erased</span>' in html
    assert "Amina" not in html and "Nigeria" in html  # coded data stays


# -- notes ----------------------------------------------------------------------------------------
def test_note_is_added_encrypted_and_listed(app, client, login, caseworker, register):
    case = register(caseworker)
    login(client, caseworker)
    body = "Spoke with Zoë O'Brien-Łukasiewicz.\n\tNext visit: Monday — فاطمة"
    response = client.post(f"/cases/{case.id}/notes", data={"body": body, "shareable": "y"})
    assert response.status_code == 302 and response.headers["Location"].endswith("?tab=notes#notes")
    with app.app_context():
        note = session.execute(select(CaseNote)).scalar_one()
        assert note.body == body and note.shareable is True and "Zoë".encode() not in note.body_ct
    html = client.get(f"/cases/{case.id}?tab=notes").get_data(as_text=True)
    assert "Next visit: Monday" in html and "shared with partners" in html and "Note added" in html


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "Write the note."), ("   ", "Write the note."), ("x" * 10_001, "10000"), ("bell\x07", "control characters")],
)
def test_bad_note_is_refused_and_the_text_kept(app, client, login, caseworker, register, body, message):
    case = register(caseworker)
    login(client, caseworker)
    response = client.post(f"/cases/{case.id}/notes", data={"body": body + " Ünïcödé"[: 0 if not body.strip() else 9]})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'id="body-error"' in html
    if body.strip() and len(body) < 100:
        assert "Ünïcödé" in html
    assert note_count(app) == 0


def test_note_service_refuses_without_a_form(app, caseworker, register):
    case = register(caseworker)
    with app.test_request_context():
        user = session.get(User, caseworker.id)
        row = session.get(Case, case.id)
        with pytest.raises(InputErrors):
            services.add_note(row, "x" * 10_001, False, user)
        with pytest.raises(InputErrors):
            services.add_note(row, "esc\x1b", False, user)
        session.rollback()
    assert note_count(app) == 0


def test_who_must_not_add_notes(client, login, make_user, colleague, other_org, caseworker, register, app):
    case = register(caseworker)
    for user, status in (
        (colleague, 404),
        (make_user("caseworker", org=other_org), 404),
        (make_user("researcher"), 403),
    ):
        other = app.test_client()
        login(other, user)
        assert other.post(f"/cases/{case.id}/notes", data={"body": "hello"}).status_code == status
    assert note_count(app) == 0


# -- close, reopen, assign ------------------------------------------------------------------------
def test_supervisor_closes_and_reopens(client, login, supervisor, caseworker, register, load):
    case = register(caseworker)
    login(client, supervisor)
    response = client.post(
        f"/cases/{case.id}/close", data={"closed_on": "2025-06-30", "version_id": str(case.version_id)}
    )
    assert response.status_code == 302
    closed = load(Case, case.id)
    assert (closed.status, closed.closed_on) == ("closed", date(2025, 6, 30))
    html = client.get(f"/cases/{case.id}?tab=management").get_data(as_text=True)
    assert 'id="reopen-form"' in html
    assert "Case closed" in client.get(f"/cases/{case.id}/timeline").get_data(as_text=True)
    response = client.post(f"/cases/{case.id}/reopen", data={"version_id": str(closed.version_id)})
    assert response.status_code == 302
    reopened = load(Case, case.id)
    assert (reopened.status, reopened.closed_on) == ("open", None)


@pytest.mark.parametrize(
    ("closed_on", "message"),
    [(TOMORROW.isoformat(), "in the future"), ("2025-01-01", "before it was opened"), ("soon", "year-month-day")],
)
def test_bad_closing_date_is_refused(client, login, supervisor, caseworker, register, load, closed_on, message):
    case = register(caseworker)
    login(client, supervisor)
    response = client.post(f"/cases/{case.id}/close", data={"closed_on": closed_on, "version_id": str(case.version_id)})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'id="closed_on-error"' in html and closed_on in html
    assert load(Case, case.id).status == "open"


def test_caseworker_cannot_close_or_assign(client, login, caseworker, colleague, register, load):
    case = register(caseworker)
    login(client, caseworker)
    data = {"closed_on": "2025-06-30", "version_id": str(case.version_id), "assigned_to": str(colleague.id)}
    assert client.post(f"/cases/{case.id}/close", data=data).status_code == 403
    assert client.post(f"/cases/{case.id}/assign", data=data).status_code == 403
    assert load(Case, case.id).status == "open"


def test_other_organisations_supervisor_cannot_close(client, login, make_user, other_org, caseworker, register):
    case = register(caseworker)
    login(client, make_user("supervisor", org=other_org))
    data = {"closed_on": "2025-06-30", "version_id": str(case.version_id)}
    assert client.post(f"/cases/{case.id}/close", data=data).status_code == 404


def test_supervisor_assigns_within_the_organisation(
    client, login, supervisor, caseworker, colleague, make_user, other_org, register, load
):
    case = register(caseworker)
    login(client, supervisor)
    stranger = make_user("caseworker", org=other_org)
    refused = client.post(
        f"/cases/{case.id}/assign", data={"assigned_to": str(stranger.id), "version_id": str(case.version_id)}
    )
    assert refused.status_code == 400 and "Not a valid choice" in refused.get_data(as_text=True)
    response = client.post(
        f"/cases/{case.id}/assign", data={"assigned_to": str(colleague.id), "version_id": str(case.version_id)}
    )
    assert response.status_code == 302
    assert load(Case, case.id).assigned_to_id == colleague.id
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="assigned-caseworker">Colin Colleague' in html
    assert "Case assigned" in client.get(f"/cases/{case.id}/timeline").get_data(as_text=True)


def test_outdated_assignment_is_a_conflict(client, login, supervisor, caseworker, colleague, register, load):
    case = register(caseworker)
    login(client, supervisor)
    data = {"closed_on": "2025-06-30", "version_id": str(case.version_id)}
    assert client.post(f"/cases/{case.id}/close", data=data).status_code == 302
    response = client.post(
        f"/cases/{case.id}/assign", data={"assigned_to": str(colleague.id), "version_id": str(case.version_id)}
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Carla Caseworker" in html and "Colin Colleague" in html
    assert load(Case, case.id).assigned_to_id == caseworker.id


# -- timeline ---------------------------------------------------------------------------------------
def test_timeline_lists_records_and_changes_in_a_fixed_number_of_queries(
    app, client, login, caseworker, register, make_service, make_consent, make_referral, make_org, query_counter
):
    case = register(caseworker)
    login(client, caseworker)

    def add_one_of_each(i: int) -> None:
        client.post(f"/cases/{case.id}/notes", data={"body": f"note {i}"})
        make_service(case, "medical", "in_progress")
        make_consent(case, "assistance")
        make_referral(case, make_org(f"Legal NGO {i}", kind="partner_ngo"), service_kind="legal", status="pending")

    add_one_of_each(0)
    with query_counter() as few:
        assert client.get(f"/cases/{case.id}/timeline").status_code == 200
    with query_counter() as few_on_file:
        assert client.get(f"/cases/{case.id}").status_code == 200
    for i in range(1, 6):
        add_one_of_each(i)
    with query_counter() as many_on_file:
        assert client.get(f"/cases/{case.id}").status_code == 200
    with query_counter() as many:
        response = client.get(f"/cases/{case.id}/timeline")
    html = response.get_data(as_text=True)
    for label in (
        "Case registered",
        "Assistance recorded: Medical care (In progress)",
        "Consent recorded: Assistance, Granted",
        "Referred to Legal NGO 5 for Legal assistance",
    ):
        assert label in html
    assert html.count("<td>Note added</td>") == 6  # each note once, not again for its audit event
    assert many.n == few.n
    assert many_on_file.n == few_on_file.n


def test_who_must_not_reopen(app, client, login, make_user, caseworker, other_org, make_case, org, load):
    case = make_case(org, caseworker, status="closed", closed_on=date(2025, 6, 30))
    data = {"version_id": str(case.version_id)}
    for user, status in (
        (caseworker, 403),
        (make_user("supervisor", org=other_org), 404),
        (make_user("researcher"), 403),
        (make_user("admin"), 403),
    ):
        other = app.test_client()
        login(other, user)
        assert other.post(f"/cases/{case.id}/reopen", data=data).status_code == status
    assert load(Case, case.id).status == "closed"


def test_reopening_an_open_case_is_refused_with_a_message(client, login, supervisor, caseworker, register, load):
    case = register(caseworker)
    login(client, supervisor)
    response = client.post(f"/cases/{case.id}/reopen", data={"version_id": str(case.version_id)})
    assert response.status_code == 400
    assert "This case is not closed." in response.get_data(as_text=True)
    assert load(Case, case.id).status == "open"


def test_the_case_file_is_three_statements(
    app, client, login, caseworker, register, make_service, make_consent, query_counter
):
    """The most opened page: the signed-in user, the case with its summary header (one query),
    and the view's audit event; the header's figures are the same as on their own."""
    case = register(caseworker)
    make_service(case, "medical", "in_progress")
    make_consent(case, "assistance")
    login(client, caseworker)
    with query_counter() as counted:
        response = client.get(f"/cases/{case.id}")
    assert response.status_code == 200
    assert counted.n == 3, counted.statements
    assert sum("INSERT INTO audit_events" in s for s in counted.statements) == 1
    html = response.get_data(as_text=True)
    assert '<dd id="summary-services">1</dd>' in html
    assert '<dd id="summary-consent">Assistance</dd>' in html


@pytest.mark.parametrize("tab", ["overview", "profile"])
def test_the_overview_and_profile_tabs_are_three_statements(
    app, client, login, caseworker, register, query_counter, tab
):
    """The trafficking profile is joined to the case's query on its own tab only: the overview
    never reads it (not even lazily), the profile tab reads it in the same statement."""
    case = register(caseworker)
    login(client, caseworker)
    with query_counter() as counted:
        response = client.get(f"/cases/{case.id}?tab={tab}")
    assert response.status_code == 200
    assert counted.n == 3, counted.statements
    assert ("trafficking_profiles" in counted.statements[1]) == (tab == "profile")
    html = response.get_data(as_text=True)
    assert ('id="profile-heading"' in html) == (tab == "profile")
