"""Migration b16a3c5d7e90 on a database written by the previous release: staff free text and
reasons come out encrypted and readable, the plaintext is gone from the database, blind indexes
are recomputed under each organisation's key (existing cases are still found), and a downgrade
gives the plaintext back. On SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from casework import migrate
from casework.crypto import blind_index, get_keyring
from casework.crypto.fields import new_data_key
from casework.crypto.migration import seal_text
from casework.db import get_db, session

PREVIOUS = "7c2b9e4d1a06"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _insert(connection, table: str, **values) -> None:
    columns = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    connection.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({marks})"), values)  # noqa: S608


def _old_database(app) -> dict[str, uuid.UUID]:
    """Rows as the previous release wrote them (plain free text, one deployment-wide index key)."""
    keyring = get_keyring()
    ids = {name: uuid.uuid4() for name in ("org_a", "org_b", "user", "case_a", "case_b", "erased", "legal", "grant")}
    engine = get_db(app).engine
    uid = (lambda value: value.hex) if engine.dialect.name == "sqlite" else (lambda value: value)
    now = NOW.replace(tzinfo=None) if engine.dialect.name == "sqlite" else NOW
    with engine.begin() as connection:
        for org in ("org_a", "org_b"):
            _insert(
                connection, "organisations", id=uid(ids[org]), name=org, kind="lead_agency", active=True, created_at=now
            )
        _insert(
            connection, "users", id=uid(ids["user"]), organisation_id=uid(ids["org_b"]), email="s@example.org",
            display_name="S", role="supervisor", password_hash="x", must_change_password=False, active=True,
            totp_enabled=False, failed_logins=0, session_epoch=0, created_at=now,
        )  # fmt: skip
        for number, (case, org) in enumerate((("case_a", "org_a"), ("case_b", "org_b"), ("erased", "org_a"))):
            wrapped, key_id, aead = new_data_key(keyring, "cases", ids[case], keyring.newest_key_id)
            erased = case == "erased"
            _insert(
                connection, "cases", id=uid(ids[case]), reference=f"CT-2026-00000{number}", owner_org_id=uid(ids[org]),
                status="open", opened_on=date(2026, 1, 5), created_at=now, updated_at=now, version_id=1,
                year_of_registration=2026, data_source="case_management",
                wrapped_key=None if erased else wrapped, wrapping_key_id=None if erased else key_id,
                key_destroyed_at=now if erased else None, erased_at=now if erased else None,
                erasure_reason="Asked in writing at the Zqoffice visit" if erased else None,
                given_name=None if erased else seal_text(aead, "cases", "given_name", ids[case], "Amina"),
                family_name=None if erased else seal_text(aead, "cases", "family_name", ids[case], "Bello"),
                date_of_birth=None if erased else seal_text(aead, "cases", "date_of_birth", ids[case], "2001-02-03"),
                name_bidx=None if erased else blind_index.name_index("Amina", "Bello", keyring.blind_index_key),
                name_dob_bidx=None if erased else blind_index.name_dob_index(
                    "Amina", "Bello", "2001-02-03", keyring.blind_index_key
                ),
            )  # fmt: skip
        _insert(
            connection, "services", id=uid(ids["legal"]), case_id=uid(ids["case_a"]), kind="legal", status="needed",
            created_at=now, updated_at=now, version_id=1,
        )  # fmt: skip
        _insert(connection, "legal_assistance", id=uid(ids["legal"]), representative="Clinic for Zqbello")
        _insert(
            connection, "break_glass_access", id=uid(ids["grant"]), case_id=uid(ids["case_a"]),
            user_id=uid(ids["user"]), reason="Zqpolice report tonight, owner unreachable", granted_at=now,
            expires_at=now + timedelta(hours=4),
        )  # fmt: skip
    return ids


def _raw(app, sql: str) -> list:
    with get_db(app).engine.connect() as connection:
        return [row[0] for row in connection.execute(sa.text(sql))]


def _check_upgrade_keeps_the_data(make_app) -> None:
    app = make_app(create_schema=False)
    with app.app_context():
        migrate.upgrade(PREVIOUS)
        ids = _old_database(app)
        migrate.upgrade("head")
    # Each value's own words, not a two-byte marker: random ciphertext holds any given two bytes
    # about once in a thousand columns, which once failed CI.
    for sql, plaintext in (
        ("SELECT representative FROM legal_assistance", b"Zqbello"),
        ("SELECT reason FROM break_glass_access", b"Zqpolice"),
        ("SELECT erasure_reason FROM cases WHERE erasure_reason IS NOT NULL", b"Zqoffice"),
    ):
        (stored,) = _raw(app, sql)
        assert stored and plaintext not in bytes(stored), sql
    from casework.assistance.models import LegalAssistance
    from casework.cases.models import BreakGlassAccess, Case
    from casework.cases.services import compute_indexes

    with app.app_context():
        assert session.get(LegalAssistance, ids["legal"]).representative == "Clinic for Zqbello"
        assert session.get(BreakGlassAccess, ids["grant"]).reason == "Zqpolice report tonight, owner unreachable"
        assert session.get(Case, ids["erased"]).erasure_reason == "Asked in writing at the Zqoffice visit"
        # Still found under each organisation's own key, and the two organisations' values differ.
        case_a, case_b = session.get(Case, ids["case_a"]), session.get(Case, ids["case_b"])
        wanted_a = compute_indexes("Amina Bello", None, date(2001, 2, 3), None, ids["org_a"])
        assert case_a.name_bidx == wanted_a.name and case_a.name_dob_bidx == wanted_a.name_dob
        assert case_b.name_bidx == compute_indexes("Amina", "Bello", None, None, ids["org_b"]).name
        assert case_a.name_bidx != case_b.name_bidx
        session.rollback()
        migrate.downgrade(PREVIOUS)
    assert _raw(app, "SELECT representative FROM legal_assistance") == ["Clinic for Zqbello"]
    assert _raw(app, "SELECT reason FROM break_glass_access") == ["Zqpolice report tonight, owner unreachable"]
    assert "Asked in writing at the Zqoffice visit" in _raw(app, "SELECT erasure_reason FROM cases")
    keyring_key = None
    with app.app_context():
        keyring_key = get_keyring().blind_index_key
    assert set(_raw(app, "SELECT name_bidx FROM cases WHERE name_bidx IS NOT NULL")) == {
        blind_index.name_index("Amina", "Bello", keyring_key)
    }


def test_sqlite_upgrade_encrypts_and_reindexes_existing_rows(make_app):
    _check_upgrade_keeps_the_data(make_app)


@pytest.mark.postgres
def test_postgres_upgrade_encrypts_and_reindexes_existing_rows(make_app):
    _check_upgrade_keeps_the_data(make_app)
