"""The researcher and supervisor pages: access for every role, the export flow, bad input."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from casework import access
from casework.audit.models import AuditEvent
from casework.db import session
from casework.exports import policy
from casework.exports.models import ExportPolicy, ExportRun
from tests.exports.checks import assert_k_anonymous, read_csv
from tests.exports.seeding import seed_consented

RESEARCH_ROUTES = [
    ("get", "/exports/"),
    ("post", "/exports/microdata"),
    ("post", "/exports/table"),
    ("post", "/exports/synthetic"),
    ("post", "/exports/dp-table"),
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
    assert client.post("/exports/dp-table", data={"epsilon": "1"}, csrf=False).status_code == 400


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


POLICY_FORM = {
    "min_k": "11",
    "min_threshold": "10",
    "max_dimensions": "2",
    "allowed_dimensions": ["year", "gender"],
    "protection_width": "3",
    "noise_scale": "2",
    "rounding_base": "1",
    "epsilon_budget": "2",
}


@pytest.fixture
def seeded(app, org):
    with app.app_context():
        seed_consented(org.id, 300, seed=17)
        session.commit()


def test_the_release_flow(app, client, researcher, login, seeded, org, export_limits) -> None:
    export_limits(epsilon_budget=3)
    login(client, researcher)
    page = client.get("/exports/")
    assert page.status_code == 200 and b"CTDC microdata" in page.data and b"Lead Agency" in page.data

    data = {"dataset": str(org.id), "view": "core", "k": "11", "priority": ["citizenship"]}
    response = client.post("/exports/microdata", data=data)
    assert response.status_code == 302
    report = client.get(response.headers["Location"])
    assert report.status_code == 200
    assert b"Known values kept, by column" in report.data and b"Download the CSV file" in report.data
    assert b"3-way" in report.data  # the utility report is shown before download

    download = client.get(response.headers["Location"] + "/download")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    _header, rows = read_csv(download.data.decode("utf-8"))
    assert len(rows) == 300
    assert_k_anonymous(rows, 11)
    with app.app_context():
        run = session.execute(select(ExportRun)).scalar_one()
        assert run.requested_by_id == researcher.id and run.downloaded_at is not None
        assert run.file_bytes == len(download.data)  # stored in the database (tests/exports/test_storage.py)
        actions = session.execute(select(AuditEvent.action)).scalars().all()
        assert "export.run" in actions and "export.download" in actions

    response = client.post("/exports/table", data={"dataset": str(org.id), "dimensions": ["year", "gender"],
                                                   "threshold": "10"})  # fmt: skip
    assert response.status_code == 302
    report = client.get(response.headers["Location"])
    assert report.status_code == 200 and b"people (consented cases)" in report.data

    response = client.post("/exports/dp-table", data={"dataset": str(org.id), "dimensions": ["gender"],
                                                      "threshold": "10", "epsilon": "1"})  # fmt: skip
    assert response.status_code == 302
    report = client.get(response.headers["Location"])
    assert report.status_code == 200 and "ε = 1.0".encode() in report.data
    over = client.post("/exports/dp-table", data={"dataset": str(org.id), "dimensions": ["gender"],
                                                  "threshold": "10", "epsilon": "2.5"})  # fmt: skip
    assert over.status_code == 400 and b"nothing was released or spent" in over.data
    with app.app_context():
        assert session.get(ExportPolicy, org.id).epsilon_spent == 1.0


def test_someone_elses_release_is_not_disclosed(app, client, make_user, login, seeded, org) -> None:
    owner, other = make_user("researcher"), make_user("researcher")
    login(client, owner)
    location = client.post("/exports/microdata", data={"dataset": str(org.id), "view": "core", "k": "11"}).headers[
        "Location"
    ]
    client.post("/auth/logout")
    login(client, other)
    assert client.get(location).status_code == 404
    assert client.get(location + "/download").status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"k": "abc"}, b"Enter a whole number"),
        ({"k": ""}, b"Enter a whole number"),
        ({"k": "5"}, b"Enter a number from 11"),
        ({"k": "7\x00"}, b"Enter a whole number"),
        ({"k": "99999999999999999999999"}, b"Enter a number from"),
        ({"k": "12", "priority": ["caseId"]}, b"Choose only from the options listed"),
        ({"k": "12", "view": "custom"}, b"Choose at least one column"),
        ({"k": "12", "view": "custom", "columns": ["caseId"]}, b"Choose only from the options listed"),
        ({"k": "12", "view": "secret"}, b"Not a valid choice"),
        ({"k": "12", "dataset": "nope"}, b"Not a valid choice"),
        ({"k": "12"}, b"k must be between 15"),  # the dataset's policy
    ],
)
def test_bad_microdata_requests_get_a_message_and_4xx(
    client, researcher, login, consented_case, org, export_limits, data, message
) -> None:
    export_limits(min_k=15)
    login(client, researcher)
    response = client.post("/exports/microdata", data={"dataset": str(org.id), "view": "core", **data})
    assert 400 <= response.status_code < 500
    assert message in response.data


def test_fewer_consented_cases_than_k_is_explained(client, researcher, login, consented_case, org) -> None:
    consented_case()
    login(client, researcher)
    response = client.post("/exports/microdata", data={"dataset": str(org.id), "view": "core", "k": "11"})
    assert response.status_code == 409
    assert b"fewer than k = 11" in response.data


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("/exports/table", {"threshold": "10"}, b"Choose at least one dimension"),
        ("/exports/table", {"dimensions": ["citizenship"], "threshold": "10"}, b"does not allow"),
        ("/exports/table", {"dimensions": ["year"], "threshold": "3"}, b"Enter a number from 10"),
        ("/exports/table", {"dimensions": ["year"], "threshold": "ten"}, b"Enter a whole number"),
        ("/exports/table", {"dimensions": ["year", "gender", "age_band"], "threshold": "10"}, b"At most 2"),
        ("/exports/dp-table", {"dimensions": ["year"], "threshold": "10", "epsilon": "0"}, b"Enter a number from"),
        ("/exports/dp-table", {"dimensions": ["year"], "threshold": "10", "epsilon": "x"}, b"Enter a number such as"),
        ("/exports/dp-table", {"dimensions": ["year"], "threshold": "10", "epsilon": "1"}, b"No privacy budget"),
        ("/exports/synthetic", {"view": "core", "epsilon": "1"}, b"No privacy budget"),
    ],
)
def test_bad_table_and_private_requests_get_a_message_and_4xx(
    client, researcher, login, org, export_limits, path, data, message
) -> None:
    export_limits(max_dimensions=2, allowed=["year", "gender", "age_band"])
    login(client, researcher)
    response = client.post(path, data={"dataset": str(org.id), **data})
    assert 400 <= response.status_code < 500
    assert message in response.data


def test_a_supervisor_sets_their_own_organisations_policy(app, client, supervisor, login, org, make_org) -> None:
    login(client, supervisor)
    page = client.get("/exports/settings")
    assert page.status_code == 200 and b"Minimum k" in page.data and b"Privacy budget ledger" in page.data
    response = client.post("/exports/settings", data={**POLICY_FORM, "min_k": "15", "version_id": "0"})
    assert response.status_code == 302
    with app.app_context():
        saved = session.get(ExportPolicy, org.id)
        assert (saved.min_k, saved.epsilon_budget, saved.allowed_dimensions) == (15, 2.0, ["year", "gender"])
        other = make_org(name="Another agency")
        assert policy.policy_for(other.id).min_k == 11  # another organisation's dataset is untouched
    bad = client.post("/exports/settings", data={**POLICY_FORM, "min_k": "1", "version_id": "1"})
    assert bad.status_code == 400 and b"cannot be lowered below 11" in bad.data


def test_a_concurrent_policy_change_is_a_conflict_that_loses_nothing(app, client, supervisor, login, org) -> None:
    login(client, supervisor)
    assert client.post("/exports/settings", data={**POLICY_FORM, "min_k": "12", "version_id": "0"}).status_code == 302
    conflict = client.post("/exports/settings", data={**POLICY_FORM, "min_k": "30", "version_id": "0"})
    assert conflict.status_code == 409
    assert b"Someone else changed" in conflict.data
    assert b'value="30"' in conflict.data  # your entry is still in the form
    with app.app_context():
        assert session.get(ExportPolicy, org.id).min_k == 12
    version = conflict.data.split(b'name="version_id" type="hidden" value="')[1].split(b'"')[0].decode()
    assert (
        client.post("/exports/settings", data={**POLICY_FORM, "min_k": "30", "version_id": version}).status_code == 302
    )
    with app.app_context():
        assert session.get(ExportPolicy, org.id).min_k == 30
