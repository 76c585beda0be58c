"""The defects issue 15 found in master-key rotation, each as the operator met it.

Each test drives the commands an operator had (``keys rotate``, ``keys retire``, ``keys
check``) against two app instances on one database: host A, where the commands run, and host
B, a running worker (the same keyring file as A, or its own copy of it, as the test says).
"""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import func, select, update

from casework.cases.models import Case
from casework.crypto.aead import Aead, random_key
from casework.crypto.fields import wrap_ad
from casework.db import session
from tests.crypto.hosts import (
    file_key_ids,
    opens,
    register_over_http,
    signed_in,
    wrapping_key_ids,
)

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture
def app(make_app, keyfiles, monkeypatch):  # host A
    # No backup is kept in these tests: a key no data key needs may be retired at once.
    monkeypatch.setenv("CASEWORK_BACKUP_RETENTION_DAYS", "0")
    return make_app(keyring_path=keyfiles.a)


@pytest.fixture
def staff(make_org, make_user, make_case):
    org = make_org("Lead agency")
    caseworker = make_user("caseworker", org=org)
    cases = [make_case(org, caseworker, given_name=f"Before{i}") for i in range(3)]
    return caseworker, cases


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["keys", *args])


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_worker_running_through_rotate_and_retire_never_wraps_under_the_retired_key(
    database, app, make_app, keyfiles, staff, login
):
    """Defect: after ``keys rotate`` then ``keys retire OLD``, a running worker kept wrapping new
    cases' data keys under OLD; once it reloaded its keyring those cases answered 500 forever."""
    caseworker, cases = staff
    worker = make_app(create_schema=False, keyring_path=keyfiles.a)  # same host, same file
    worker_client = signed_in(worker, login, caseworker)
    assert opens(worker_client, cases[0].id) == 200  # the worker is up and has used its keyring
    old = file_key_ids(keyfiles.a)[0]

    rotated = _run(app, "rotate")
    assert rotated.exit_code == 0, rotated.output
    retired = _run(app, "retire", old)
    assert retired.exit_code == 0, retired.output
    assert old not in file_key_ids(keyfiles.a)

    response = register_over_http(worker_client, "Afterretire")
    assert response.status_code == 302, response.status_code
    new_id = response.headers["Location"].rsplit("/", 1)[-1]
    wrapped = wrapping_key_ids(app)
    assert old not in wrapped.values(), "a data key was wrapped under the retired master key"
    assert set(wrapped.values()) <= set(file_key_ids(keyfiles.a))
    host_a_client = signed_in(app, login, caseworker)
    for case_id in [c.id for c in cases] + [new_id]:
        assert opens(host_a_client, case_id) == 200
        assert opens(worker_client, case_id) == 200


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_keys_check_fails_on_any_data_key_under_a_key_the_keyring_lacks(database, app, staff):
    """Defect: ``keys check`` unwrapped one stored data key per table and passed while other
    rows were wrapped under a master key no keyring holds any more."""
    _caseworker, cases = staff
    foreign = Aead(b"mk-19990101-dead00", random_key())
    orphan = cases[-1].id  # the first case still unwraps: one sample per table passed
    with app.app_context():
        session.execute(
            update(Case)
            .where(Case.id == orphan)
            .values(
                wrapped_key=foreign.seal(os.urandom(40), wrap_ad("cases", orphan)),
                wrapping_key_id="mk-19990101-dead00",
            )
        )
        session.commit()
    result = _run(app, "check")
    assert result.exit_code == 1, result.output
    assert "mk-19990101-dead00" in result.output


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_rotating_on_one_host_leaves_the_other_host_serving_every_case(
    database, app, make_app, keyfiles, staff, login, monkeypatch
):
    """Defect: with two hosts each holding a copy of the keyring, ``keys rotate`` on one made
    the other answer 500 on every case until the file was copied over."""
    monkeypatch.setenv("CASEWORK_KEYRING_POLL_SECONDS", "0.2")
    caseworker, cases = staff
    host_b = make_app(create_schema=False, keyring_path=keyfiles.b)
    b_client = signed_in(host_b, login, caseworker)
    assert opens(b_client, cases[0].id) == 200
    time.sleep(0.5)  # host B's worker has reported what it holds

    _run(app, "rotate")  # refused or not, host B must keep serving

    for case in cases:
        assert opens(b_client, case.id) == 200
    assert set(wrapping_key_ids(app).values()) <= set(file_key_ids(keyfiles.b))
    response = register_over_http(b_client, "Duringrotation")
    assert response.status_code == 302


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_copied_keyring_is_picked_up_even_when_its_mtime_did_not_change(
    database, app, make_app, keyfiles, staff, login
):
    """Defect: a worker reloaded its keyring only when the file's mtime changed (``cp -p``,
    ``rsync -a`` and a restore keep it), so it answered 500 on every re-wrapped case."""
    caseworker, cases = staff
    host_b = make_app(create_schema=False, keyring_path=keyfiles.b)  # not serving yet
    rotated = _run(app, "rotate")
    assert rotated.exit_code == 0, rotated.output
    mtime = keyfiles.b.stat().st_mtime_ns
    keyfiles.copy_a_to_b()
    os.utime(keyfiles.b, ns=(mtime, mtime))

    b_client = signed_in(host_b, login, caseworker)
    for case in cases:
        assert opens(b_client, case.id) == 200


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_host_lacking_the_active_key_refuses_to_register_with_a_503_and_saves_nothing(
    database, app, make_app, keyfiles, staff, login, casework_logs
):
    """A process must never wrap under a key that is not the deployment's active key: host B,
    whose file lacks it, answers the 503 page and saves nothing (before: it wrapped under its
    own newest key)."""
    caseworker, cases = staff
    host_b = make_app(create_schema=False, keyring_path=keyfiles.b)  # not serving yet
    rotated = _run(app, "rotate")
    assert rotated.exit_code == 0, rotated.output
    b_client = signed_in(host_b, login, caseworker)
    with app.app_context():
        before = session.execute(select(func.count(Case.id))).scalar_one()
    response = register_over_http(b_client, "Mustnotbesaved")
    assert response.status_code == 503
    assert "Nothing was saved" in response.get_data(as_text=True)
    with app.app_context():
        assert session.execute(select(func.count(Case.id))).scalar_one() == before
    active = file_key_ids(keyfiles.a)[-1]
    assert "Mustnotbesaved" not in casework_logs.text
    assert f"lacks the deployment's active master key {active}" in casework_logs.text  # which key, no data
    assert set(wrapping_key_ids(app).values()) == {active}
