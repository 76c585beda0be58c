"""User administration: create with a one-time password, role changes, deactivation,
credential resets, and the rules that keep the system administrable."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from casework.admin import services
from casework.auth.models import User
from casework.db import session
from tests.audit.helpers import audit_events


def user_count(app) -> int:
    with app.app_context():
        return session.execute(select(func.count()).select_from(User)).scalar_one()


def one_time_password(response) -> str:
    match = re.search(r'<code class="secret">([^<]+)</code>', response.get_data(as_text=True))
    assert match, "no one-time password on the page"
    return match.group(1)


def test_create_user_shows_a_one_time_password_that_must_be_changed(app, admin, admin_client, fetch):
    org = admin.organisation
    response = admin_client.post(
        "/admin/users/new",
        data={
            "display_name": "Nadia Worker",
            "email": "Nadia@Example.org",
            "role": "caseworker",
            "organisation_id": str(org.id),
        },
    )
    assert response.status_code == 200
    password = one_time_password(response)
    assert len(password) >= 12
    with app.app_context():
        user = session.execute(select(User).where(User.email == "nadia@example.org")).scalar_one()
        assert user.must_change_password and user.organisation_id == org.id and user.role == "caseworker"
        assert password not in user.password_hash
    assert audit_events(app, "user.create", target_id=str(user.id))
    # Shown once: the user's page never shows it again.
    assert password not in admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    # The new user signs in with it and must choose a new password before anything else.
    newcomer = app.test_client()
    response = newcomer.post("/auth/login", data={"email": "nadia@example.org", "password": password})
    assert response.status_code == 302
    assert newcomer.get("/reports/").headers["Location"].endswith("/auth/password")


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"email": ""}, "This field is required"),
        ({"email": "not-an-email"}, "valid email"),
        ({"email": "x" * 250 + "@example.org"}, "254"),
        ({"display_name": ""}, "This field is required"),
        ({"display_name": "N" * 121}, "120"),
        ({"display_name": "Nadia\x07Bell"}, "control characters"),
        ({"display_name": "Nadia\u202eReversed"}, "control characters"),
        ({"role": "superuser"}, "Not a valid choice"),
        ({"role": "partner"}, "cannot belong to this kind"),
        ({"organisation_id": str(uuid.uuid4())}, "Not a valid choice"),
        ({"organisation_id": "not-a-uuid"}, "Not a valid choice"),
    ],
)
def test_create_user_bad_input_is_refused_and_nothing_saved(app, admin, admin_client, changes, field_message):
    org = admin.organisation
    data = {
        "display_name": "Nadia Worker",
        "email": "nadia@example.org",
        "role": "caseworker",
        "organisation_id": str(org.id),
    }
    data.update(changes)
    before = user_count(app)
    response = admin_client.post("/admin/users/new", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_message in page
    assert 'class="error"' in page  # next to the field
    assert user_count(app) == before


def test_create_user_duplicate_email_is_refused(app, admin, admin_client, make_user):
    existing = make_user("caseworker", org=admin.organisation)
    before = user_count(app)
    response = admin_client.post(
        "/admin/users/new",
        data={
            "display_name": "Copy",
            "email": existing.email.upper(),
            "role": "caseworker",
            "organisation_id": str(existing.organisation_id),
        },
    )
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)
    assert user_count(app) == before


def test_create_user_in_deactivated_organisation_is_refused(app, operator_client, make_org):
    # The operator creates an administrator in a deactivated organisation: refused all the same.
    org = make_org(kind="lead_agency", active=False)
    before = user_count(app)
    response = operator_client.post(
        "/admin/users/new",
        data={"display_name": "Nadia", "email": "n@example.org", "role": "admin", "organisation_id": str(org.id)},
    )
    assert response.status_code == 400
    assert "deactivated" in response.get_data(as_text=True)
    assert user_count(app) == before


def test_user_list_filters_by_role_and_status(app, admin, admin_client, make_user):
    worker = make_user("caseworker", org=admin.organisation, display_name="Filter Worker")
    gone = make_user("supervisor", org=admin.organisation, display_name="Filter Supervisor", active=False)
    page = admin_client.get("/admin/users?role=caseworker").get_data(as_text=True)
    assert worker.email in page and gone.email not in page
    page = admin_client.get("/admin/users?status=inactive").get_data(as_text=True)
    assert gone.email in page and worker.email not in page
    # Unknown filter values are ignored, never an error.
    assert admin_client.get("/admin/users?role=nonsense&page=-3&organisation_id=zz").status_code == 200


def test_change_role_is_checked_against_the_organisation_kind(app, admin, admin_client, make_user, fetch):
    worker = make_user("caseworker", org=admin.organisation)
    response = admin_client.post(f"/admin/users/{worker.id}/role", data={"role-role": "partner"})
    assert response.status_code == 400
    assert "cannot belong to this kind" in response.get_data(as_text=True)
    assert fetch(User, worker.id).role == "caseworker"

    response = admin_client.post(f"/admin/users/{worker.id}/role", data={"role-role": "nonsense"})
    assert response.status_code == 400
    assert fetch(User, worker.id).role == "caseworker"

    response = admin_client.post(f"/admin/users/{worker.id}/role", data={"role-role": "supervisor"})
    assert response.status_code == 302
    changed = fetch(User, worker.id)
    assert changed.role == "supervisor"
    assert changed.session_epoch == worker.session_epoch + 1
    (event,) = audit_events(app, "user.role_change", target_id=str(worker.id))
    assert event.details == {"from": "caseworker", "to": "supervisor"}


def test_deactivation_ends_every_session_and_blocks_sign_in(app, admin, admin_client, make_user, login, fetch):
    worker = make_user("caseworker", org=admin.organisation)
    worker_client = app.test_client()
    login(worker_client, worker)
    assert worker_client.get("/reports/").status_code == 200

    assert admin_client.post(f"/admin/users/{worker.id}/deactivate").status_code == 302
    assert fetch(User, worker.id).active is False
    response = worker_client.get("/reports/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    response = app.test_client().post("/auth/login", data={"email": worker.email, "password": worker.test_password})
    assert response.status_code == 401
    assert "The email or password is incorrect" in response.get_data(as_text=True)
    assert audit_events(app, "user.deactivate", target_id=str(worker.id))

    assert admin_client.post(f"/admin/users/{worker.id}/reactivate").status_code == 302
    assert fetch(User, worker.id).active is True
    login(app.test_client(), worker)


def test_admin_cannot_deactivate_or_demote_themself(app, admin, admin_client, fetch):
    response = admin_client.post(f"/admin/users/{admin.id}/deactivate")
    assert response.status_code == 400
    assert "your own account" in response.get_data(as_text=True)
    response = admin_client.post(f"/admin/users/{admin.id}/role", data={"role-role": "caseworker"})
    assert response.status_code == 400
    after = fetch(User, admin.id)
    assert after.active and after.role == "admin"


def test_the_last_active_administrator_cannot_be_deactivated_or_demoted(app, make_user):
    only_admin = make_user("admin")
    with app.app_context():
        target = session.get(User, only_admin.id)
        with pytest.raises(services.LastAdminError):
            services.deactivate_user(target, actor=None)
        with pytest.raises(services.LastAdminError):
            services.change_role(target, "supervisor", actor=None)
        session.rollback()
        assert session.get(User, only_admin.id).active


def test_an_administrator_can_deactivate_another_while_one_remains(app, admin, admin_client, make_user, fetch):
    other_admin = make_user("admin", org=admin.organisation)
    assert admin_client.post(f"/admin/users/{other_admin.id}/deactivate").status_code == 302
    assert fetch(User, other_admin.id).active is False


def test_reset_password_gives_a_new_one_time_password_and_ends_sessions(
    app, admin, admin_client, make_user, login, fetch
):
    worker = make_user("caseworker", org=admin.organisation, failed_logins=3)
    worker_client = app.test_client()
    login(worker_client, worker)

    response = admin_client.post(f"/admin/users/{worker.id}/reset-password", data={"pw-identity_checked": "y"})
    assert response.status_code == 200
    password = one_time_password(response)
    after = fetch(User, worker.id)
    assert after.must_change_password and after.failed_logins == 0
    assert after.session_epoch == worker.session_epoch + 1
    assert worker_client.get("/reports/").status_code == 302  # signed out
    refused = app.test_client().post("/auth/login", data={"email": worker.email, "password": worker.test_password})
    assert refused.status_code == 401
    fresh = app.test_client()
    assert fresh.post("/auth/login", data={"email": worker.email, "password": password}).status_code == 302
    assert fresh.get("/reports/").headers["Location"].endswith("/auth/password")
    assert audit_events(app, "user.password_reset", target_id=str(worker.id))


def test_reset_password_needs_the_identity_check(app, admin, admin_client, make_user, fetch):
    worker = make_user("caseworker", org=admin.organisation)
    response = admin_client.post(f"/admin/users/{worker.id}/reset-password", data={})
    assert response.status_code == 400
    assert "verified the person" in response.get_data(as_text=True)
    assert fetch(User, worker.id).password_hash == worker.password_hash
    assert not audit_events(app, "user.password_reset")


def test_reset_two_factor_makes_the_user_enrol_again(app, admin, admin_client, make_user, login, fetch):
    supervisor = make_user("supervisor", org=admin.organisation)
    signed_in = app.test_client()
    login(signed_in, supervisor)
    response = admin_client.post(f"/admin/users/{supervisor.id}/reset-two-factor", data={})
    assert response.status_code == 400
    assert fetch(User, supervisor.id).totp_enabled

    response = admin_client.post(f"/admin/users/{supervisor.id}/reset-two-factor", data={"tf-identity_checked": "y"})
    assert response.status_code == 302
    after = fetch(User, supervisor.id)
    assert not after.totp_enabled and after.totp_secret_ct is None and after.totp_last_step is None
    assert signed_in.get("/reports/").status_code == 302  # the revoked factor's sessions ended
    client = app.test_client()
    response = client.post("/auth/login", data={"email": supervisor.email, "password": supervisor.test_password})
    assert response.status_code == 302 and "two-factor" not in response.headers["Location"]
    assert client.get("/reports/").headers["Location"].endswith("/auth/two-factor/setup")
    assert audit_events(app, "user.totp_reset", target_id=str(supervisor.id))


def test_admin_cannot_reset_own_credentials_here(app, admin, admin_client, fetch):
    response = admin_client.post(f"/admin/users/{admin.id}/reset-two-factor", data={"tf-identity_checked": "y"})
    assert response.status_code == 400
    assert fetch(User, admin.id).totp_enabled
    response = admin_client.post(f"/admin/users/{admin.id}/reset-password", data={"pw-identity_checked": "y"})
    assert response.status_code == 400
    assert fetch(User, admin.id).password_hash == admin.password_hash


def test_unknown_user_is_404(admin_client):
    assert admin_client.get(f"/admin/users/{uuid.uuid4()}").status_code == 404
    assert admin_client.post(f"/admin/users/{uuid.uuid4()}/deactivate").status_code == 404


ADMIN_PAGES = [
    ("get", "/admin/"),
    ("get", "/admin/users"),
    ("get", "/admin/users/new"),
    ("post", "/admin/users/new"),
    ("get", "/admin/users/{user_id}"),
    ("post", "/admin/users/{user_id}/role"),
    ("post", "/admin/users/{user_id}/deactivate"),
    ("post", "/admin/users/{user_id}/reactivate"),
    ("post", "/admin/users/{user_id}/reset-password"),
    ("post", "/admin/users/{user_id}/reset-two-factor"),
    ("get", "/admin/organisations"),
    ("get", "/admin/organisations/new"),
    ("post", "/admin/organisations/new"),
    ("get", "/admin/organisations/{org_id}"),
    ("post", "/admin/organisations/{org_id}"),
]


@pytest.mark.parametrize("role", ["supervisor", "caseworker", "partner", "researcher", None])
def test_administration_is_refused_to_everyone_else(app, make_user, login, fetch, role):
    target = make_user("caseworker")
    client = app.test_client()
    if role is not None:
        login(client, make_user(role))
    for method, template in ADMIN_PAGES:
        url = template.format(user_id=target.id, org_id=target.organisation_id)
        response = getattr(client, method)(
            url, data={"role-role": "admin", "pw-identity_checked": "y"} if method == "post" else None
        )
        if role is None:
            assert response.status_code == 302 and "/auth/login" in response.headers["Location"], url
        else:
            assert response.status_code == 403, url
    after = fetch(User, target.id)
    assert after.role == "caseworker" and after.active and after.password_hash == target.password_hash
    if role is not None:
        assert audit_events(app, outcome="refused", actor_role=role)


def test_admin_needs_two_factor_before_any_admin_page(app, make_user):
    admin = make_user("admin", totp=False)
    client = app.test_client()
    assert client.post("/auth/login", data={"email": admin.email, "password": admin.test_password}).status_code == 302
    for url in ("/admin/", "/admin/users", "/audit/"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].endswith("/auth/two-factor/setup")


def test_admins_never_see_case_content(app, admin_client, make_org, make_case):
    org = make_org()
    case = make_case(org, given_name="Zenobia", family_name="Quillfeather")
    for url in (f"/cases/{case.id}", f"/audit/cases/{case.id}", "/cases/"):
        response = admin_client.get(url)
        assert response.status_code in (403, 404), url
        assert "Quillfeather" not in response.get_data(as_text=True)
    for url in ("/admin/", "/admin/users", "/admin/organisations", "/audit/"):
        assert "Quillfeather" not in admin_client.get(url).get_data(as_text=True)
