"""A small world for the task tests: a lead agency with a caseworker, a colleague and a
supervisor, a partner organisation, another organisation, and one case."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest

from casework import access
from casework.auth.models import User
from casework.db import session


@pytest.fixture
def world(make_org, make_user, make_case) -> SimpleNamespace:
    lead = make_org("Lead agency")
    partner_org = make_org("Partner NGO", kind="partner_ngo")
    other_org = make_org("Other agency")
    caseworker = make_user("caseworker", org=lead)
    colleague = make_user("caseworker", org=lead)
    supervisor = make_user("supervisor", org=lead)
    case = make_case(lead, assigned_to=caseworker, given_name="Amara", family_name="Okafor")
    return SimpleNamespace(
        lead=lead,
        partner_org=partner_org,
        other_org=other_org,
        caseworker=caseworker,
        colleague=colleague,
        supervisor=supervisor,
        partner=make_user("partner", org=partner_org),
        outsider=make_user("caseworker", org=other_org),
        case=case,
    )


@pytest.fixture
def granted(app) -> Callable[..., Any]:
    """``with granted(user, case, permission) as grant:`` a grant in a request context whose
    session is committed at the end (as a view would)."""

    @contextmanager
    def make(user: Any, case: Any, permission: access.Permission = access.Permission.CASE_EDIT) -> Iterator[Any]:
        with app.test_request_context():
            fresh = session.get(User, user.id)
            grant = access.load_case(case.id, permission, user=fresh)
            yield grant
            session.commit()

    return make
