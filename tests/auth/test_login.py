"""Sign-in: one generic message for every failure, lockout, throttling, audit of every
attempt, deactivated accounts, open-redirect refusal and a fresh session on sign-in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casework.auth import services
from casework.auth.models import User
from casework.db import session, utcnow
from tests.audit.helpers import audit_events

GENERIC = "The email or password is incorrect, or the account is temporarily locked."


def attempt(client, email, password, **kwargs):
    return client.post("/auth/login", data={"email": email, "password": password}, **kwargs)


def test_sign_in_and_out(app, client, make_user):
    user = make_user("caseworker")
    assert client.get("/auth/login").status_code == 200
    response = attempt(client, user.email, user.test_password)
    assert response.status_code == 302
    assert client.get("/reports/").status_code == 200
    (success,) = audit_events(app, "login.success")
    assert success.actor_id == user.id and success.remote_addr == "127.0.0.1"

    response = client.post("/auth/logout")
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/login")
    response = client.get("/reports/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert audit_events(app, "logout", actor_id=user.id)


def test_logout_is_post_only(client, make_user, login):
    login(client, make_user("caseworker"))
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/reports/").status_code == 200


def test_wrong_password_and_unknown_account_look_the_same(app, client, make_user):
    user = make_user("caseworker")
    wrong = attempt(client, user.email, "not the password at all")
    unknown = attempt(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert GENERIC in wrong.get_data(as_text=True) and GENERIC in unknown.get_data(as_text=True)
    reasons = [event.details["reason"] for event in audit_events(app, "login.failure")]
    assert reasons == ["bad_password", "unknown_account"]
    assert all(event.outcome == "refused" for event in audit_events(app, "login.failure"))


def test_failures_never_log_the_password(app, client, make_user):
    user = make_user("caseworker")
    attempt(client, user.email, "Secret-Typed-Password-1")
    for event in audit_events(app):
        assert "Secret-Typed-Password-1" not in str(event.details)


def test_empty_form_is_400(client):
    assert client.post("/auth/login", data={}).status_code == 400


def test_deactivated_account_cannot_sign_in(app, client, make_user):
    user = make_user("caseworker", active=False)
    response = attempt(client, user.email, user.test_password)
    assert response.status_code == 401
    assert GENERIC in response.get_data(as_text=True)
    assert audit_events(app, "login.failure")[-1].details == {"reason": "deactivated"}


def test_lockout_after_repeated_failures(app, client, make_user, monkeypatch):
    user = make_user("caseworker")
    limit = app.config["CASEWORK"].login_max_failures
    for _ in range(limit):
        assert attempt(client, user.email, "wrong password again").status_code == 401
    with app.app_context():
        locked_until = session.get(User, user.id).locked_until
    assert locked_until is not None and locked_until > utcnow()
    assert audit_events(app, "account.locked", target_id=str(user.id))

    # The right password is refused while locked, with the same message.
    response = attempt(client, user.email, user.test_password)
    assert response.status_code == 401 and GENERIC in response.get_data(as_text=True)
    assert audit_events(app, "login.failure")[-1].details == {"reason": "locked"}

    # After the lockout period it opens again.
    later = utcnow() + timedelta(minutes=app.config["CASEWORK"].login_lockout_minutes + 1)
    monkeypatch.setattr(services, "utcnow", lambda: later)
    assert attempt(client, user.email, user.test_password).status_code == 302


def test_lock_expires_when_locked_until_is_past(app, client, make_user):
    user = make_user("caseworker", locked_until=utcnow() - timedelta(seconds=1))
    assert attempt(client, user.email, user.test_password).status_code == 302


def test_throttling_by_address(make_app, make_user):
    app = make_app(login_ip_max_attempts=5)
    from tests.conftest import PASSWORD

    with app.app_context():
        from casework.admin import services as admin_services

        org = admin_services.get_or_create_organisation("Throttle Org", "lead_agency")
        admin_services.create_user(
            email="victim-of-guessing@example.org",
            display_name="Guessed",
            role="caseworker",
            organisation=org,
            password=PASSWORD,
            must_change_password=False,
            actor=None,
        )
        session.commit()
    client = app.test_client()
    for number in range(5):
        assert attempt(client, f"guess{number}@example.org", "wrong password guess").status_code == 401
    # The sixth try from the same address is throttled, even with valid credentials.
    response = attempt(client, "victim-of-guessing@example.org", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    assert audit_events(app, "login.throttled")
    # Another address is not affected.
    other = app.test_client()
    response = attempt(other, "victim-of-guessing@example.org", PASSWORD, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert response.status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n//evil.example",
        "javascript:alert(1)",
        "\\\\evil.example",
        "http:/evil.example",
    ],
)
def test_open_redirect_after_sign_in_is_refused(client, make_user, target):
    user = make_user("caseworker")
    response = client.post(
        "/auth/login", query_string={"next": target}, data={"email": user.email, "password": user.test_password}
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "evil.example" not in location and not location.startswith("javascript")


def test_local_next_is_followed(client, make_user):
    user = make_user("caseworker")
    response = client.post(
        "/auth/login", query_string={"next": "/reports/"}, data={"email": user.email, "password": user.test_password}
    )
    assert response.headers["Location"] == "/reports/"


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example", "https://evil.example/"])
def test_open_redirect_after_language_change_is_refused(client, target):
    response = client.post("/language", data={"language": "fr", "next": target})
    assert response.status_code == 302 and "evil.example" not in response.headers["Location"]


def test_signing_in_starts_a_fresh_session(client, make_user):
    user = make_user("caseworker")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker before sign-in"
    attempt(client, user.email, user.test_password)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert len(sess["sid"]) >= 24  # a new random session id (>= 144 bits)


def test_deactivated_organisation_cannot_sign_in(app, client, make_org, make_user):
    from casework.auth.models import Organisation

    org = make_org()
    user = make_user("caseworker", org=org)
    with app.app_context():
        session.get(Organisation, org.id).active = False
        session.commit()
    response = attempt(client, user.email, user.test_password)
    assert response.status_code == 401 and GENERIC in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/login", "/login/"])
def test_login_path_leads_to_the_sign_in_page(client, path):
    response = client.get(path)
    assert response.status_code in (301, 302, 308)
    assert response.headers["Location"].endswith("/auth/login")
    assert client.get(path, follow_redirects=True).status_code == 200


def test_login_path_keeps_a_safe_next_and_drops_another_site(client):
    response = client.get("/login?next=/cases/")
    assert response.headers["Location"].endswith("/auth/login?next=/cases/")
    response = client.get("/login?next=//evil.example/")
    assert response.headers["Location"].endswith("/auth/login")
