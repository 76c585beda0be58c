"""Administrators manage their own organisation's accounts; the platform operator (created from
the command line only) manages organisations and their administrators, never an account that
can read cases; every administrator's action reaches the organisation's supervisors."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from casework.auth.models import User
from casework.db import session
from casework.notifications.models import Notification
from tests.audit.helpers import audit_events


def _create(client, org, role, email):
    return client.post(
        "/admin/users/new",
        data={"display_name": "New account", "email": email, "role": role, "organisation_id": str(org.id)},
    )


def test_an_admin_creates_accounts_in_its_own_organisation(app, admin, admin_client):
    response = _create(admin_client, admin.organisation, "supervisor", "sup@example.org")
    assert response.status_code == 200 and 'class="secret"' in response.get_data(as_text=True)
    with app.app_context():
        created = session.execute(select(User).where(User.email == "sup@example.org")).scalar_one()
        assert created.organisation_id == admin.organisation_id


def test_the_create_form_offers_only_the_own_organisation_and_no_operator_role(admin, admin_client, make_org):
    make_org("Somewhere Else")
    page = admin_client.get("/admin/users/new").get_data(as_text=True)
    assert admin.organisation.name in page and "Somewhere Else" not in page
    assert 'value="operator"' not in page


def test_nobody_creates_an_operator_through_the_web(app, admin_client, admin, operator_client, make_org):
    assert _create(admin_client, admin.organisation, "operator", "op1@example.org").status_code == 400
    assert _create(operator_client, make_org(), "operator", "op2@example.org").status_code == 400
    with app.app_context():
        made = select(User).where(User.email.in_(("op1@example.org", "op2@example.org")))
        assert session.execute(made).first() is None


def test_the_command_line_creates_an_operator(app, runner):
    result = runner.invoke(
        args=["users", "create", "--email", "op@example.org", "--role", "operator", "--org", "Platform"],
        input="seven quiet lanterns drift over marble\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert session.execute(select(User.role).where(User.email == "op@example.org")).scalar_one() == "operator"


@pytest.mark.parametrize("role", ["supervisor", "caseworker", "partner", "researcher"])
def test_the_operator_never_creates_an_account_that_can_read_cases(app, operator_client, make_org, role):
    kind = {"partner": "partner_ngo", "researcher": "research"}.get(role, "lead_agency")
    response = _create(operator_client, make_org(kind=kind), role, f"{role}@elsewhere.org")
    assert response.status_code == 400 and 'class="secret"' not in response.get_data(as_text=True)


def test_the_operator_creates_an_organisations_administrator(app, operator_client, make_org):
    org = make_org(kind="partner_ngo")
    response = _create(operator_client, org, "admin", "ngo-admin@example.org")
    assert response.status_code == 200
    assert re.search(r'<code class="secret">[^<]+</code>', response.get_data(as_text=True))


def test_the_operator_resets_administrators_only(app, operator_client, make_user, make_org):
    org = make_org()
    admin = make_user("admin", org=org)
    supervisor = make_user("supervisor", org=org)
    ok = operator_client.post(f"/admin/users/{admin.id}/reset-password", data={"pw-identity_checked": "y"})
    assert ok.status_code == 200
    refused = operator_client.post(f"/admin/users/{supervisor.id}/reset-password", data={"pw-identity_checked": "y"})
    assert refused.status_code == 404
    assert operator_client.get(f"/admin/users/{supervisor.id}").status_code == 404


def test_the_operator_manages_organisations(operator_client, admin_client):
    assert operator_client.get("/admin/organisations").status_code == 200
    assert admin_client.get("/admin/organisations").status_code == 403
    assert admin_client.get("/audit/").status_code == 403
    assert operator_client.get("/audit/").status_code == 200


def test_every_admin_action_is_notified_to_the_organisations_supervisors(app, admin, admin_client, make_user):
    target = make_user("caseworker", org=admin.organisation)
    admin_client.post(f"/admin/users/{target.id}/role", data={"role-role": "supervisor"})
    admin_client.post(f"/admin/users/{target.id}/reset-two-factor", data={"tf-identity_checked": "y"})
    admin_client.post(f"/admin/users/{target.id}/deactivate", data={})
    admin_client.post(f"/admin/users/{target.id}/reactivate", data={})
    admin_client.post(f"/admin/users/{target.id}/reset-password", data={"pw-identity_checked": "y"})
    _create(admin_client, admin.organisation, "caseworker", "fresh@example.org")
    with app.app_context():
        kinds = {
            n.kind
            for n in session.execute(
                select(Notification).where(Notification.organisation_id == admin.organisation_id)
            ).scalars()
        }
    assert kinds == {
        "user.role_change",
        "user.totp_reset",
        "user.deactivate",
        "user.reactivate",
        "user.password_reset",
        "user.create",
    }
    for action in ("user.role_change", "user.deactivate", "user.password_reset"):
        assert audit_events(app, action, target_id=str(target.id))


def test_refused_cross_organisation_access_is_audited(app, admin_client, make_user, make_org):
    stranger = make_user("caseworker", org=make_org())
    assert admin_client.get(f"/admin/users/{stranger.id}").status_code == 404
    assert audit_events(app, "admin.user_load", outcome="refused")
