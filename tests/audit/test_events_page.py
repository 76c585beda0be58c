"""The platform operator's audit page: recent events, newest first, paginated, filterable."""

from __future__ import annotations

from tests.audit.helpers import audit_events


def test_recent_events_newest_first_with_actor_names(app, make_user, login, write_events):
    admin = make_user("operator", display_name="Audit Admin")
    client = app.test_client()
    login(client, admin)
    write_events(3, action="test.newest")
    page = client.get("/audit/").get_data(as_text=True)
    assert page.index("test.newest") < page.index("Signed in")
    assert "Audit Admin" in page


def test_pagination_and_filters(app, make_user, login, write_events):
    admin = make_user("operator")
    client = app.test_client()
    login(client, admin)
    write_events(60)
    first = client.get("/audit/").get_data(as_text=True)
    assert "page=2" in first
    second = client.get("/audit/?page=2")
    assert second.status_code == 200
    assert client.get("/audit/?page=zz&outcome=bogus").status_code == 200
    refused_only = client.get("/audit/?outcome=refused").get_data(as_text=True)
    assert "test.event" not in refused_only


def test_events_page_records_nothing_personal(app, make_user, login):
    admin = make_user("operator")
    client = app.test_client()
    login(client, admin)
    client.get("/audit/")
    for event in audit_events(app):
        assert admin.test_password not in str(event.details or {})
