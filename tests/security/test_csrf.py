"""CSRF: a POST without a valid token is refused with 400 and changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from casework.auth.models import Organisation, User
from casework.db import session


def count(app, model) -> int:
    with app.app_context():
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_admin_forms_refuse_posts_without_token(app, make_user, login, make_org):
    admin = make_user("admin")
    client = app.test_client()
    login(client, admin)
    org = make_org()
    users, orgs = count(app, User), count(app, Organisation)
    response = client.post(
        "/admin/users/new",
        data={"display_name": "X", "email": "x@example.org", "role": "caseworker", "organisation_id": str(org.id)},
        csrf=False,
    )
    assert response.status_code == 400
    response = client.post("/admin/organisations/new", data={"name": "Forged", "kind": "lead_agency"}, csrf=False)
    assert response.status_code == 400
    assert (count(app, User), count(app, Organisation)) == (users, orgs)


def test_a_forged_token_is_refused(app, make_user, login):
    admin = make_user("admin")
    target = make_user("caseworker")
    client = app.test_client()
    login(client, admin)
    response = client.post(f"/admin/users/{target.id}/deactivate", data={"csrf_token": "forged"}, csrf=False)
    assert response.status_code == 400
    with app.app_context():
        assert session.get(User, target.id).active


def test_a_token_from_another_session_is_refused(app, make_user, login):
    admin = make_user("admin")
    target = make_user("caseworker")
    attacker = app.test_client()
    token = attacker.csrf_token()
    client = app.test_client()
    login(client, admin)
    response = client.post(f"/admin/users/{target.id}/deactivate", data={"csrf_token": token}, csrf=False)
    assert response.status_code == 400
    with app.app_context():
        assert session.get(User, target.id).active


def test_logout_and_password_change_need_the_token(app, make_user, login):
    user = make_user("caseworker")
    client = app.test_client()
    login(client, user)
    assert client.post("/auth/logout", csrf=False).status_code == 400
    new = "a brand new passphrase"
    response = client.post(
        "/auth/password",
        data={"current_password": user.test_password, "new_password": new, "confirm": new},
        csrf=False,
    )
    assert response.status_code == 400
    assert client.get("/reports/").status_code == 200  # still signed in, password unchanged
    with app.app_context():
        assert session.get(User, user.id).password_hash == user.password_hash


def test_sign_in_needs_the_token(client, make_user):
    user = make_user("caseworker")
    response = client.post("/auth/login", data={"email": user.email, "password": user.test_password}, csrf=False)
    assert response.status_code == 400
    assert client.get("/reports/").status_code == 302
