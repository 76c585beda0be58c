"""Envelope encryption: round trips, binding to row and column, keys, rotation, shredding."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from casework.cases.models import Case, CaseNote
from casework.crypto import ERASED, DecryptionError, Keyring, KeyringError, UnknownKeyError
from casework.crypto.aead import Aead, random_key
from casework.db import session


def test_round_trip_text_and_date(app, make_org, make_case):
    org = make_org()
    case = make_case(org, given_name="Zoë", family_name="Nguyễn Thị Ánh", date_of_birth=date(2001, 2, 3))
    with app.app_context():
        loaded = session.get(Case, case.id)
        assert loaded.given_name == "Zoë"
        assert loaded.family_name == "Nguyễn Thị Ánh"
        assert loaded.date_of_birth == date(2001, 2, 3)
        raw = session.execute(text("SELECT given_name, family_name FROM cases")).one()
        assert "Zoë".encode() not in raw[0] and "Nguyễn".encode() not in raw[1]


def test_empty_string_is_stored_as_null(app, make_org, make_case):
    case = make_case(make_org(), aliases="")
    with app.app_context():
        loaded = session.get(Case, case.id)
        assert loaded.aliases is None and loaded.aliases_ct is None


def test_ciphertext_copied_to_another_row_fails(app, make_org, make_case):
    org = make_org()
    first = make_case(org, given_name="Alpha")
    second = make_case(org, given_name="Bravo")
    with app.app_context():
        blob = session.get(Case, first.id).given_name_ct
        session.execute(update(Case).where(Case.id == second.id).values(given_name_ct=blob))
        session.commit()
    with app.app_context():
        with pytest.raises(DecryptionError):
            _ = session.get(Case, second.id).given_name


def test_ciphertext_copied_to_another_column_fails(app, make_org, make_case):
    case = make_case(make_org(), given_name="Alpha", family_name="Bravo")
    with app.app_context():
        blob = session.get(Case, case.id).given_name_ct
        session.execute(update(Case).where(Case.id == case.id).values(family_name_ct=blob))
        session.commit()
    with app.app_context():
        loaded = session.get(Case, case.id)
        assert loaded.given_name == "Alpha"
        with pytest.raises(DecryptionError):
            _ = loaded.family_name


def test_tampered_ciphertext_fails(app, make_org, make_case):
    case = make_case(make_org(), given_name="Alpha")
    with app.app_context():
        blob = bytearray(session.get(Case, case.id).given_name_ct)
        blob[-1] ^= 1
        session.execute(update(Case).where(Case.id == case.id).values(given_name_ct=bytes(blob)))
        session.commit()
    with app.app_context():
        with pytest.raises(DecryptionError):
            _ = session.get(Case, case.id).given_name


def test_wrong_master_key_is_a_clear_error(make_app, make_org, tmp_path):
    other = tmp_path / "other-keyring.json"
    Keyring.generate().save(other)
    app = make_app()
    org_id = None
    from casework.auth.models import Organisation

    with app.app_context():
        org = Organisation(name="Org", kind="lead_agency")
        case = Case(
            reference="CT-2025-000001", owner_org_id=org.id, opened_on=date(2025, 1, 1), year_of_registration=2025
        )
        case.given_name = "Alpha"
        session.add_all([org, case])
        session.commit()
        org_id, case_id = org.id, case.id
    assert org_id is not None
    wrong = make_app(create_schema=False, keyring_path=other)
    with wrong.app_context():
        with pytest.raises(UnknownKeyError):
            _ = session.get(Case, case_id).given_name


def test_missing_keyring_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(KeyringError, match="no keyring file"):
        Keyring.load(tmp_path / "absent.json")


def test_malformed_keyring_file_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "bad.json"
    path.write_text('{"version": 1, "master_keys": []}')
    with pytest.raises(KeyringError):
        Keyring.load(path)


def test_keyring_file_is_owner_only(tmp_path: Path):
    path = tmp_path / "k.json"
    Keyring.generate().save(path)
    assert path.stat().st_mode & 0o077 == 0


def test_aead_rejects_other_key_id():
    one = Aead(b"one", random_key())
    two = Aead(b"two", random_key())
    with pytest.raises(DecryptionError):
        two.open(one.seal(b"x", b"ad"), b"ad")


def test_shredded_case_reads_as_erased_and_other_rows_intact(app, make_org, make_case, make_user):
    org = make_org()
    author = make_user("caseworker", org=org)
    kept = make_case(org, given_name="Kept")
    shredded = make_case(org, given_name="Gone", date_of_birth=date(1999, 9, 9))
    with app.app_context():
        case = session.get(Case, shredded.id)
        session.add(CaseNote(case=case, author_org_id=org.id, author_id=author.id, body="note text"))
        session.commit()
        case.destroy_data_key()
        session.commit()
    with app.app_context():
        gone = session.get(Case, shredded.id)
        assert gone.given_name is ERASED
        assert gone.date_of_birth is ERASED
        assert str(gone.given_name) == "[erased]"
        assert session.execute(select(CaseNote)).scalar_one().body is ERASED
        assert gone.reference.startswith("CT-")  # the row stays
        assert session.get(Case, kept.id).given_name == "Kept"


def test_writing_to_a_shredded_case_is_refused(app, make_org, make_case):
    from casework.crypto import ErasedError

    case = make_case(make_org())
    with app.app_context():
        loaded = session.get(Case, case.id)
        loaded.destroy_data_key()
        session.commit()
        with pytest.raises(ErasedError):
            loaded.given_name = "New"


def test_value_set_before_owner_known_is_encrypted_at_flush(app, make_org, make_case):
    case = make_case(make_org())
    with app.app_context():
        note = CaseNote(body="written first", case_id=case.id, author_org_id=case.owner_org_id)
        session.add(note)
        session.commit()
        raw = session.execute(text("SELECT body FROM case_notes")).scalar_one()
        assert b"written first" not in raw
    with app.app_context():
        assert session.execute(select(CaseNote)).scalar_one().body == "written first"
