"""Registering a case: the form and the service, then the HTTP route, access and duplicates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.auth.models import User
from casework.cases import services
from casework.cases.forms import RegistrationForm
from casework.cases.models import Case
from casework.cases.services import CaseDetails, InputErrors
from casework.crypto import blind_index
from casework.db import session
from tests.cases.conftest import registration_data

TOMORROW = date.today() + timedelta(days=1)
UNICODE_NAMES = [
    ("Nguyễn Thị", "Ánh"),
    ("Zoë", "O'Brien-Łukasiewicz"),
    ("فاطمة", "الزهراء"),
    ("Анна", "Кузнецова"),
]


def submit(app, actor, data):
    """Parse ``data`` with the registration form and register it as the form's view would.

    Returns (form, case or None, service errors or None)."""
    with app.test_request_context(method="POST", data=data):
        user = session.get(User, actor.id)
        form = RegistrationForm(meta={"csrf": False})
        del form.assigned_to
        if not form.validate():
            return form, None, None
        try:
            case = services.register_case(CaseDetails.from_form(form), user)
        except InputErrors as refused:
            session.rollback()
            return form, None, refused.errors
        session.commit()
        return form, case.id, None


# -- service level -------------------------------------------------------------------------------
def test_good_registration_is_saved_encrypted_with_indexes_and_audit(app, caseworker, load, org):
    form, case_id, errors = submit(app, caseworker, registration_data())
    assert form.errors == {} and errors is None
    case = load(Case, case_id)
    assert (case.given_name, case.family_name) == ("Nguyễn Thị", "Ánh")
    assert case.date_of_birth == date(2000, 5, 17)
    assert case.age_at_registration == 24  # derived from the date of birth at opening
    assert case.year_of_registration == 2025 and case.reference.startswith("CT-2025-")
    assert case.owner_org_id == org.id and case.assigned_to_id == caseworker.id
    assert case.given_name_ct is not None and b"Nguy" not in case.given_name_ct
    with app.app_context():
        # Under the organisation's own key (and not the deployment-wide one).
        key = blind_index.organisation_key(org.id)
        assert case.name_bidx == blind_index.name_index("Nguyen Thi", "Anh", key)
        assert case.name_dob_bidx == blind_index.name_dob_index("Nguyễn Thị", "Ánh", "2000-05-17", key)
        assert case.document_bidx == blind_index.document_index("c1234567", key)
        assert case.name_bidx != blind_index.name_index("Nguyen Thi", "Anh")
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "case.register")).scalar_one()
        assert event.case_id == case_id
        assert "Nguy" not in str(event.details)


@pytest.mark.parametrize(("given", "family"), UNICODE_NAMES)
def test_unicode_names_are_accepted_and_round_trip(app, caseworker, load, given, family):
    form, case_id, errors = submit(app, caseworker, registration_data(given_name=given, family_name=family))
    assert form.errors == {} and errors is None
    case = load(Case, case_id)
    assert (case.given_name, case.family_name) == (given, family)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"given_name": "", "family_name": ""}, "given_name", "Enter a given name or a family name"),
        ({"opened_on": ""}, "opened_on", "Enter a date"),
        ({"data_source": ""}, "data_source", ""),
        ({"given_name": "x" * 201}, "given_name", "200 characters"),
        ({"address": "x" * 1001}, "address", "1000 characters"),
        ({"age_at_registration": "twenty", "date_of_birth": ""}, "age_at_registration", "whole number"),
        ({"age_at_registration": "121", "date_of_birth": ""}, "age_at_registration", "0 to 120"),
        ({"date_of_birth": "17/05/2000"}, "date_of_birth", "year-month-day"),
        ({"gender": "alien"}, "gender", "Not a valid choice"),
        ({"citizenship": "XX"}, "citizenship", "Not a valid choice"),
        ({"data_source": "rumour"}, "data_source", "Not a valid choice"),
        ({"opened_on": TOMORROW.isoformat()}, "opened_on", "in the future"),
        ({"date_of_birth": TOMORROW.isoformat()}, "date_of_birth", "in the future"),
        ({"date_of_birth": "2025-02-04"}, "date_of_birth", "after the date the case was opened"),
        ({"age_at_registration": "30"}, "age_at_registration", "gives an age of 24"),
        ({"given_name": "Ana\x00"}, "given_name", "control characters"),
        ({"family_name": "Smith\u202egnirts"}, "family_name", "control characters"),
        ({"place_of_birth": "Lagos\nNigeria"}, "place_of_birth", "control characters"),
        ({"address": "Rue\x07 1"}, "address", "control characters"),
        ({"phone": "call me maybe"}, "phone", "digits"),
        ({"email": "not-an-email"}, "email", "email address"),
    ],
)
def test_bad_registration_is_refused_with_a_message_and_nothing_saved(
    app, caseworker, count_cases, overrides, field, message
):
    form, case_id, errors = submit(app, caseworker, registration_data(**overrides))
    all_errors = {**form.errors, **(errors or {})}
    assert case_id is None
    assert field in all_errors
    assert message in " ".join(str(e) for e in all_errors[field])
    assert count_cases() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"gender": "alien"}, "gender"),
        ({"document_type": "library_card"}, "document_type"),
        ({"given_name": "x" * 201}, "given_name"),
        ({"given_name": "tab\there"}, "given_name"),
        ({"opened_on": TOMORROW}, "opened_on"),
        ({"opened_on": None}, "opened_on"),
        ({"data_source": None}, "data_source"),
        ({"age_at_registration": -1, "date_of_birth": None}, "age_at_registration"),
    ],
)
def test_the_service_enforces_the_rules_without_a_form(app, caseworker, count_cases, overrides, field):
    values = {"given_name": "Amina", "data_source": "case_management", "opened_on": date(2025, 1, 2), **overrides}
    with app.test_request_context():
        user = session.get(User, caseworker.id)
        with pytest.raises(InputErrors) as refused:
            services.register_case(CaseDetails(**values), user)
        session.rollback()
    assert field in refused.value.errors
    assert count_cases() == 0


def test_a_caseworker_cannot_register_for_someone_else(app, caseworker, colleague, count_cases):
    with app.test_request_context():
        user = session.get(User, caseworker.id)
        details = CaseDetails(given_name="Amina", opened_on=date(2025, 1, 2))
        with pytest.raises(InputErrors) as refused:
            services.register_case(details, user, assignee_id=colleague.id)
        session.rollback()
    assert "assigned_to" in refused.value.errors
    assert count_cases() == 0


# -- HTTP ----------------------------------------------------------------------------------------
def test_caseworker_registers_through_the_form(app, client, login, caseworker, load):
    login(client, caseworker)
    page = client.get("/cases/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for field_id in ("given_name", "family_name", "date_of_birth", "citizenship", "opened_on", "data_source"):
        assert f'<label for="{field_id}"' in html
    assert 'id="assigned_to"' not in html  # a caseworker registers cases for themself
    response = client.post("/cases/new", data=registration_data(assigned_to="someone-else"))
    assert response.status_code == 302
    case_id = response.headers["Location"].rsplit("/", 1)[-1]
    case = load(Case, case_id)
    assert case.assigned_to_id == caseworker.id and case.created_by_id == caseworker.id


def test_supervisor_assigns_a_caseworker_of_the_organisation(app, client, login, supervisor, caseworker, load):
    login(client, supervisor)
    assert f'value="{caseworker.id}"' in client.get("/cases/new").get_data(as_text=True)
    response = client.post("/cases/new", data=registration_data(assigned_to=str(caseworker.id)))
    assert response.status_code == 302
    assert load(Case, response.headers["Location"].rsplit("/", 1)[-1]).assigned_to_id == caseworker.id


def test_supervisor_cannot_assign_someone_of_another_organisation(
    client, login, supervisor, make_user, other_org, count_cases
):
    stranger = make_user("caseworker", org=other_org)
    login(client, supervisor)
    response = client.post("/cases/new", data=registration_data(assigned_to=str(stranger.id)))
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert count_cases() == 0


def test_refused_form_is_shown_again_with_everything_typed(client, login, caseworker, count_cases):
    login(client, caseworker)
    data = registration_data(given_name="Zoë", family_name="O'Brien-Łukasiewicz", opened_on=TOMORROW.isoformat())
    response = client.post("/cases/new", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This date is in the future." in html
    assert 'aria-invalid="true"' in html and 'role="alert"' in html
    for value in ("Zoë", "O&#39;Brien-Łukasiewicz", "Hải Phòng", "+84 912 345 678", "C1234567", TOMORROW.isoformat()):
        assert value in html
    assert '<option selected value="VN">' in html
    assert count_cases() == 0


def test_missing_csrf_token_is_refused(client, login, caseworker, count_cases):
    login(client, caseworker)
    assert client.post("/cases/new", data=registration_data(), csrf=False).status_code == 400
    assert count_cases() == 0


@pytest.mark.parametrize("role", ["researcher", "admin", "partner"])
def test_roles_that_do_not_register_cases_are_refused(client, login, make_user, role):
    login(client, make_user(role))
    assert client.get("/cases/new").status_code == 403
    assert client.post("/cases/new", data=registration_data()).status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/cases/new")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


# -- duplicates -----------------------------------------------------------------------------------
def test_possible_duplicate_is_shown_before_saving_then_opened(client, login, caseworker, register, count_cases):
    earlier = register(caseworker, given_name="Nguyễn Thị", family_name="Ánh", date_of_birth=date(2000, 5, 17))
    login(client, caseworker)
    first = client.post("/cases/new", data=registration_data())
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert "Possible duplicates" in html and earlier.reference in html
    assert f'name="duplicate_decision" id="duplicate-{earlier.reference}" value="{earlier.id}"' in html
    assert "Hải Phòng" in html  # nothing typed is lost
    assert count_cases() == 1
    seen = f'name="duplicates_seen" type="hidden" value="{earlier.id}"'
    assert seen in html
    second = client.post(
        "/cases/new",
        data=registration_data(duplicates_seen=str(earlier.id), duplicate_decision=str(earlier.id)),
    )
    assert second.status_code == 302
    assert second.headers["Location"].endswith(f"/cases/{earlier.id}")  # the same person's case
    assert count_cases() == 1


def test_continue_as_a_new_case(client, login, caseworker, register, load):
    earlier = register(caseworker, given_name="Nguyen Thi", family_name="ANH")  # accents and case folded
    login(client, caseworker)
    assert "Possible duplicates" in client.post("/cases/new", data=registration_data()).get_data(as_text=True)
    response = client.post(
        "/cases/new", data=registration_data(duplicates_seen=str(earlier.id), duplicate_decision="new")
    )
    assert response.status_code == 302
    assert load(Case, response.headers["Location"].rsplit("/", 1)[-1]).linked_case_id is None


@pytest.mark.parametrize("decision", ["", "not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_second_step_needs_a_valid_choice(client, login, caseworker, register, count_cases, decision):
    earlier = register(caseworker, document_number="C1234567", given_name="Other", family_name="Name")
    login(client, caseworker)
    response = client.post(
        "/cases/new", data=registration_data(duplicates_seen=str(earlier.id), duplicate_decision=decision)
    )
    assert response.status_code == 400
    assert "Choose one of the cases listed" in response.get_data(as_text=True)
    assert count_cases() == 1


def test_duplicate_found_after_the_first_step_is_shown_too(client, login, caseworker, register, count_cases):
    first = register(caseworker, document_number="C1234567", given_name="Other", family_name="Name")
    login(client, caseworker)
    client.post("/cases/new", data=registration_data())
    later = register(caseworker, given_name="Nguyễn Thị", family_name="Ánh")
    response = client.post(
        "/cases/new", data=registration_data(duplicates_seen=str(first.id), duplicate_decision="new")
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert later.reference in html and "More cases that may be the same person" in html
    assert count_cases() == 2


def test_colleagues_duplicates_show_only_reference_date_and_caseworker(
    client, login, caseworker, colleague, register, supervisor
):
    theirs = register(
        colleague,
        given_name="Fatima",
        family_name="Existing",
        document_number="c 123-4567",
        phone="+44 20 7946 0000",
        date_of_birth=date(1990, 1, 1),
    )
    login(client, caseworker)
    html = client.post("/cases/new", data=registration_data()).get_data(as_text=True)
    assert theirs.reference in html and "Colin Colleague" in html and "2025-03-14" in html
    assert "Not your case" in html
    for secret in ("Fatima", "Existing", "7946", "1990-01-01"):
        assert secret not in html
    assert f'href="/cases/{theirs.id}"' not in html
    # A supervisor may open every case of the organisation: the details are shown.
    boss = client.application.test_client()
    login(boss, supervisor)
    html = boss.post("/cases/new", data=registration_data(assigned_to=str(supervisor.id))).get_data(as_text=True)
    assert "Fatima" in html and f'href="/cases/{theirs.id}"' in html


def test_other_organisations_cases_are_never_duplicates(client, login, caseworker, make_user, other_org, register):
    stranger = make_user("caseworker", org=other_org)
    theirs = register(stranger, given_name="Nguyễn Thị", family_name="Ánh", document_number="C1234567")
    login(client, caseworker)
    response = client.post("/cases/new", data=registration_data())
    assert response.status_code == 302
    assert theirs.reference not in response.get_data(as_text=True)
