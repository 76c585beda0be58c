"""Editing, status transitions, optimistic locking and reintegration follow-up visits."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import update

from casework.assistance.models import Service
from casework.db import get_db
from tests.assistance.conftest import GOOD, TOMORROW, field_error, raw_column


@pytest.fixture
def recorded(client, login, world):
    """A shelter stay recorded through the form by the assigned caseworker (signed in)."""
    login(client, world.caseworker)
    response = client.post(f"/cases/{world.case.id}/assistance/shelter/new", data=GOOD["shelter"])
    assert response.status_code == 302
    return response.headers["Location"].rsplit("/", 1)[-1]


def edit(client, service_id, version, **changes):
    return client.post(f"/assistance/{service_id}/edit", data={**GOOD["shelter"], **changes, "version_id": version})


def test_edit_form_is_filled_in_and_saves(client, recorded, load):
    page = client.get(f"/assistance/{recorded}/edit").get_data(as_text=True)
    assert GOOD["shelter"]["facility"] in page and 'name="version_id" type="hidden" value="1"' in page
    response = edit(client, recorded, "1", facility="Safe house B", shelter_type="safe_house")
    assert response.status_code == 302
    saved = load(recorded)
    assert (saved.facility, saved.shelter_type, saved.version_id) == ("Safe house B", "safe_house", 2)


def test_edit_with_bad_input_keeps_input_and_record(client, recorded, load):
    response = edit(client, recorded, "1", facility="New place", ended_on="2025-01-01")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "before the start" in field_error(page, "ended_on")
    assert 'value="New place"' in page
    saved = load(recorded)
    assert saved.facility == GOOD["shelter"]["facility"] and saved.version_id == 1


def test_edit_without_version_is_refused(client, recorded, load):
    data = dict(GOOD["shelter"])
    response = client.post(f"/assistance/{recorded}/edit", data=data)
    assert response.status_code == 400
    assert "reload the page" in response.get_data(as_text=True)
    assert load(recorded).version_id == 1


@pytest.mark.parametrize("version", ["²", "١", "1.0", "-1", "9" * 12, " 1", "x"])
def test_a_garbled_version_is_refused_with_a_message(client, recorded, load, version):
    # "²" and "١" pass str.isdigit() but not int() (a 500 the form fuzzer found) or are not
    # what the page sent.
    response = edit(client, recorded, version, facility="Somewhere else")
    assert response.status_code == 400
    assert "reload the page" in response.get_data(as_text=True)
    status = client.post(f"/assistance/{recorded}/status", data={"status": "provided", "version_id": version})
    assert status.status_code == 400
    saved = load(recorded)
    assert saved.facility == GOOD["shelter"]["facility"] and saved.version_id == 1 and saved.status != "provided"


def test_saving_over_a_newer_change_is_a_409_that_loses_nothing(app, client, login, make_user, world, recorded, load):
    # The caseworker opened the form at version 1; meanwhile the supervisor saves a change.
    other = app.test_client()
    login(other, world.supervisor)
    assert edit(other, recorded, "1", facility="Supervisor's facility").status_code == 302
    # The caseworker's save, still based on version 1, is refused with both versions shown.
    response = edit(client, recorded, "1", facility="Caseworker's facility", notes="My careful notes")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Supervisor&#39;s facility" in page and "Caseworker&#39;s facility" in page
    assert "My careful notes" in page
    assert 'name="version_id" type="hidden" value="2"' in page
    saved = load(recorded)
    assert saved.facility == "Supervisor's facility" and saved.version_id == 2
    # Saving again from the conflict page is a deliberate overwrite.
    assert edit(client, recorded, "2", facility="Caseworker's facility", notes="My careful notes").status_code == 302
    saved = load(recorded)
    assert (saved.facility, saved.notes, saved.version_id) == ("Caseworker's facility", "My careful notes", 3)


def test_a_change_between_read_and_write_is_a_conflict(app, world, make_service):
    """The database check (version_id in the UPDATE) catches a save that lands after ours read."""
    from flask_login import login_user

    from casework.access import Permission
    from casework.assistance import services
    from casework.auth.models import User
    from casework.db import session

    service = make_service(world.case, "shelter", provider=world.lead, shelter_type="ngo_shelter")
    with app.test_request_context("/"):
        user = session.get(User, world.caseworker.id)
        login_user(user)
        loaded, grant = services.load_service(service.id, Permission.SERVICE_RECORD)
        with get_db(app).engine.begin() as conn:  # another worker saves meanwhile
            conn.execute(update(Service).where(Service.id == service.id).values(version_id=2))
        values = {"status": "in_progress", "provider_org_id": None, "started_on": None, "ended_on": None}
        values.update({"notes": None, "shelter_type": "safe_house", "facility": None})
        values.update({"admitted_on": None, "discharged_on": None})
        with pytest.raises(services.VersionConflict):
            services.update_service(grant, loaded, values, expected_version=1)
        session.rollback()
    assert raw_column(app, "shelter_stays", "shelter_type", service.id) == "ngo_shelter"


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        ("needed", "referred", True),
        ("referred", "in_progress", True),
        ("in_progress", "provided", True),
        ("in_progress", "needed", False),
        ("provided", "in_progress", False),
        ("declined", "needed", False),
        ("provided", "declined", False),
    ],
)
def test_caseworker_status_transitions(app, client, login, world, make_service, load, start, target, allowed):
    service = make_service(world.case, "psychosocial", provider=world.lead, status=start)
    login(client, world.caseworker)
    response = client.post(f"/assistance/{service.id}/status", data={"status": target, "version_id": "1"})
    saved = load(service.id)
    if allowed:
        assert response.status_code == 302 and saved.status == target
    else:
        assert response.status_code == 400
        assert field_error(response.get_data(as_text=True), "status")
        assert saved.status == start and saved.version_id == 1


def test_final_status_cannot_be_changed_through_the_edit_form_either(app, client, login, world, make_service, load):
    service = make_service(world.case, "shelter", provider=world.lead, status="provided", shelter_type="safe_house")
    login(client, world.caseworker)
    response = edit(client, service.id, "1", status="in_progress", facility="Changed")
    assert response.status_code == 400
    assert "supervisor" in field_error(response.get_data(as_text=True), "status")
    assert 'value="Changed"' in response.get_data(as_text=True)
    assert load(service.id).status == "provided"
    # Other details of a closed service may still be corrected.
    assert edit(client, service.id, "1", status="provided", facility="Changed").status_code == 302


def test_supervisor_reopens_a_final_service(app, client, login, world, make_service, load):
    service = make_service(world.case, "shelter", provider=world.lead, status="declined")
    login(client, world.supervisor)
    page = client.get(f"/assistance/{service.id}").get_data(as_text=True)
    assert 'value="in_progress"' in page
    response = client.post(f"/assistance/{service.id}/status", data={"status": "in_progress", "version_id": "1"})
    assert response.status_code == 302
    assert load(service.id).status == "in_progress"


def test_status_change_on_an_old_version_is_409(app, client, login, world, make_service, load):
    service = make_service(world.case, "shelter", provider=world.lead, status="needed")
    login(client, world.caseworker)
    assert (
        client.post(f"/assistance/{service.id}/status", data={"status": "referred", "version_id": "1"}).status_code
        == 302
    )
    response = client.post(f"/assistance/{service.id}/status", data={"status": "declined", "version_id": "1"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Referred" in page and "Declined" in page
    assert load(service.id).status == "referred"


def test_closed_service_page_explains_who_can_reopen(client, login, world, make_service):
    service = make_service(world.case, "shelter", provider=world.lead, status="provided")
    login(client, world.caseworker)
    assert "Only a supervisor can reopen it" in client.get(f"/assistance/{service.id}").get_data(as_text=True)


# -- reintegration follow-up visits ----------------------------------------------------------------
@pytest.fixture
def reintegration(world, make_service):
    return make_service(world.case, "reintegration", provider=world.lead, components=frozenset({"housing"}))


def test_follow_up_is_added_listed_and_encrypted(app, client, login, world, reintegration):
    from sqlalchemy import select

    from casework.assistance.models import ReintegrationFollowUp
    from casework.db import session

    login(client, world.caseworker)
    data = {"visited_on": "2025-08-01", "sustainability_score": "72", "notes": "Shop open; rent paid — ça va."}
    response = client.post(f"/assistance/{reintegration.id}/follow-ups", data=data)
    assert response.status_code == 302
    page = client.get(f"/assistance/{reintegration.id}").get_data(as_text=True)
    assert "2025-08-01" in page and "72" in page and "ça va" in page
    with app.app_context():
        visit = session.execute(select(ReintegrationFollowUp)).scalar_one()
        assert visit.notes == data["notes"] and visit.reintegration_id == reintegration.id
        visit_id = visit.id
    stored = raw_column(app, "reintegration_follow_ups", "notes", visit_id)
    assert b"rent paid" not in stored


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"visited_on": ""}, "visited_on", "required"),
        ({"visited_on": "abc"}, "visited_on", "real date"),
        ({"visited_on": TOMORROW}, "visited_on", "future"),
        ({"visited_on": "2025-08-01", "sustainability_score": "101"}, "sustainability_score", "0 to 100"),
        ({"visited_on": "2025-08-01", "sustainability_score": "-5"}, "sustainability_score", "0 to 100"),
        ({"visited_on": "2025-08-01", "sustainability_score": "high"}, "sustainability_score", "whole number"),
        ({"visited_on": "2025-08-01", "notes": "n" * 10_001}, "notes", "10000"),
        ({"visited_on": "2025-08-01", "notes": "a\x00b"}, "notes", "control characters"),
    ],
)
def test_bad_follow_up_is_refused(app, client, login, world, reintegration, data, field, message):
    from sqlalchemy import func, select

    from casework.assistance.models import ReintegrationFollowUp
    from casework.db import session

    login(client, world.caseworker)
    data = {"sustainability_score": "50", "notes": "Kept note", **data}
    response = client.post(f"/assistance/{reintegration.id}/follow-ups", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in field_error(page, field)
    if field != "notes":
        assert "Kept note" in page
    with app.app_context():
        assert session.execute(select(func.count(ReintegrationFollowUp.id))).scalar_one() == 0


def test_follow_ups_only_for_reintegration(client, login, world, make_service):
    shelter = make_service(world.case, "shelter", provider=world.lead)
    login(client, world.caseworker)
    response = client.post(f"/assistance/{shelter.id}/follow-ups", data={"visited_on": date.today().isoformat()})
    assert response.status_code == 404
