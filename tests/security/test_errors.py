"""Error pages are generic: an unexpected exception shows no exception text, stack or data,
and the logs carry its type and place only."""

from __future__ import annotations

import logging

import pytest

from casework.access import route
from casework.logs import JsonFormatter

VICTIM = "Fatima Zahra Quenneville"


class CapturingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Both what the JSON log would print and everything the record carries.
        self.lines.append(JsonFormatter().format(record))
        self.lines.append(record.getMessage())
        self.lines.append(repr(record.args))
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))


@pytest.fixture
def failing_app(make_app):
    app = make_app()

    @app.route("/test-only/explode", methods=["GET", "POST"])
    @route(public=True)
    def explode() -> str:
        raise RuntimeError(f"database refused row for {VICTIM} born 1999-04-01")

    @app.route("/test-only/unclassified")
    def unclassified() -> str:  # no @route: must be refused
        return "should never be served"

    return app


@pytest.fixture
def captured_logs():
    handler = CapturingHandler()
    logger = logging.getLogger("casework")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_unexpected_error_is_generic_and_logs_no_data(failing_app, captured_logs, caplog):
    client = failing_app.test_client()
    with caplog.at_level(logging.DEBUG):
        response = client.get("/test-only/explode?name=" + VICTIM.replace(" ", "+"))
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert VICTIM not in page and "RuntimeError" not in page and "Traceback" not in page
    assert "Something went wrong on our side" in page
    assert response.headers["Cache-Control"] == "no-store"
    logs = "\n".join(captured_logs.lines) + caplog.text
    assert "RuntimeError" in logs  # the type and place are logged...
    assert VICTIM not in logs and "1999-04-01" not in logs  # ...never the message or the query


def test_unexpected_error_on_post_stays_generic(failing_app, captured_logs):
    client = failing_app.test_client()
    response = client.post("/test-only/explode", data={"given_name": VICTIM})
    assert response.status_code == 500
    assert VICTIM not in response.get_data(as_text=True)
    assert VICTIM not in "\n".join(captured_logs.lines)


def test_a_route_without_an_access_rule_is_refused(failing_app, captured_logs):
    response = failing_app.test_client().get("/test-only/unclassified")
    assert response.status_code == 403
    assert "should never be served" not in response.get_data(as_text=True)


@pytest.mark.parametrize(("method", "url", "status"), [("get", "/no/such/page", 404), ("post", "/health", 405)])
def test_http_error_pages_are_generic(client, method, url, status):
    response = getattr(client, method)(url)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert "Traceback" not in page and "werkzeug" not in page.lower()


def test_request_logs_carry_the_route_pattern_not_the_url(
    app, client, make_org, make_user, make_case, login, captured_logs
):
    org = make_org()
    worker = make_user("caseworker", org=org)
    case = make_case(org, assigned_to=worker)
    login(client, worker)
    client.get(f"/cases/{case.id}?q=" + VICTIM.replace(" ", "+"))
    logs = "\n".join(captured_logs.lines)
    assert "/cases/<uuid:case_id>" in logs
    assert VICTIM not in logs and str(case.id) not in logs
