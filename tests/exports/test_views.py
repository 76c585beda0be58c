"""The researcher and supervisor pages: access for every role, the export flow, bad input."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from casework import access
from casework.audit.models import AuditEvent
from casework.db import session
from casework.exports.models import ExportRun, ExportSettings
from tests.exports.checks import assert_k_anonymous, read_csv

RESEARCH_ROUTES = [
    ("get", "/exports/"),
    ("post", "/exports/microdata"),
    ("post", "/exports/table"),
    ("get", "/exports/runs/{id}"),
    ("get", "/exports/runs/{id}/download"),
]
SETTINGS_ROUTES = [("get", "/exports/settings"), ("post", "/exports/settings")]


def call(client, method: str, path: str, **kwargs):
    path = path.format(id=uuid.uuid4())
    return getattr(client, method)(path, **kwargs)


@pytest.mark.parametrize("role", ["admin", "supervisor", "caseworker", "partner"])
@pytest.mark.parametrize(("method", "path"), RESEARCH_ROUTES)
def test_research_routes_refuse_every_other_role(client, make_user, login, role, method, path) -> None:
    login(client, make_user(role))
    assert call(client, method, path).status_code == 403


@pytest.mark.parametrize("role", ["admin", "caseworker", "partner", "researcher"])
@pytest.mark.parametrize(("method", "path"), SETTINGS_ROUTES)
def test_settings_routes_refuse_every_other_role(client, make_user, login, role, method, path) -> None:
    login(client, make_user(role))
    assert call(client, method, path).status_code == 403


@pytest.mark.parametrize(("method", "path"), RESEARCH_ROUTES + SETTINGS_ROUTES)
def test_signed_out_visitors_are_sent_to_sign_in(client, method, path) -> None:
    response = call(client, method, path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_post_without_csrf_token_is_refused(client, researcher, login) -> None:
    login(client, researcher)
    assert client.post("/exports/microdata", data={"k": "11"}, csrf=False).status_code == 400


def test_a_researcher_reaches_no_case_route(app, client, researcher, login, make_case, make_org) -> None:
    case = make_case(make_org())
    login(client, researcher)
    checked = 0
    for rule in app.url_map.iter_rules():
        declared = access.route_rule(app.view_functions[rule.endpoint])
        if declared is None or declared.public or rule.endpoint == "static":
            continue
        if declared.permission is access.Permission.EXPORT_RESEARCH:
            continue
        if declared.permission is None and not declared.case_route:
            continue  # any signed-in page (home, sign out, password): no case data
        values = {arg: (case.id if "case" in arg else uuid.uuid4()) for arg in rule.arguments}
        if "kind" in rule.arguments:
            values["kind"] = "shelter"
        with app.test_request_context():
            from flask import url_for

            path = url_for(rule.endpoint, **values)
        method = "get" if "GET" in rule.methods else "post"
        status = getattr(client, method)(path).status_code
        assert status in (403, 404), f"{rule.endpoint} answered {status} to a researcher"
        checked += 1
    assert checked > 0


def test_the_export_flow(app, client, researcher, login, consented_case, export_limits) -> None:
    export_limits(min_k=2, min_threshold=2)
    for age in (20, 20, 20, 30, 30, 31):
        consented_case(age_at_registration=age)
    login(client, researcher)
    page = client.get("/exports/")
    assert page.status_code == 200 and b"CTDC microdata" in page.data

    response = client.post("/exports/microdata", data={"k": "2", "priority": ["citizenship"]})
    assert response.status_code == 302
    report = client.get(response.headers["Location"])
    assert report.status_code == 200
    assert b"Values set to -99" in report.data and b"Download the CSV file" in report.data

    download = client.get(response.headers["Location"] + "/download")
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    header, rows = read_csv(download.data.decode("utf-8"))
    assert len(rows) == 6
    assert_k_anonymous(rows, 2)
    with app.app_context():
        run = session.execute(select(ExportRun)).scalar_one()
        assert run.requested_by_id == researcher.id and run.downloaded_at is not None
        assert run.file_bytes == len(download.data)  # stored in the database (tests/exports/test_storage.py)
        actions = session.execute(select(AuditEvent.action)).scalars().all()
        assert "export.run" in actions and "export.download" in actions

    response = client.post(
        "/exports/table", data={"dimensions": ["year", "gender"], "threshold": "2", "rounding": "none"}
    )
    assert response.status_code == 302
    report = client.get(response.headers["Location"])
    assert report.status_code == 200 and b"people (consented cases)" in report.data


def test_someone_elses_export_is_not_disclosed(app, client, make_user, login, consented_case, export_limits) -> None:
    export_limits(min_k=2)
    for _ in range(3):
        consented_case()
    owner, other = make_user("researcher"), make_user("researcher")
    login(client, owner)
    location = client.post("/exports/microdata", data={"k": "2"}).headers["Location"]
    client.post("/auth/logout")
    login(client, other)
    assert client.get(location).status_code == 404
    assert client.get(location + "/download").status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"k": "abc"}, b"Enter a whole number"),
        ({"k": ""}, b"Enter a whole number"),
        ({"k": "1"}, b"Enter a number from"),
        ({"k": "5"}, b"Enter a number from 6"),  # below the supervisor's minimum
        ({"k": "7\x00"}, b"Enter a whole number"),
        ({"k": "99999999999999999999999"}, b"Enter a number from"),
        ({"k": "7", "priority": ["caseId"]}, b"Choose only from the options listed"),
    ],
)
def test_bad_microdata_requests_get_a_message_and_4xx(client, researcher, login, export_limits, data, message) -> None:
    export_limits(min_k=6)
    login(client, researcher)
    response = client.post("/exports/microdata", data=data)
    assert 400 <= response.status_code < 500
    assert message in response.data


def test_fewer_consented_cases_than_k_is_explained(client, researcher, login, consented_case, export_limits) -> None:
    export_limits(min_k=2)
    consented_case()
    login(client, researcher)
    response = client.post("/exports/microdata", data={"k": "2"})
    assert response.status_code == 409
    assert b"fewer than k = 2" in response.data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"threshold": "10"}, b"Choose at least one dimension"),
        ({"dimensions": ["citizenship"], "threshold": "10"}, b"Choose only from the options listed"),
        ({"dimensions": ["year"], "threshold": "3"}, b"Enter a number from 5"),
        ({"dimensions": ["year"], "threshold": "ten"}, b"Enter a whole number"),
        ({"dimensions": ["year"], "threshold": "10", "rounding": "up"}, b"Not a valid choice"),
        ({"dimensions": ["year", "gender", "age_band"], "threshold": "10"}, b"At most 2 dimensions"),
    ],
)
def test_bad_table_requests_get_a_message_and_4xx(client, researcher, login, export_limits, data, message) -> None:
    export_limits(min_threshold=5, max_dimensions=2, allowed=["year", "gender", "age_band"])
    login(client, researcher)
    response = client.post("/exports/table", data={"rounding": "none", **data})
    assert 400 <= response.status_code < 500
    assert message in response.data


def test_a_supervisor_sets_the_limits(app, client, supervisor, login) -> None:
    login(client, supervisor)
    page = client.get("/exports/settings")
    assert page.status_code == 200 and b"Minimum k" in page.data
    data = {"min_k": "15", "min_threshold": "20", "max_dimensions": "3", "allowed_dimensions": ["year", "gender"]}
    response = client.post("/exports/settings", data={**data, "version_id": "0"})
    assert response.status_code == 302
    with app.app_context():
        saved = session.get(ExportSettings, 1)
        assert (saved.min_k, saved.min_threshold, saved.max_dimensions) == (15, 20, 3)
        assert saved.allowed_dimensions == ["year", "gender"]

    bad = client.post("/exports/settings", data={**data, "min_k": "1", "version_id": "1"})
    assert bad.status_code == 400 and b"Enter a number from 2" in bad.data


def test_a_concurrent_settings_change_is_a_conflict_that_loses_nothing(app, client, supervisor, login) -> None:
    login(client, supervisor)
    first = {"min_k": "12", "min_threshold": "10", "max_dimensions": "2", "allowed_dimensions": ["year"]}
    assert client.post("/exports/settings", data={**first, "version_id": "0"}).status_code == 302
    mine = {"min_k": "30", "min_threshold": "10", "max_dimensions": "2", "allowed_dimensions": ["gender"]}
    conflict = client.post("/exports/settings", data={**mine, "version_id": "0"})  # loaded before the first save
    assert conflict.status_code == 409
    assert b"Someone else changed" in conflict.data
    assert b'value="30"' in conflict.data  # your entry is still in the form
    with app.app_context():
        assert session.get(ExportSettings, 1).min_k == 12
    version = conflict.data.split(b'name="version_id" type="hidden" value="')[1].split(b'"')[0].decode()
    assert client.post("/exports/settings", data={**mine, "version_id": version}).status_code == 302
    with app.app_context():
        assert session.get(ExportSettings, 1).min_k == 30
