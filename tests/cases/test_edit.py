"""Editing identity, coded profile and trafficking profile; version conflicts."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.auth.models import User
from casework.cases import profiles, services
from casework.cases.forms import CaseEditForm, ProfileForm
from casework.cases.models import Case, TraffickingProfile
from casework.cases.services import CaseDetails, InputErrors, VersionConflict
from casework.db import session
from tests.cases.conftest import registration_data

TOMORROW = date.today() + timedelta(days=1)


def edit_data(case: Any, **overrides: Any) -> dict[str, Any]:
    data = registration_data(
        given_name="Amina",
        family_name="Okafor",
        date_of_birth="1999-04-02",
        citizenship="NG",
        country_of_exploitation="IT",
        opened_on="2025-03-14",
        version_id=str(case.version_id),
    )
    data.update(overrides)
    return data


def profile_data(case: Any, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "exploitation_types": ["forced_labour", "sexual_exploitation"],
        "labour_sectors": ["agriculture"],
        "sexual_exploitation_types_not_asked": "y",
        "means_of_control": ["debt_bondage", "withholds_documents"],
        "recruitment_type": "job_offer",
        "recruiter_relationships": [],
        "abducted": "no",
        "age_at_recruitment": "17",
        "age_at_exploitation_start": "18",
        "exploitation_began_on": "2023-01-10",
        "exploitation_ended_on": "2024-11-30",
        "origin_country": "NG",
        "transit_countries-0": "NE",
        "transit_countries-1": "LY",
        "transit_countries-2": "",
        "exploitation_countries-0": "IT",
        "narrative": "Promised work in a restaurant.\nKept in a flat;\tpassport taken.",
        "version_id": str(case.version_id),
    }
    data.update(overrides)
    return data


# -- identity edit: service level ------------------------------------------------------------------
def test_edit_service_saves_changes_refreshes_indexes_and_audits_field_names(app, caseworker, register, load):
    case = register(caseworker)
    with app.test_request_context(method="POST", data=edit_data(case, family_name="Okafor-Ndiaye")):
        user = session.get(User, caseworker.id)
        row = session.get(Case, case.id)
        old_index = row.name_bidx
        form = CaseEditForm(meta={"csrf": False})
        assert form.validate(), form.errors
        changed = services.update_case(row, CaseDetails.from_form(form), int(form.version_id.data), user)
        session.commit()
        assert "family_name" in changed and row.name_bidx != old_index
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "case.edit")).scalar_one()
        assert "family_name" in event.details["fields"] and "Ndiaye" not in str(event.details)
    assert load(Case, case.id).family_name == "Okafor-Ndiaye"


def test_edit_service_refuses_an_outdated_version_before_changing_anything(app, caseworker, register, load):
    case = register(caseworker)
    with app.test_request_context():
        user = session.get(User, caseworker.id)
        row = session.get(Case, case.id)
        details = CaseDetails.from_case(row)
        details.family_name = "Changed"
        with pytest.raises(VersionConflict):
            services.update_case(row, details, row.version_id - 1 if row.version_id > 1 else 99, user)
        session.rollback()
    assert load(Case, case.id).family_name == "Okafor"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"family_name": "x" * 201}, "family_name"),
        ({"opened_on": TOMORROW}, "opened_on"),
        ({"date_of_birth": date(2025, 3, 15)}, "date_of_birth"),
        ({"citizenship": "QQ"}, "citizenship"),
        ({"aliases": "bell\x07"}, "aliases"),
    ],
)
def test_edit_service_refuses_bad_values(app, caseworker, register, load, overrides, field):
    case = register(caseworker)
    with app.test_request_context():
        user = session.get(User, caseworker.id)
        row = session.get(Case, case.id)
        details = CaseDetails.from_case(row)
        for name, value in overrides.items():
            setattr(details, name, value)
        with pytest.raises(InputErrors) as refused:
            services.update_case(row, details, row.version_id, user)
        session.rollback()
    assert field in refused.value.errors
    assert load(Case, case.id).family_name == "Okafor"


# -- identity edit: HTTP --------------------------------------------------------------------------
def test_edit_page_shows_current_values_and_saves(client, login, caseworker, register, load):
    case = register(caseworker, place_of_birth="Benin City")
    login(client, caseworker)
    page = client.get(f"/cases/{case.id}/edit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="Amina"' in html and 'value="Benin City"' in html
    assert f'name="version_id" type="hidden" value="{case.version_id}"' in html
    response = client.post(f"/cases/{case.id}/edit", data=edit_data(case, given_name="Zoë", gender="unknown"))
    assert response.status_code == 302
    saved = load(Case, case.id)
    assert (saved.given_name, saved.gender) == ("Zoë", "unknown")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"family_name": "x" * 201}, "200 characters"),
        ({"opened_on": TOMORROW.isoformat()}, "in the future"),
        ({"date_of_birth": "2025-04-01"}, "after the date the case was opened"),
        ({"gender": "robot"}, "Not a valid choice"),
        ({"age_at_registration": "3.5", "date_of_birth": ""}, "whole number"),
        ({"languages": "Tigrinya\x1b[31m"}, "control characters"),
    ],
)
def test_refused_edit_keeps_the_input_and_the_database(client, login, caseworker, register, load, overrides, message):
    case = register(caseworker)
    login(client, caseworker)
    response = client.post(f"/cases/{case.id}/edit", data=edit_data(case, place_of_birth="Ịbàdàn", **overrides))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "Ịbàdàn" in html
    saved = load(Case, case.id)
    assert saved.place_of_birth is None and saved.version_id == case.version_id


def test_two_edits_from_the_same_version_conflict(app, signed_in, caseworker, supervisor, register, load):
    case = register(caseworker)
    first, second = signed_in(caseworker), signed_in(supervisor)
    assert first.get(f"/cases/{case.id}/edit").status_code == 200
    assert second.get(f"/cases/{case.id}/edit").status_code == 200
    assert first.post(f"/cases/{case.id}/edit", data=edit_data(case, family_name="Okafor-First")).status_code == 302
    response = second.post(f"/cases/{case.id}/edit", data=edit_data(case, family_name="Okafor-Second"))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Okafor-First" in html and "Okafor-Second" in html
    assert 'id="conflict-family_name" class="differs"' in html
    assert 'id="conflict-given_name" class="same"' in html
    saved = load(Case, case.id)
    assert saved.family_name == "Okafor-First"
    # The conflict page's form carries the saved version: sending it again replaces it.
    assert f'name="version_id" type="hidden" value="{saved.version_id}"' in html
    again = second.post(
        f"/cases/{case.id}/edit",
        data=edit_data(case, family_name="Okafor-Second", version_id=str(saved.version_id)),
    )
    assert again.status_code == 302
    assert load(Case, case.id).family_name == "Okafor-Second"


def test_tampered_version_is_a_conflict_not_an_error(client, login, caseworker, register, load):
    case = register(caseworker)
    login(client, caseworker)
    response = client.post(f"/cases/{case.id}/edit", data=edit_data(case, version_id="abc", family_name="X"))
    assert response.status_code == 409
    assert load(Case, case.id).family_name == "Okafor"


def test_closed_case_cannot_be_edited_by_a_caseworker(client, login, caseworker, make_case, org):
    case = make_case(org, caseworker, status="closed")
    login(client, caseworker)
    assert client.get(f"/cases/{case.id}/edit").status_code == 403
    assert client.get(f"/cases/{case.id}/profile").status_code == 403


def test_erased_case_cannot_be_edited(app, client, login, caseworker, register):
    case = register(caseworker)
    with app.app_context():
        session.get(Case, case.id).destroy_data_key()
        session.commit()
    login(client, caseworker)
    response = client.get(f"/cases/{case.id}/edit", follow_redirects=True)
    assert response.status_code == 200 and "can no longer be edited" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["edit", "profile"])
def test_who_must_not_edit(client, login, make_user, caseworker, colleague, other_org, register, path):
    case = register(caseworker)
    login(client, colleague)  # same organisation, not assigned
    assert client.get(f"/cases/{case.id}/{path}").status_code == 404
    assert client.post(f"/cases/{case.id}/{path}", data=edit_data(case)).status_code == 404
    for user, status in (
        (make_user("caseworker", org=other_org), 404),
        (make_user("supervisor", org=other_org), 404),
        (make_user("researcher"), 403),
        (make_user("admin"), 403),
    ):
        other = client.application.test_client()
        login(other, user)
        assert other.get(f"/cases/{case.id}/{path}").status_code == status


def test_partner_with_a_referral_cannot_edit(client, login, make_user, make_org, caseworker, register, make_referral):
    case = register(caseworker)
    partner_org = make_org(kind="partner_ngo")
    make_referral(case, partner_org)
    login(client, make_user("partner", org=partner_org))
    assert client.get(f"/cases/{case.id}/edit").status_code == 403


# -- trafficking profile --------------------------------------------------------------------------
def test_profile_form_and_service_save_codes_and_keep_not_asked_apart_from_none(app, caseworker, register, load):
    case = register(caseworker)
    data = profile_data(case, **{"transit_countries-3": "NE"})  # a repeated country counts once
    with app.test_request_context(method="POST", data=data):
        user = session.get(User, caseworker.id)
        row = session.get(Case, case.id)
        form = ProfileForm(meta={"csrf": False})
        assert form.validate(), form.errors
        changed = profiles.update_profile(row, profiles.ProfileDetails.from_form(form), row.version_id, user)
        session.commit()
        assert "narrative" in changed
        profile = session.execute(select(TraffickingProfile).where(TraffickingProfile.case_id == case.id)).scalar_one()
        assert profile.exploitation_types == {"forced_labour", "sexual_exploitation"}
        assert profile.sexual_exploitation_types is None  # not asked
        assert profile.recruiter_relationships == frozenset()  # asked: none
        assert profile.transit_countries == ("NE", "LY")
        assert profile.exploitation_countries == ("IT",)
        assert profile.abducted is False and profile.age_at_recruitment == 17
        assert profile.narrative.endswith("passport taken.") and b"passport" not in profile.narrative_ct
        assert session.get(Case, case.id).version_id == case.version_id + 1
    assert load(Case, case.id).version_id == case.version_id + 1


def test_not_asked_beside_ticked_answers_is_refused_by_the_form(app, caseworker, register):
    case = register(caseworker)
    data = profile_data(case, exploitation_types_not_asked="y", abducted="unknown")
    with app.test_request_context(method="POST", data=data):
        form = ProfileForm(meta={"csrf": False})
        assert not form.validate()
        assert form.errors == {"exploitation_types": ["Tick the answers or “Not asked or not known”, not both."]}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"exploitation_ended_on": "2022-12-31"}, "exploitation_ended_on", "before the beginning"),
        ({"exploitation_began_on": TOMORROW.isoformat()}, "exploitation_began_on", "in the future"),
        ({"exploitation_ended_on": TOMORROW.isoformat()}, "exploitation_ended_on", "in the future"),
        ({"exploitation_types": ["slavery", "forced_labour"]}, "exploitation_types", "not a valid choice"),
        ({"means_of_control": ["mind_control"]}, "means_of_control", "not a valid choice"),
        ({"recruitment_type": "lottery"}, "recruitment_type", "Not a valid choice"),
        ({"abducted": "maybe"}, "abducted", "Not a valid choice"),
        ({"transit_countries-1": "ZZ"}, "transit_countries", "Not a valid choice"),
        ({"age_at_recruitment": "old"}, "age_at_recruitment", "whole number"),
        ({"age_at_exploitation_start": "16"}, "age_at_exploitation_start", "younger than the age when recruited"),
        ({"age_at_recruitment": "130"}, "age_at_recruitment", "0 to 120"),
        ({"exploitation_began_on": "10.01.2023"}, "exploitation_began_on", "year-month-day"),
        ({"narrative": "x" * 20_001}, "narrative", "20000 characters"),
        ({"narrative": "null\x00byte"}, "narrative", "control characters"),
    ],
)
def test_bad_profile_is_refused_with_the_input_kept(
    client, login, caseworker, register, app, overrides, field, message
):
    case = register(caseworker)
    login(client, caseworker)
    response = client.post(f"/cases/{case.id}/profile", data=profile_data(case, **overrides))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert f'id="{field}' in html
    if field != "means_of_control":
        assert (
            '<input checked id="means_of_control-0" name="means_of_control" type="checkbox" value="debt_bondage">'
            in html
        )
        assert '<input id="means_of_control-1" name="means_of_control" type="checkbox"' in html
    assert '<input checked data-excludes="sexual_exploitation_types" id="sexual_exploitation_types_not_asked"' in html
    if field != "narrative":
        assert "Promised work in a restaurant." in html
    with app.app_context():
        assert session.execute(select(TraffickingProfile)).first() is None
        assert session.get(Case, case.id).version_id == case.version_id


def test_profile_page_shows_saved_answers_and_an_empty_country_slot(client, login, caseworker, register):
    case = register(caseworker)
    login(client, caseworker)
    assert client.post(f"/cases/{case.id}/profile", data=profile_data(case)).status_code == 302
    html = client.get(f"/cases/{case.id}/profile").get_data(as_text=True)
    assert 'id="transit_countries-0"' in html and '<option selected value="LY">' in html
    assert 'id="transit_countries-3"' in html  # room to add a country without JavaScript
    assert 'id="sexual_exploitation_types_not_asked"' in html
    view = client.get(f"/cases/{case.id}?tab=profile").get_data(as_text=True)
    assert "Debt bondage" in view and "Niger, Libya" in view and "Promised work in a restaurant." in view


def test_two_profile_edits_from_the_same_version_conflict(signed_in, caseworker, supervisor, register, app):
    case = register(caseworker)
    first, second = signed_in(caseworker), signed_in(supervisor)
    assert (
        first.post(f"/cases/{case.id}/profile", data=profile_data(case, recruitment_type="abduction")).status_code
        == 302
    )
    response = second.post(f"/cases/{case.id}/profile", data=profile_data(case, recruitment_type="sold_by_family"))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Abduction" in html and "Sold by family" in html
    assert 'id="conflict-recruitment_type" class="differs"' in html
    with app.app_context():
        profile = session.execute(select(TraffickingProfile)).scalar_one()
        assert profile.recruitment_type == "abduction"


def test_identity_and_profile_edits_share_the_case_version(signed_in, caseworker, supervisor, register, load):
    case = register(caseworker)
    first, second = signed_in(caseworker), signed_in(supervisor)
    assert first.post(f"/cases/{case.id}/profile", data=profile_data(case)).status_code == 302
    response = second.post(f"/cases/{case.id}/edit", data=edit_data(case, family_name="Late"))
    assert response.status_code == 409
    assert load(Case, case.id).family_name == "Okafor"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), ("42", 42), ("999999999", 999999999)]
    + [(bad, None) for bad in ("", None, "0", "-1", " 1", "1_0", "1.0", "²", "١", "1" * 10, "x")],
)
def test_a_form_version_is_ascii_digits_only(raw, expected):
    # One parser for every case and assistance form's hidden version number.
    from casework.cases.forms import parse_version

    assert parse_version(raw) == expected
