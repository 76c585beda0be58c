"""A deployment refuses to serve with a keyring that did not write its database
(casework.crypto.ownership): the newest audit event must verify under the keyring's audit key
and the stored data keys must unwrap under its master keys."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from casework.audit import writer
from casework.crypto.aead import random_key
from casework.crypto.keyring import Keyring, MasterKey, get_keyring
from casework.crypto.ownership import KeyringMismatch, check_keyring_matches_database, mismatch
from casework.db import session


@pytest.fixture
def written(app, make_org, make_case):
    """A database with a case (a wrapped data key) and audit events, all under keyring_file."""
    org = make_org()
    make_case(org)
    with app.app_context():
        writer.record("test.event", details={"n": 1})
        session.commit()
    return app


def _foreign_keyring_file(tmp_path: Path) -> Path:
    path = tmp_path / "another-deployment.json"
    Keyring.generate().save(path)
    return path


def _keyring_with_own_audit_key_only(app, tmp_path: Path, same_ids: bool) -> Path:
    """Same audit and blind-index keys, other master-key material (under the same ids, or new
    ones): the data keys cannot unwrap."""
    with app.app_context():
        own = get_keyring()
    ids = own.key_ids if same_ids else ["mk-20000101-abcdef"]
    masters = [MasterKey(key_id, random_key(), "2026-01-01T00:00:00+00:00") for key_id in ids]
    path = tmp_path / "other-masters.json"
    Keyring(masters, own.blind_index_key, own.audit_key).save(path)
    return path


def test_the_database_own_keyring_passes(written):
    check_keyring_matches_database(written)  # no exception
    with written.app_context():
        assert mismatch(session, get_keyring()) is None


def test_an_empty_database_has_nothing_to_compare_and_passes(app, tmp_path, make_app):
    foreign = make_app(create_schema=False, keyring_path=_foreign_keyring_file(tmp_path))
    check_keyring_matches_database(foreign)


def test_a_keyring_from_another_deployment_is_refused(written, make_app, tmp_path):
    foreign = make_app(create_schema=False, keyring_path=_foreign_keyring_file(tmp_path))
    with pytest.raises(KeyringMismatch, match="newest audit event was not signed with this keyring"):
        check_keyring_matches_database(foreign)


def test_other_master_keys_are_refused_even_with_the_audit_key(written, make_app, tmp_path):
    other = make_app(create_schema=False, keyring_path=_keyring_with_own_audit_key_only(written, tmp_path, True))
    with pytest.raises(KeyringMismatch, match="data key stored in cases does not unwrap"):
        check_keyring_matches_database(other)


def test_a_keyring_lacking_the_key_ids_in_use_is_refused_even_with_the_audit_key(written, make_app, tmp_path):
    other = make_app(create_schema=False, keyring_path=_keyring_with_own_audit_key_only(written, tmp_path, False))
    with pytest.raises(KeyringMismatch) as refused:
        check_keyring_matches_database(other)
    with written.app_context():
        active = get_keyring().newest_key_id
    assert f"lacks the deployment's active master key {active}" in str(refused.value)
    assert f"1 data keys stored in cases are wrapped under master key {active}, which this keyring lacks" in str(
        refused.value
    )


def test_the_refusal_names_no_key_material_and_no_victim_data(written, make_app, tmp_path):
    foreign_path = _foreign_keyring_file(tmp_path)
    foreign = make_app(create_schema=False, keyring_path=foreign_path)
    with pytest.raises(KeyringMismatch) as refused:
        check_keyring_matches_database(foreign)
    message = str(refused.value)
    assert "Amina" not in message and "Testcase" not in message
    with foreign.app_context():
        keyring = get_keyring()
        assert keyring.audit_key.hex() not in message


def test_a_database_without_a_schema_is_let_through_with_a_warning(make_app, tmp_path, caplog):
    fresh = make_app(create_schema=False, database_url=f"sqlite:///{tmp_path / 'before-migrations.sqlite3'}")
    with caplog.at_level(logging.WARNING, logger="casework.crypto.ownership"):
        check_keyring_matches_database(fresh)
    assert "keyring check skipped" in caplog.text


def test_keys_check_command(written, make_app, tmp_path):
    result = written.test_cli_runner().invoke(args=["keys", "check"])
    assert result.exit_code == 0, result.output
    assert "matches" in result.output
    foreign = make_app(create_schema=False, keyring_path=_foreign_keyring_file(tmp_path))
    refused = foreign.test_cli_runner().invoke(args=["keys", "check"])
    assert refused.exit_code == 1
    assert "not this database's keyring" in refused.output


@pytest.mark.postgres
def test_the_same_on_postgres(written, make_app, tmp_path):
    check_keyring_matches_database(written)
    foreign = make_app(create_schema=False, keyring_path=_foreign_keyring_file(tmp_path))
    with pytest.raises(KeyringMismatch):
        check_keyring_matches_database(foreign)
