"""Bursts of sign-in attempts sent at once, each from its own client (its own request, session
and database connection), cannot get more checks than the limits allow: the account lockout,
the per-address throttle, a TOTP code (one session per code) and the change-password form."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from casework.auth.models import User
from casework.db import session, utcnow
from tests.audit.helpers import audit_events
from tests.conftest import totp_code_for

BOTH_DATABASES = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


def burst(app: Flask, count: int, send: Callable[[Any, int], Any]) -> list[int]:
    """``count`` requests released together, each through its own test client; their statuses."""
    clients = [app.test_client() for _ in range(count)]
    statuses: list[int] = [0] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(number: int) -> None:
        try:
            start.wait()
            statuses[number] = send(clients[number], number).status_code
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return statuses


def checked_passwords(app: Flask, user: Any) -> int:
    """Sign-ins whose password was actually checked: the failures for a wrong one and the successes."""
    wrong = [e for e in audit_events(app, "login.failure", actor_id=user.id) if e.details["reason"] == "bad_password"]
    return len(wrong) + len(audit_events(app, "login.success", actor_id=user.id))


@pytest.mark.parametrize("database", BOTH_DATABASES)
def test_a_burst_of_guesses_gets_no_more_checks_than_the_lockout_allows(app, make_user, database):
    user = make_user("caseworker")
    limit = app.config["CASEWORK"].login_max_failures
    guesses = [f"wrong password number {n}" for n in range(23)] + [user.test_password]

    def send(client: Any, number: int) -> Any:
        return client.post("/auth/login", data={"email": user.email, "password": guesses[number]})

    statuses = burst(app, len(guesses), send)
    assert statuses.count(302) <= 1
    if statuses.count(302) == 0:
        # The right password was not among the first checks: the account is locked now.
        assert checked_passwords(app, user) <= limit
        with app.app_context():
            fresh = session.get(User, user.id)
            assert fresh.locked_until is not None and fresh.locked_until > utcnow()
    else:
        # It was: the success starts the count again, as it would for one request at a time
        # (at most ``limit`` checks before it and ``limit`` after).
        assert checked_passwords(app, user) <= 2 * limit


@pytest.mark.parametrize("database", BOTH_DATABASES)
def test_sixty_wrong_passwords_at_once_get_five_checks(app, make_user, database):
    user = make_user("caseworker")
    limit = app.config["CASEWORK"].login_max_failures

    def send(client: Any, number: int) -> Any:
        return client.post("/auth/login", data={"email": user.email, "password": f"wrong password {number}"})

    statuses = burst(app, 60, send)
    assert set(statuses) <= {401, 429}  # the address throttle (30) refuses some of them too
    assert checked_passwords(app, user) <= limit
    assert len(audit_events(app, "account.locked", target_id=str(user.id))) == 1


@pytest.mark.parametrize("database", BOTH_DATABASES)
def test_the_address_throttle_holds_against_a_burst(make_app, database):
    app = make_app(login_ip_max_attempts=8)

    def send(client: Any, number: int) -> Any:
        return client.post("/auth/login", data={"email": f"guess{number}@example.org", "password": "wrong guess"})

    statuses = burst(app, 30, send)
    processed = audit_events(app, "login.failure")
    assert len(processed) <= 8, f"{len(processed)} attempts processed against a limit of 8"
    assert statuses.count(429) >= 30 - 8


@pytest.mark.parametrize("database", BOTH_DATABASES)
def test_one_totp_code_sent_at_once_opens_one_session(app, make_user, database):
    user = make_user("supervisor")
    clients = [app.test_client() for _ in range(6)]
    for client in clients:
        response = client.post("/auth/login", data={"email": user.email, "password": user.test_password})
        assert response.status_code == 302 and "/auth/two-factor" in response.headers["Location"]
    code = totp_code_for(app, user)
    statuses: list[int] = []
    start = threading.Barrier(len(clients))

    def run(client: Any) -> None:
        start.wait()
        response = client.post("/auth/two-factor", data={"code": code})
        signed_in = response.status_code == 302 and "/auth/login" not in response.headers["Location"]
        statuses.append(200 if signed_in else response.status_code)

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses.count(200) == 1, statuses  # 302 to the sign-in page: locked by the burst
    assert len(audit_events(app, "login.success", actor_id=user.id)) == 1
    assert sum(client.get("/reports/").status_code == 200 for client in clients) == 1


def test_the_change_password_form_locks_like_the_sign_in(app, make_user, login):
    user = make_user("caseworker")
    limit = app.config["CASEWORK"].login_max_failures
    client = app.test_client()
    login(client, user)
    form = {
        "current_password": "a wrong guess",
        "new_password": "Brand-new-passphrase-42",
        "confirm": "Brand-new-passphrase-42",
    }
    for _ in range(limit + 5):
        client.post("/auth/password", data=form)
    checked = [e for e in audit_events(app, "account.password_change", outcome="refused") if not e.details]
    assert len(checked) <= limit, f"{len(checked)} current passwords checked"
    with app.app_context():
        fresh = session.get(User, user.id)
        assert fresh.locked_until is not None and fresh.locked_until > utcnow()
    # Locked: even the right current password is not checked now.
    again = app.test_client()
    assert again.post("/auth/login", data={"email": user.email, "password": user.test_password}).status_code == 401


@pytest.mark.parametrize("database", BOTH_DATABASES)
def test_a_burst_on_the_change_password_form_gets_five_checks(app, make_user, login, database):
    user = make_user("caseworker")
    limit = app.config["CASEWORK"].login_max_failures
    client = app.test_client()
    login(client, user)
    cookie = client.get_cookie("casework_session")
    clients = []
    for _ in range(20):
        other = app.test_client()
        other.set_cookie(cookie.key, cookie.value, domain=cookie.domain or "localhost")
        clients.append(other)
    form = {
        "current_password": "a wrong guess",
        "new_password": "Brand-new-passphrase-42",
        "confirm": "Brand-new-passphrase-42",
    }
    statuses: list[int] = []
    start = threading.Barrier(len(clients))

    def run(other: Any) -> None:
        start.wait()
        statuses.append(other.post("/auth/password", data=form).status_code)

    threads = [threading.Thread(target=run, args=(other,)) for other in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    checked = [e for e in audit_events(app, "account.password_change", outcome="refused") if not e.details]
    assert len(checked) <= limit, f"{len(checked)} current passwords checked ({statuses})"
