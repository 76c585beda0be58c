"""Input no form can take: a NUL byte (PostgreSQL refuses it in text; it is never typed) and a
file part where a form expects text. Both get a clear 400 before any view runs, on SQLite and
PostgreSQL, and nothing is stored. The fuzzer (tests/fuzz) sends both to every form."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from casework.audit.models import AuditEvent
from casework.db import session

REFUSAL = "cannot be stored"


def _events(app) -> int:
    with app.app_context():
        return session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


@pytest.mark.parametrize("backend", [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_nul_byte_in_the_sign_in_email_is_a_400(app, client, make_user, backend):
    user = make_user("caseworker")
    before = _events(app)
    response = client.post("/auth/login", data={"email": user.email + "\x00", "password": "whatever it is 1"})
    assert response.status_code == 400
    assert REFUSAL in response.get_data(as_text=True)
    assert _events(app) == before


@pytest.mark.parametrize("backend", [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_file_in_the_sign_in_email_is_a_400(app, client, make_user, backend):
    make_user("caseworker")
    response = client.post(
        "/auth/login",
        data={"email": (io.BytesIO(b"a" * 100), "email.txt"), "password": "whatever it is 1"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert REFUSAL in response.get_data(as_text=True)


@pytest.mark.postgres
def test_a_nul_byte_in_a_signed_in_form_is_a_400_on_postgres(app, client, make_org, make_user, make_case, login):
    """Forms that check control characters say so next to the field (what was typed is kept);
    the query string is refused outright (no link has a NUL)."""
    from casework.cases.models import CaseNote

    org = make_org()
    caseworker = make_user("caseworker", org=org)
    case = make_case(org, assigned_to=caseworker)
    login(client, caseworker)
    for path, data in (
        ("/cases/search", {"full_name": "Amina\x00"}),
        (f"/cases/{case.id}/notes", {"body": "Note\x00"}),
    ):
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert "control characters" in response.get_data(as_text=True)
    assert client.get("/cases/?status=open%00").status_code == 400
    with app.app_context():
        assert session.execute(select(func.count()).select_from(CaseNote)).scalar_one() == 0
