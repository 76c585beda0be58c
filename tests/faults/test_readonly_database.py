"""Fault: the database stops accepting writes (disk full, read-only mount, replica promoted
late). A save answers the generic 503 page saying nothing was saved, with no traceback, and
nothing is half-written: the case, its services, notes and the audit log are unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from casework.assistance.models import Service
from casework.audit.models import AuditEvent
from casework.cases.models import Case, CaseNote
from casework.db import get_db, make_engine, session
from tests.faults.forms import form_posting_to

PSYCHOSOCIAL = {
    "status": "in_progress",
    "started_on": "2025-04-04",
    "support_types": ["individual_counselling"],
    "sessions_planned": "10",
    "sessions_attended": "4",
    "notes": "Must not be stored.",
}


def _snapshot(app: Flask, case_id: Any) -> tuple[Any, ...]:
    with app.app_context():
        case = session.get(Case, case_id)
        assert case is not None
        return (
            case.version_id,
            case.address,
            session.execute(select(func.count(Service.id))).scalar_one(),
            session.execute(select(func.count(CaseNote.id))).scalar_one(),
            session.execute(select(func.count(AuditEvent.id))).scalar_one(),
            session.execute(select(func.max(AuditEvent.id))).scalar_one(),
        )


def _make_read_only(app: Flask, path: Path) -> None:
    """Reconnect the app's pool with SQLite's read-only mode (root ignores chmod 0444)."""
    database = get_db(app)
    database.engine.dispose()
    database.engine = make_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    database.sessionmaker = sessionmaker(bind=database.engine, expire_on_commit=False)


def _editing(make_app: Any, make_org: Any, make_user: Any, make_case: Any, login: Any) -> tuple[Any, ...]:
    """A signed-in caseworker with the edit form of their case filled in (address changed)."""
    app = make_app()
    org = make_org("Lead agency")
    caseworker = make_user("caseworker", org=org)
    case = make_case(org, caseworker, address="Via Roma 1")
    client = app.test_client()
    login(client, caseworker)
    edit_path = f"/cases/{case.id}/edit"
    form = form_posting_to(client.get(edit_path).get_data(as_text=True), edit_path).data()
    form["address"] = ["Calle Mayor 2"]
    return app, client, case, edit_path, form


def test_saves_on_a_read_only_database_fail_cleanly_and_change_nothing(
    make_app: Any, tmp_path: Path, make_org: Any, make_user: Any, make_case: Any, login: Any
) -> None:
    db_path = tmp_path / "casework.sqlite3"
    app, client, case, edit_path, form = _editing(make_app, make_org, make_user, make_case, login)
    assert get_db(app).url.endswith(str(db_path))
    before = _snapshot(app, case.id)

    _make_read_only(app, db_path)
    attempts = [
        client.post(edit_path, data=form),
        client.post(f"/cases/{case.id}/assistance/psychosocial/new", data=PSYCHOSOCIAL),
        client.post(f"/cases/{case.id}/notes", data={"body": "Must not be stored either."}),
    ]
    for response in attempts:
        page = response.get_data(as_text=True)
        assert response.status_code == 503, response.status_code
        assert "Nothing was saved" in page
        assert "Traceback" not in page and "sqlite" not in page.lower()
        assert "Calle Mayor" not in page and "Must not be stored" not in page  # a generic page, no echo

    get_db(app).engine.dispose()
    get_db(app).engine = make_engine(f"sqlite:///{db_path}")
    get_db(app).sessionmaker = sessionmaker(bind=get_db(app).engine, expire_on_commit=False)
    assert _snapshot(app, case.id) == before


def test_database_gone_mid_session_gives_the_503_page_not_a_crash(
    make_app: Any, tmp_path: Path, make_org: Any, make_user: Any, make_case: Any, login: Any
) -> None:
    """The database becomes unreachable (server down, file gone) under a signed-in user: pages
    and saves answer the generic 503 page, never a 500 or a traceback."""
    app = make_app()
    org = make_org("Lead agency")
    caseworker = make_user("caseworker", org=org)
    case = make_case(org, caseworker)
    client = app.test_client()
    login(client, caseworker)
    database = get_db(app)
    database.engine.dispose()
    database.engine = make_engine(f"sqlite:///file:{tmp_path / 'missing' / 'gone.sqlite3'}?mode=ro&uri=true")
    database.sessionmaker = sessionmaker(bind=database.engine, expire_on_commit=False)
    for response in (
        client.get(f"/cases/{case.id}"),
        client.get("/cases/"),
        client.post(f"/cases/{case.id}/notes", data={"body": "Lost?"}),
        client.get("/health"),
    ):
        page = response.get_data(as_text=True)
        assert response.status_code == 503, response.status_code
        assert "Traceback" not in page
        if "html" in response.content_type:
            assert "Nothing was saved" in page


def _set_read_only(url: str, on: bool) -> None:
    """``ALTER DATABASE ... SET default_transaction_read_only``, as a failover to a standby or
    an operator's emergency switch would leave it (new connections are read-only)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1)).database
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("SET default_transaction_read_only = off"))
        value = "on" if on else "off"
        connection.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {value}'))
    admin.dispose()


@pytest.mark.postgres
def test_a_read_only_postgres_answers_503_nothing_saved_and_not_ready(
    make_app: Any, database_url: str, make_org: Any, make_user: Any, make_case: Any, login: Any
) -> None:
    app, client, case, edit_path, form = _editing(make_app, make_org, make_user, make_case, login)
    before = _snapshot(app, case.id)
    assert client.get("/ready").status_code == 200

    _set_read_only(database_url, True)
    try:
        # The pool's connections predate the switch: as after a failover, they are replaced.
        get_db(app).engine.dispose()
        attempts = [
            client.post(edit_path, data=form),
            client.post(f"/cases/{case.id}/assistance/psychosocial/new", data=PSYCHOSOCIAL),
            client.post(f"/cases/{case.id}/notes", data={"body": "Must not be stored either."}),
            client.get(f"/cases/{case.id}"),  # viewing a case is audited: a write too
        ]
        for response in attempts:
            page = response.get_data(as_text=True)
            assert response.status_code == 503, (response.status_code, page[:300])
            assert "Nothing was saved" in page
            assert "Traceback" not in page and "read-only" not in page
            assert "Calle Mayor" not in page and "Must not be stored" not in page
        assert client.get("/health").status_code == 200  # alive: the database answers
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.get_json() == {"status": "read-only"}
    finally:
        _set_read_only(database_url, False)

    # Writable again: without a restart, the next request is served and saves work.
    assert client.get("/ready").status_code == 200
    assert _snapshot(app, case.id) == before
    saved = client.post(edit_path, data=form)
    assert saved.status_code in (200, 302), saved.status_code
    with app.app_context():
        assert session.get(Case, case.id).address == "Calle Mayor 2"
