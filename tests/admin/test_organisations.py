"""Organisation administration (the platform operator's): create, edit kind/country/active/
retention, with every bad input refused (400, a message next to the field, nothing saved)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from casework.auth.models import Organisation
from casework.db import session
from tests.audit.helpers import audit_events


@pytest.fixture
def admin(make_user):
    """Organisations are managed by the platform operator (an administrator gets a 403:
    tests/admin/test_scoping.py)."""
    return make_user("operator", totp=True)


def org_count(app) -> int:
    with app.app_context():
        return session.execute(select(func.count()).select_from(Organisation)).scalar_one()


def test_create_organisation(app, admin_client):
    response = admin_client.post(
        "/admin/organisations/new",
        data={"name": "  Safe  Harbour  NGO ", "kind": "partner_ngo", "country": "IT", "retention_years": "7"},
    )
    assert response.status_code == 302
    with app.app_context():
        org = session.execute(select(Organisation).where(Organisation.name == "Safe Harbour NGO")).scalar_one()
        assert (org.kind, org.country, org.retention_years, org.active) == ("partner_ngo", "IT", 7, True)
    assert audit_events(app, "org.create", target_id=str(org.id))
    assert "Safe Harbour NGO" in admin_client.get("/admin/organisations").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "This field is required"),
        ({"name": "N" * 201}, "200"),
        ({"name": "Bell\x07Org"}, "control characters"),
        ({"kind": "cartel"}, "Not a valid choice"),
        ({"kind": ""}, "This field is required"),
        ({"country": "QQ"}, "Not a valid choice"),
        ({"retention_years": "0"}, "between 1 and 100"),
        ({"retention_years": "101"}, "between 1 and 100"),
        ({"retention_years": "seven"}, "Not a valid integer"),
    ],
)
def test_create_organisation_bad_input(app, admin_client, changes, message):
    data = {"name": "New Org", "kind": "lead_agency", "country": "", "retention_years": ""}
    data.update(changes)
    before = org_count(app)
    response = admin_client.post("/admin/organisations/new", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'class="error"' in page
    assert org_count(app) == before


def test_duplicate_organisation_name_is_refused(app, admin_client, make_org):
    existing = make_org(name="Twin Org")
    before = org_count(app)
    response = admin_client.post("/admin/organisations/new", data={"name": " Twin   Org", "kind": existing.kind})
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)
    assert org_count(app) == before


def test_edit_organisation(app, admin_client, make_org, fetch):
    org = make_org(kind="lead_agency", country="NG")
    page = admin_client.get(f"/admin/organisations/{org.id}")
    assert page.status_code == 200 and '<option selected value="NG">' in page.get_data(as_text=True)
    response = admin_client.post(
        f"/admin/organisations/{org.id}",
        data={"kind": "government", "country": "", "retention_years": "10", "active": "y"},
    )
    assert response.status_code == 302
    after = fetch(Organisation, org.id)
    assert (after.kind, after.country, after.retention_years, after.active) == ("government", None, 10, True)
    (event,) = audit_events(app, "org.update", target_id=str(org.id))
    assert set(event.details["changed"]) == {"kind", "country", "retention_years"}


def test_edit_organisation_bad_input_keeps_the_old_values(app, admin_client, make_org, fetch):
    org = make_org(kind="lead_agency", retention_years=5)
    response = admin_client.post(
        f"/admin/organisations/{org.id}", data={"kind": "lead_agency", "retention_years": "-1", "active": "y"}
    )
    assert response.status_code == 400
    assert 'value="-1"' in response.get_data(as_text=True)  # the user's input is kept
    assert fetch(Organisation, org.id).retention_years == 5


def test_kind_change_that_its_users_roles_do_not_allow_is_refused(app, admin_client, make_org, make_user, fetch):
    org = make_org(kind="lead_agency")
    make_user("caseworker", org=org)
    response = admin_client.post(f"/admin/organisations/{org.id}", data={"kind": "research", "active": "y"})
    assert response.status_code == 400
    assert "roles this kind of organisation cannot have" in response.get_data(as_text=True)
    assert fetch(Organisation, org.id).kind == "lead_agency"


def test_deactivating_an_organisation_ends_its_users_sessions(app, admin_client, make_org, make_user, login, fetch):
    org = make_org(kind="lead_agency")
    worker = make_user("caseworker", org=org)
    worker_client = app.test_client()
    login(worker_client, worker)
    response = admin_client.post(f"/admin/organisations/{org.id}", data={"kind": "lead_agency"})  # active unticked
    assert response.status_code == 302
    assert fetch(Organisation, org.id).active is False
    assert worker_client.get("/reports/").status_code == 302
    response = app.test_client().post("/auth/login", data={"email": worker.email, "password": worker.test_password})
    assert response.status_code == 401


def test_admin_cannot_deactivate_own_organisation(app, admin, admin_client, fetch):
    response = admin_client.post(f"/admin/organisations/{admin.organisation_id}", data={"kind": "lead_agency"})
    assert response.status_code == 400
    assert "your own organisation" in response.get_data(as_text=True)
    assert fetch(Organisation, admin.organisation_id).active is True


def test_deactivating_the_organisation_of_the_only_other_admins_keeps_one(app, admin, make_org, make_user):
    from casework.admin import services

    other = make_org(kind="lead_agency")
    make_user("admin", org=other)
    with app.app_context():
        org = session.get(Organisation, other.id)
        # The acting admin is elsewhere and still active: allowed.
        services.update_organisation(
            org, kind="lead_agency", country=None, active=False, retention_years=None, actor=None
        )
        session.rollback()
        # With the acting admin's own organisation gone too, none would remain.
        session.get(Organisation, admin.organisation_id).active = False
        session.flush()
        with pytest.raises(services.LastAdminError):
            services.update_organisation(
                session.get(Organisation, other.id),
                kind="lead_agency",
                country=None,
                active=False,
                retention_years=None,
                actor=None,
            )
        session.rollback()


def test_unknown_organisation_is_404(admin_client):
    assert admin_client.get(f"/admin/organisations/{uuid.uuid4()}").status_code == 404
