"""Forms that say everything at once, answers that cannot contradict themselves, and a duplicate
that opens the existing case instead of making another one."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from casework.cases.models import Case, TraffickingProfile
from casework.db import session
from tests.cases.conftest import registration_data
from tests.cases.test_edit import edit_data, profile_data

TOMORROW = (date.today() + timedelta(days=1)).isoformat()


def errors_of(html: str, field: str) -> str:
    start = html.index(f'id="{field}-error"')
    return html[start : html.index("</p>", start)]


# -- every error in one round ---------------------------------------------------------------------
def test_registration_reports_form_and_rule_errors_together(client, login, caseworker, count_cases):
    login(client, caseworker)
    data = registration_data(phone="call me", date_of_birth=TOMORROW, given_name="", family_name="")
    response = client.post("/cases/new", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Use digits, spaces and + ( ) - . / only." in errors_of(html, "phone")  # the form's own check
    assert "This date is in the future." in errors_of(html, "date_of_birth")  # the service's rule
    assert "Enter a given name or a family name" in errors_of(html, "given_name")
    assert count_cases() == 0


def test_a_field_the_form_refused_gets_no_second_rule_message(client, login, caseworker):
    login(client, caseworker)
    response = client.post("/cases/new", data=registration_data(phone="call me", age_at_registration="200"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert errors_of(html, "age_at_registration").count("Enter an age from 0 to 120.") == 1
    assert "The date of birth gives an age" not in html


def test_edit_reports_form_and_rule_errors_together(client, login, caseworker, register, load):
    case = register(caseworker)
    login(client, caseworker)
    response = client.post(
        f"/cases/{case.id}/edit", data=edit_data(case, email="nope", opened_on=TOMORROW, date_of_birth="")
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter an email address like name@example.org." in errors_of(html, "email")
    assert "This date is in the future." in errors_of(html, "opened_on")
    assert load(Case, case.id).email is None


def test_profile_reports_form_and_rule_errors_together(client, login, caseworker, register):
    case = register(caseworker)
    login(client, caseworker)
    data = profile_data(case, age_at_recruitment="old", exploitation_began_on=TOMORROW)
    response = client.post(f"/cases/{case.id}/profile", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter a whole number." in errors_of(html, "age_at_recruitment")
    assert "This date is in the future." in errors_of(html, "exploitation_began_on")


# -- "not asked or not known" excludes an answer ---------------------------------------------------
def test_not_asked_beside_a_ticked_answer_is_refused(app, client, login, caseworker, register):
    case = register(caseworker)
    login(client, caseworker)
    data = profile_data(case, exploitation_types_not_asked="y", transit_countries_not_asked="y")
    response = client.post(f"/cases/{case.id}/profile", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    message = "Tick the answers or “Not asked or not known”, not both."
    assert message in errors_of(html, "exploitation_types")
    assert message in errors_of(html, "transit_countries")
    with app.app_context():
        assert session.execute(select(TraffickingProfile)).first() is None  # nothing saved


def test_not_asked_boxes_say_which_answers_they_exclude(client, login, caseworker, register):
    case = register(caseworker)
    login(client, caseworker)
    html = client.get(f"/cases/{case.id}/profile").get_data(as_text=True)
    assert 'data-excludes="exploitation_types"' in html  # casework.js unticks the other side
    assert 'data-excludes="transit_countries"' in html


# -- "Same person" opens the existing case ---------------------------------------------------------
def test_same_person_opens_the_existing_case_and_registers_nothing(client, login, caseworker, register, count_cases):
    earlier = register(caseworker, given_name="Nguyễn Thị", family_name="Ánh", date_of_birth=date(2000, 5, 17))
    login(client, caseworker)
    first = client.post("/cases/new", data=registration_data())
    assert f"Same person: open {earlier.reference} and register nothing" in first.get_data(as_text=True)
    response = client.post(
        "/cases/new", data=registration_data(duplicates_seen=str(earlier.id), duplicate_decision=str(earlier.id))
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{earlier.id}")
    assert count_cases() == 1
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Nothing was registered: {earlier.reference} is this person" in page


def test_same_person_as_a_colleagues_case_registers_nothing_and_says_whom_to_ask(
    client, login, caseworker, colleague, register, count_cases
):
    theirs = register(colleague, given_name="Nguyễn Thị", family_name="Ánh", date_of_birth=date(2000, 5, 17))
    login(client, caseworker)
    response = client.post(
        "/cases/new", data=registration_data(duplicates_seen=str(theirs.id), duplicate_decision=str(theirs.id))
    )
    assert response.status_code == 302
    assert f"/cases/{theirs.id}" not in response.headers["Location"]
    assert count_cases() == 1
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert theirs.reference in page and "Colin Colleague" in page
