"""Sessions: idle (30 min) and absolute (12 h) limits, and the end of every other session on
logout, password change and deactivation; cookie attributes; tampered or replayed cookies."""

from __future__ import annotations

import time

from casework.auth.models import User
from casework.db import session


def signed_in(app, user, login):
    client = app.test_client()
    login(client, user)
    return client


def shift(client, **seconds_ago):
    with client.session_transaction() as sess:
        for key, ago in seconds_ago.items():
            sess[key] = time.time() - ago


def test_idle_timeout(app, make_user, login):
    client = signed_in(app, make_user("caseworker"), login)
    shift(client, seen_at=29 * 60)
    assert client.get("/reports/").status_code == 200
    shift(client, seen_at=31 * 60)
    response = client.get("/reports/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert client.get("/reports/").status_code == 302  # the session is gone, not just refused once


def test_absolute_timeout_even_when_active(app, make_user, login):
    client = signed_in(app, make_user("caseworker"), login)
    shift(client, login_at=11 * 3600, seen_at=0)
    assert client.get("/reports/").status_code == 200
    shift(client, login_at=12 * 3600 + 5, seen_at=0)
    response = client.get("/reports/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_logout_ends_every_session_of_the_user(app, make_user, login):
    user = make_user("caseworker")
    laptop, phone = signed_in(app, user, login), signed_in(app, user, login)
    assert phone.get("/reports/").status_code == 200
    laptop.post("/auth/logout")
    assert phone.get("/reports/").status_code == 302


def test_password_change_ends_the_other_sessions(app, make_user, login):
    user = make_user("caseworker")
    laptop, phone = signed_in(app, user, login), signed_in(app, user, login)
    new = "another long passphrase"
    laptop.post("/auth/password", data={"current_password": user.test_password, "new_password": new, "confirm": new})
    assert laptop.get("/reports/").status_code == 200
    assert phone.get("/reports/").status_code == 302


def test_deactivation_ends_the_sessions(app, make_user, login):
    user = make_user("caseworker")
    laptop = signed_in(app, user, login)
    with app.app_context():
        from casework.admin import services

        services.deactivate_user(session.get(User, user.id), actor=None)
        session.commit()
    assert laptop.get("/reports/").status_code == 302


def test_a_copied_cookie_is_useless_after_logout(app, make_user, login):
    user = make_user("caseworker")
    client = signed_in(app, user, login)
    with client.session_transaction() as sess:
        stolen = dict(sess)
    client.post("/auth/logout")
    replay = app.test_client()
    with replay.session_transaction() as sess:
        sess.update(stolen)
    response = replay.get("/reports/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_tampered_cookie_is_refused(app, make_user, login):
    client = signed_in(app, make_user("caseworker"), login)
    cookie = client.get_cookie("casework_session")
    value = cookie.value
    forged = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    client.set_cookie("casework_session", forged)
    assert client.get("/reports/").status_code == 302


def test_session_cookie_attributes(app, client, make_user):
    user = make_user("caseworker")
    response = client.post("/auth/login", data={"email": user.email, "password": user.test_password})
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("casework_session="))
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "casework_session" not in response.headers["Location"]


def test_secure_cookie_in_https_deployments(make_app, make_user):
    app = make_app(secure_cookies=True)
    client = app.test_client()
    response = client.get("/auth/login", base_url="https://localhost")
    # HSTS is nginx's (deploy/nginx/casework.conf; counted through nginx in tests/deploy).
    assert "Strict-Transport-Security" not in response.headers
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("casework_session="))
    assert "Secure" in header
