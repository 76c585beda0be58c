"""The master-key rotation protocol on two hosts (README, "Rotating master keys on a running
deployment"): keys add, copy the file, keys activate, keys rewrap, keys retire.

Two Flask apps on one database are the two hosts, each with its own copy of the keyring file
and its own keyring watcher (casework.crypto.watch). The operator's commands run with host A's
configuration. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from casework.cases.models import Case
from casework.crypto.keyring import Keyring, get_keyring
from casework.crypto.models import ACTIVE, PENDING, RETIRED, RETIRING, KeyringProcess, KeyringState, MasterKeyRecord
from casework.crypto.watch import KeyringWatcher, get_watcher
from casework.db import session, utcnow
from tests.crypto.hosts import (
    add_key,
    file_key_ids,
    keys,
    ok,
    opens,
    refused,
    register_over_http,
    signed_in,
    wrapping_key_ids,
)

BOTH = pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])


@pytest.fixture
def app(make_app, keyfiles):
    """Host A: where the operator runs the commands (no backup kept unless a test says so)."""
    return make_app(keyring_path=keyfiles.a, node_name="host-a", backup_retention_days=0)


@pytest.fixture
def host_b(make_app, keyfiles):
    return make_app(create_schema=False, keyring_path=keyfiles.b, node_name="host-b")


@pytest.fixture
def org(make_org):
    return make_org("Lead agency")


@pytest.fixture
def staff(org, make_user, make_case):
    caseworker = make_user("caseworker", org=org)
    cases = [make_case(org, caseworker, given_name=f"Before{i}") for i in range(4)]
    return caseworker, cases


def key_state(app, key_id):
    with app.app_context():
        record = session.get(MasterKeyRecord, key_id)
        return record.state if record else None


def active_key(app):
    with app.app_context():
        return session.get(KeyringState, 1).active_key_id


def status(app):
    return json.loads(keys(app, "status", "--json").stdout)


def report(app) -> None:
    """One round of the app's watcher, as its thread does every poll interval."""
    get_watcher(app).poll()


# -- the whole protocol, under load ---------------------------------------------------------------
class Registrations:
    """Threads registering cases through the form on each host until stopped."""

    def __init__(self, clients, per_thread_limit=60):
        self.stop = threading.Event()
        self.results: list[tuple[str, int, str | None]] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._run, args=(name, client, per_thread_limit), daemon=True)
            for name, client in clients
        ]

    def _run(self, host, client, limit):
        try:
            for n in range(limit):
                if self.stop.is_set():
                    return
                response = register_over_http(client, f"Load{host}{n}x{uuid.uuid4().hex[:6]}")
                location = response.headers.get("Location", "")
                with self._lock:
                    self.results.append((host, response.status_code, location.rsplit("/", 1)[-1] or None))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(exc)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(120)


@BOTH
def test_the_protocol_while_both_hosts_register_cases(database, make_app, keyfiles, staff, login):
    caseworker, cases = staff
    host_a = make_app(create_schema=False, keyring_path=keyfiles.a, node_name="host-a", keyring_poll_seconds=0.2)
    host_b = make_app(create_schema=False, keyring_path=keyfiles.b, node_name="host-b", keyring_poll_seconds=0.2)
    operator = make_app(create_schema=False, keyring_path=keyfiles.a, node_name="cli", backup_retention_days=0)
    clients = [(name, signed_in(app, login, caseworker)) for name, app in (("a", host_a), ("b", host_b)) * 2]
    old = file_key_ids(keyfiles.a)[0]

    with Registrations(clients) as load:
        time.sleep(0.5)
        new = add_key(operator)
        assert key_state(operator, new) == PENDING
        time.sleep(0.3)  # cases keep coming, under the old key
        keyfiles.copy_a_to_b()
        ok(keys(operator, "activate", new, "--wait", "20"))
        time.sleep(0.5)
        ok(keys(operator, "rewrap", "--batch-size", "3"))
        ok(keys(operator, "retire", old, "--wait", "20"))
        time.sleep(0.3)
    assert not load.errors, load.errors
    assert len(load.results) > 8
    statuses = {code for _host, code, _id in load.results}
    assert statuses == {302}, load.results  # not one request failed, on either host

    registered = [uuid.UUID(case_id) for _host, _code, case_id in load.results]
    wrapped = wrapping_key_ids(operator)
    assert set(wrapped.values()) == {new}, "a data key is wrapped under a key other than the active one"
    assert key_state(operator, old) == RETIRED
    assert old not in file_key_ids(keyfiles.a)
    for app in (host_a, host_b):
        client = signed_in(app, login, caseworker)
        for case_id in [c.id for c in cases] + registered:
            assert opens(client, case_id) == 200
        ok(keys(app, "check"))

    # Host B's file still has the retired key until the operator copies the file again.
    problems = status(operator)["problems"]
    assert any("host-b" in p and f"still holds the retired key {old}" in p for p in problems), problems
    keyfiles.copy_a_to_b()
    assert _eventually(lambda: not status(operator)["problems"])
    assert old not in get_keyring_of(host_b).key_ids


def get_keyring_of(app) -> Keyring:
    with app.app_context():
        return get_keyring()


def _eventually(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


# -- activation --------------------------------------------------------------------------------
@BOTH
def test_a_host_lacking_the_new_key_blocks_activation_until_its_file_has_it(
    database, app, host_b, keyfiles, staff, login
):
    caseworker, cases = staff
    old = active_key(app)
    report(app)
    report(host_b)
    new = add_key(app)
    report(app)
    report(host_b)  # host B re-read its file: it still lacks the key

    output = refused(keys(app, "activate", new, "--wait", "0"), "host-b pid", new, "not activated")
    assert "host-a" not in output  # host A holds it
    assert active_key(app) == old and key_state(app, new) == PENDING

    keyfiles.copy_a_to_b()
    report(host_b)
    ok(keys(app, "activate", new, "--wait", "0"))
    assert active_key(app) == new and key_state(app, new) == ACTIVE and key_state(app, old) == RETIRING
    b_client = signed_in(host_b, login, caseworker)
    response = register_over_http(b_client, "Afteractivation")
    assert response.status_code == 302
    assert wrapping_key_ids(app)[uuid.UUID(response.headers["Location"].rsplit("/", 1)[-1])] == new


@BOTH
def test_activation_waits_for_a_host_that_picks_the_key_up_without_restart(
    database, app, make_app, keyfiles, staff, login
):
    """Host B's watcher thread re-reads its file by itself (periodically, by content): the
    operator copies the file and ``keys activate --wait`` goes through as soon as B reports."""
    caseworker, _cases = staff
    host_b = make_app(create_schema=False, keyring_path=keyfiles.b, node_name="host-b", keyring_poll_seconds=0.2)
    signed_in(host_b, login, caseworker)  # its first request started the watcher
    new = add_key(app)
    copier = threading.Timer(1.0, keyfiles.copy_a_to_b)
    copier.start()
    started = time.monotonic()
    ok(keys(app, "activate", new, "--wait", "20"))
    copier.join()
    assert time.monotonic() - started >= 1.0
    assert get_keyring_of(host_b).holds(new)
    b_row = [p for p in status(app)["processes"] if p["host"] == "host-b"]
    assert len(b_row) == 1 and new in b_row[0]["holds"] and b_row[0]["live"]


@BOTH
def test_a_pending_key_decrypts_but_never_encrypts(database, app, keyfiles, staff, login):
    caseworker, cases = staff
    old = file_key_ids(keyfiles.a)[0]
    new = add_key(app)
    client = signed_in(app, login, caseworker)
    response = register_over_http(client, "Whilepending")
    assert response.status_code == 302
    assert set(wrapping_key_ids(app).values()) == {old}
    # Activated and re-wrapped, then activation undone: the key that was pending still reads.
    ok(keys(app, "activate", new, "--wait", "0"))
    ok(keys(app, "rewrap"))
    ok(keys(app, "activate", old, "--wait", "0"))
    assert key_state(app, new) == RETIRING and set(wrapping_key_ids(app).values()) == {new}
    for case in cases:
        assert opens(client, case.id) == 200


@BOTH
def test_a_state_change_makes_a_worker_reload_and_report_at_once(database, app, make_app, keyfiles, staff, login):
    """A worker that polls only every minute, and was unreachable when the key was activated,
    re-reads its file the moment a request sees an active key it lacks, wraps under it, and
    reports the new state at once rather than a minute later."""
    caseworker, _cases = staff
    host_b = make_app(create_schema=False, keyring_path=keyfiles.b, node_name="host-b", keyring_poll_seconds=60)
    b_client = signed_in(host_b, login, caseworker)  # its watcher started and reported once
    new = add_key(app)
    keyfiles.copy_a_to_b()
    refused(keys(app, "activate", new, "--wait", "0"), "host-b")  # B's report predates the copy
    with app.app_context():  # host B unreachable for a while: its report ages out
        session.execute(update(KeyringProcess).values(last_seen=utcnow() - timedelta(minutes=5)))
        session.commit()
    ok(keys(app, "activate", new, "--wait", "0"))
    assert not get_keyring_of(host_b).holds(new)

    response = register_over_http(b_client, "Rightafter")
    assert response.status_code == 302
    assert wrapping_key_ids(app)[uuid.UUID(response.headers["Location"].rsplit("/", 1)[-1])] == new
    assert _eventually(lambda: _reported_generation(app, "host-b") == 2, timeout=5)
    live = [p for p in status(app)["processes"] if p["host"] == "host-b"]
    assert live[0]["live"] and new in live[0]["holds"]


def _reported_generation(app, host):
    with app.app_context():
        return session.execute(select(KeyringProcess.generation).where(KeyringProcess.host == host)).scalar()


# -- retirement --------------------------------------------------------------------------------
@BOTH
def test_retire_is_refused_in_each_of_its_cases(database, make_app, keyfiles, staff, tmp_path):
    host_a = make_app(create_schema=False, keyring_path=keyfiles.a, node_name="host-a")  # no retention set
    host_b = make_app(create_schema=False, keyring_path=keyfiles.b, node_name="host-b")
    old = file_key_ids(keyfiles.a)[0]
    report(host_a)
    report(host_b)
    refused(keys(host_a, "retire", "mk-20000101-000000"), "neither a master key of this deployment")

    # The active key.
    refused(keys(host_a, "retire", old, "--wait", "0"), "is the active key")
    new = add_key(host_a)
    keyfiles.copy_a_to_b()
    report(host_a)
    report(host_b)
    ok(keys(host_a, "activate", new, "--wait", "0"))

    # Data keys still wrapped under it (not re-wrapped yet).
    refused(keys(host_a, "retire", old, "--wait", "0"), "data keys are still wrapped under", "cases: 4")
    ok(keys(host_a, "rewrap"))

    # A live process that has not reported the switch (host B's last report predates it).
    report(host_a)
    refused(keys(host_a, "retire", old, "--wait", "0"), "host-b pid", "have not reported the switch")
    report(host_b)

    # Backups: no retention stated, then one that still keeps backups made before the drain.
    refused(keys(host_a, "retire", old, "--wait", "0"), "CASEWORK_BACKUP_RETENTION_DAYS is not set", "--archive")
    thirty = make_app(create_schema=False, keyring_path=keyfiles.a, node_name="cli", backup_retention_days=30)
    refused(keys(thirty, "retire", old, "--wait", "0"), "CASEWORK_BACKUP_RETENTION_DAYS=30 keeps them until")
    assert key_state(host_a, old) == RETIRING and old in file_key_ids(keyfiles.a)  # nothing changed

    existing = tmp_path / "taken.json"
    existing.write_text("{}")
    refused(keys(thirty, "retire", old, "--wait", "0", "--archive", str(existing)), "refusing to overwrite")
    archive = tmp_path / "archive" / "keyring-for-old-backups.json"
    ok(keys(thirty, "retire", old, "--wait", "0", "--archive", str(archive)))
    assert key_state(host_a, old) == RETIRED and old not in file_key_ids(keyfiles.a)
    kept = Keyring.load(archive)
    assert old in kept.key_ids and archive.stat().st_mode & 0o077 == 0
    note = json.loads(archive.read_text())["archive"]
    assert note["retired_key_id"] == old and note["keep_until"] and note["for_backups_made_before"]

    # Retiring again, on host B: the deployment already retired it; B's file drops it.
    assert old in file_key_ids(keyfiles.b)
    assert "already retired" in ok(keys(host_b, "retire", old)).output
    assert old not in file_key_ids(keyfiles.b)
    refused(keys(host_a, "activate", old, "--wait", "0"), "is retired")


@BOTH
def test_retire_after_the_retention_period_or_with_an_acknowledgement(database, make_app, keyfiles, staff):
    host_a = make_app(create_schema=False, keyring_path=keyfiles.a, node_name="host-a", backup_retention_days=30)
    first = file_key_ids(keyfiles.a)[0]
    second = add_key(host_a)
    ok(keys(host_a, "activate", second, "--wait", "0"))
    ok(keys(host_a, "rewrap"))
    with host_a.app_context():  # drained 31 days ago: every backup that held it has expired
        record = session.get(MasterKeyRecord, first)
        assert record.drained_at is not None
        record.drained_at = utcnow() - timedelta(days=31)
        session.commit()
    ok(keys(host_a, "retire", first, "--wait", "0"))

    third = add_key(host_a)
    ok(keys(host_a, "activate", third, "--wait", "0"))
    ok(keys(host_a, "rewrap"))
    refused(keys(host_a, "retire", second, "--wait", "0"), "--backups-unrestorable")
    ok(keys(host_a, "retire", second, "--wait", "0", "--backups-unrestorable"))
    assert key_state(host_a, second) == RETIRED
    assert file_key_ids(keyfiles.a) == [third]


@BOTH
def test_a_pending_key_never_used_retires_at_once(database, app, keyfiles, staff):
    new = add_key(app)
    ok(keys(app, "retire", new, "--wait", "0"))
    assert key_state(app, new) == RETIRED and new not in file_key_ids(keyfiles.a)


# -- concurrency bursts ------------------------------------------------------------------------
@BOTH
def test_activation_during_a_burst_of_registrations(database, make_app, keyfiles, staff, login):
    """No data key is wrapped under the old key once the activation committed, and none under
    the new one before: every case registered after the switch is under the new key, every
    case under the old key was registered before it, and no request failed."""
    caseworker, _cases = staff
    host_a = make_app(create_schema=False, keyring_path=keyfiles.a, node_name="host-a")
    host_b = make_app(create_schema=False, keyring_path=keyfiles.b, node_name="host-b")
    operator = make_app(create_schema=False, keyring_path=keyfiles.a, node_name="cli")
    clients = [(name, signed_in(app, login, caseworker)) for name, app in (("a", host_a), ("b", host_b)) * 3]
    old = file_key_ids(keyfiles.a)[0]
    new = add_key(operator)
    keyfiles.copy_a_to_b()

    with Registrations(clients, per_thread_limit=25) as load:
        _eventually(lambda: len(load.results) >= 6)
        ok(keys(operator, "activate", new, "--wait", "0"))
        _eventually(lambda: len(load.results) >= 30, timeout=30)
    assert not load.errors, load.errors
    assert {code for _h, code, _i in load.results} == {302}, load.results

    with operator.app_context():
        switched_at = session.get(MasterKeyRecord, new).activated_at
        rows = session.execute(select(Case.created_at, Case.wrapping_key_id)).all()
    after = [key for created, key in rows if created > switched_at]
    before = [created for created, key in rows if key == old]
    assert after and set(after) == {new}
    assert all(created < switched_at for created in before)
    assert {key for _c, key in rows} <= {old, new}


@BOTH
def test_two_activations_at_once_leave_one_consistent_active_key(database, app, keyfiles, staff):
    first, second = add_key(app), add_key(app)
    results = []

    def activate(key_id):
        results.append(keys(app, "activate", key_id, "--wait", "0").exit_code)

    threads = [threading.Thread(target=activate, args=(k,)) for k in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [0, 0]
    with app.app_context():
        active_rows = session.execute(select(MasterKeyRecord.key_id).where(MasterKeyRecord.state == ACTIVE)).all()
        state = session.get(KeyringState, 1)
    assert len(active_rows) == 1 and active_rows[0][0] == state.active_key_id in (first, second)
    assert state.generation == 3


@BOTH
def test_rewrap_during_erasures_loses_nothing(database, app, keyfiles, org, staff, make_case):
    caseworker, cases = staff
    more = [make_case(org, caseworker, given_name=f"More{i}") for i in range(30)]
    new = add_key(app)
    ok(keys(app, "activate", new, "--wait", "0"))
    doomed = {c.id for c in more[::3]}

    def erase():
        for case_id in doomed:
            with app.app_context():
                session.get(Case, case_id).destroy_data_key()
                session.commit()

    eraser = threading.Thread(target=erase)
    eraser.start()
    ok(keys(app, "rewrap", "--batch-size", "2"))
    eraser.join(60)
    ok(keys(app, "rewrap"))
    with app.app_context():
        for case in cases + more:
            row = session.get(Case, case.id)
            if case.id in doomed:
                assert row.wrapped_key is None and row.is_erased
            else:
                assert row.wrapping_key_id == new and row.given_name.startswith(("Before", "More"))


# -- status and check ----------------------------------------------------------------------------
@BOTH
def test_status_lists_live_processes_and_dead_ones_age_out(database, app, host_b, keyfiles, staff):
    report(app)
    report(host_b)
    data = status(app)
    hosts = {(p["host"], p["live"]) for p in data["processes"]}
    assert hosts == {("host-a", True), ("host-b", True)}
    assert all(p["active_key_id"] == data["active_key_id"] and p["holds"] for p in data["processes"])
    new = add_key(app)
    with app.app_context():  # host B went silent 30 seconds ago: it is gone
        session.execute(
            update(KeyringProcess)
            .where(KeyringProcess.host == "host-b")
            .values(last_seen=utcnow() - timedelta(seconds=30))
        )
        session.commit()
    assert {(p["host"], p["live"]) for p in status(app)["processes"]} == {("host-a", True), ("host-b", False)}
    report(app)
    ok(keys(app, "activate", new, "--wait", "0"))  # a dead process does not block
    with app.app_context():  # silent for two hours: deleted when a process starts
        session.execute(
            update(KeyringProcess)
            .where(KeyringProcess.host == "host-b")
            .values(last_seen=utcnow() - timedelta(hours=2))
        )
        session.commit()
    KeyringWatcher(host_b, get_keyring_of(host_b), 0, "host-c").poll()  # a process starting
    assert {p["host"] for p in status(app)["processes"]} == {"host-a", "host-c"}


@BOTH
def test_keys_check_fails_on_a_keyring_lacking_the_active_key(database, app, host_b, keyfiles, staff):
    new = add_key(app)
    ok(keys(app, "activate", new, "--wait", "0"))  # host B is not live: nothing stops it
    output = refused(keys(host_b, "check"), f"lacks the deployment's active master key {new}")
    assert "not this database's keyring, or an outdated copy" in output
    keyfiles.copy_a_to_b()
    ok(keys(host_b, "check"))


@BOTH
def test_rotate_on_a_single_host_with_running_workers(database, make_app, keyfiles, staff, login):
    caseworker, cases = staff
    worker = make_app(create_schema=False, keyring_path=keyfiles.a, node_name="host-a", keyring_poll_seconds=0.2)
    client = signed_in(worker, login, caseworker)
    old = file_key_ids(keyfiles.a)[0]
    operator = make_app(create_schema=False, keyring_path=keyfiles.a, node_name="host-a")
    output = ok(keys(operator, "rotate", "--wait", "10")).output
    new = file_key_ids(keyfiles.a)[-1]
    assert f"new master key {new} is active" in output and f"keys retire {old}" in output
    assert set(wrapping_key_ids(operator).values()) == {new}
    for case in cases:
        assert opens(client, case.id) == 200


@BOTH
def test_rotate_on_several_hosts_refuses_to_activate_and_says_what_to_do(database, app, host_b, keyfiles, staff):
    report(host_b)
    old = file_key_ids(keyfiles.a)[0]
    output = refused(keys(app, "rotate", "--wait", "0"), "host-b pid", "stays pending", "keys activate")
    new = file_key_ids(keyfiles.a)[-1]
    assert key_state(app, new) == PENDING and active_key(app) == old
    assert set(wrapping_key_ids(app).values()) == {old}
    assert "re-wrapped" not in output
