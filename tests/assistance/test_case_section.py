"""The case file's assistance section: every visible service, in a number of queries that does
not grow with the number of services."""

from __future__ import annotations

from flask import render_template
from flask_login import login_user
from sqlalchemy import event

from casework import access
from casework.db import get_db
from tests.assistance.conftest import KINDS


def render_section(app, user, case, statements=None):
    """Render templates/assistance/_case_section.html as the case page includes it."""
    from casework.auth.models import User
    from casework.cases.models import Case
    from casework.db import session

    with app.test_request_context("/"):
        signed_in = session.get(User, user.id)
        login_user(signed_in)
        redacted = access.redact(signed_in, session.get(Case, case.id))
        engine = get_db(app).engine

        def count(*_args):
            if statements is not None:
                statements.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            return render_template("assistance/_case_section.html", case=redacted)
        finally:
            event.remove(engine, "before_cursor_execute", count)


def test_query_count_does_not_grow_with_services(app, world, make_case, make_service):
    few_case = make_case(world.lead, assigned_to=world.caseworker)
    many_case = make_case(world.lead, assigned_to=world.caseworker)
    providers = [world.lead, world.partner_org, None]
    for i in range(2):
        make_service(few_case, KINDS[i], provider=providers[i % 3], started_on=None)
    for i in range(12):
        make_service(many_case, KINDS[i % len(KINDS)], provider=providers[i % 3])
    few, many = [], []
    few_page = render_section(app, world.caseworker, few_case, few)
    many_page = render_section(app, world.caseworker, many_case, many)
    assert few_page.count("/assistance/") - few_page.count("/new") == 2
    assert many_page.count("/assistance/") - many_page.count("/new") == 12
    assert len(few) == len(many)
    assert len(many) <= 2
    print(f"case section: {len(few)} queries for 2 services, {len(many)} for 12")


def test_section_lists_kind_status_and_provider(app, world, make_service):
    make_service(world.case, "return", provider=world.partner_org, status="provided")
    page = render_section(app, world.caseworker, world.case)
    assert "Return" in page and "Provided" in page and world.partner_org.name in page
    assert f"/cases/{world.case.id}/assistance/shelter/new" in page


def test_section_is_empty_outside_the_scope(app, world, make_service):
    service = make_service(world.case, "shelter", provider=world.lead)
    assert str(service.id) not in render_section(app, world.outsider, world.case)


def test_case_file_page_includes_the_section(app, client, login, world, make_service):
    service = make_service(world.case, "medical", provider=world.lead, status="in_progress")
    login(client, world.caseworker)
    page = client.get(f"/cases/{world.case.id}?tab=assistance").get_data(as_text=True)
    assert 'id="assistance-heading"' in page
    assert f"/assistance/{service.id}" in page
    # The service page links back to the case file.
    assert f'href="/cases/{world.case.id}"' in client.get(f"/assistance/{service.id}").get_data(as_text=True)
