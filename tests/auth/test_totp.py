"""Two-factor authentication: codes are single-use, wrong codes count towards lockout, the
pending sign-in expires, and admins/supervisors must enrol."""

from __future__ import annotations

import time

import pyotp
from sqlalchemy import text

from casework.auth.models import User
from casework.db import session
from tests.audit.helpers import audit_events
from tests.conftest import totp_code_for


def password_step(client, user):
    response = client.post("/auth/login", data={"email": user.email, "password": user.test_password})
    assert response.status_code == 302 and "/auth/two-factor" in response.headers["Location"]


def test_totp_code_cannot_be_used_twice(app, make_user):
    user = make_user("supervisor")
    code = totp_code_for(app, user)
    first = app.test_client()
    password_step(first, user)
    assert first.post("/auth/two-factor", data={"code": code}).status_code == 302
    assert first.get("/reports/").status_code == 200

    replay = app.test_client()
    password_step(replay, user)
    response = replay.post("/auth/two-factor", data={"code": code})
    assert response.status_code == 401
    assert "already used" in response.get_data(as_text=True)
    assert replay.get("/reports/").status_code == 302
    assert audit_events(app, "login.failure")[-1].details == {"reason": "bad_totp"}


def test_a_code_older_than_the_drift_window_is_refused(app, make_user):
    user = make_user("supervisor")
    with app.app_context():
        secret = str(session.get(User, user.id).totp_secret)
    stale = pyotp.TOTP(secret).at(time.time() - 120)
    client = app.test_client()
    password_step(client, user)
    assert client.post("/auth/two-factor", data={"code": stale}).status_code == 401


def test_wrong_codes_lock_the_account(app, make_user):
    user = make_user("supervisor")
    client = app.test_client()
    password_step(client, user)
    limit = app.config["CASEWORK"].login_max_failures
    for _ in range(limit - 1):
        assert client.post("/auth/two-factor", data={"code": "000000"}).status_code == 401
    response = client.post("/auth/two-factor", data={"code": "000000"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/login")
    with app.app_context():
        assert session.get(User, user.id).locked_until is not None
    # Locked: the right password and a right code no longer get in.
    again = app.test_client()
    assert again.post("/auth/login", data={"email": user.email, "password": user.test_password}).status_code == 401


def test_pending_second_step_expires(app, make_user):
    user = make_user("supervisor")
    client = app.test_client()
    password_step(client, user)
    with client.session_transaction() as sess:
        sess["pending_2fa"] = {**sess["pending_2fa"], "at": time.time() - 301}
    response = client.post("/auth/two-factor", data={"code": totp_code_for(app, user)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/login")
    assert client.get("/reports/").status_code == 302


def test_second_step_cannot_be_skipped(app, make_user):
    user = make_user("supervisor")
    client = app.test_client()
    password_step(client, user)
    response = client.get("/reports/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_supervisor_without_two_factor_must_enrol(app, make_user):
    user = make_user("supervisor", totp=False)
    client = app.test_client()
    assert client.post("/auth/login", data={"email": user.email, "password": user.test_password}).status_code == 302
    assert client.get("/reports/").headers["Location"].endswith("/auth/two-factor/setup")
    page = client.get("/auth/two-factor/setup")
    assert page.status_code == 200 and "data:image/svg+xml" in page.get_data(as_text=True)
    with client.session_transaction() as sess:
        assert not any("totp" in key for key in sess)  # the secret waits on the server, not in the cookie
    with app.app_context():
        secret = session.get(User, user.id).totp_pending_secret
        query = text("SELECT totp_pending_secret FROM users WHERE id = :id")
        raw = session.execute(query, {"id": user.id.hex}).scalar()
        assert secret and secret.encode() not in bytes(raw)  # encrypted at rest
    assert secret.replace(" ", "")[:4] in page.get_data(as_text=True).replace(" ", "")  # shown to type in
    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    assert client.post("/auth/two-factor/setup", data={"code": wrong}).status_code == 400
    assert audit_events(app, "account.totp_enabled", outcome="refused", target_id=str(user.id))
    response = client.post("/auth/two-factor/setup", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert client.get("/reports/").status_code == 200
    assert audit_events(app, "account.totp_enabled", target_id=str(user.id))
    with app.app_context():
        enrolled = session.get(User, user.id)
        assert enrolled.totp_pending_secret is None and enrolled.totp_secret == secret
