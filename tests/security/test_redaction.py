"""Redaction: no page shows a value the role may not see (tests/security/conftest.py
``hidden_values`` says which).

- a partner whose referral's field scope is ("given_name", "age") sees the given name of that
  case only: never its family name, contacts, address, document, date of birth, notes;
- staff see the cases of their scope and nothing of the others (lists included);
- administrators and researchers see no case content at all.

The sweep itself runs in the access matrix (tests/security/test_access_matrix.py): every GET
cell, which is every page for every role and case relation, is checked against the role's
hidden values, whatever the answer. It fetched the same pages a second time here. What stays
here shows that the sweep is not vacuous: the values it looks for are on the pages of those who
may see them.
"""

from __future__ import annotations

import pytest

from tests.security.conftest import ROLES, World, given_name, hidden_values, secret_value
from tests.security.test_access_matrix import endpoints, fill


def opened_pages(world: World, role: str, relation: str) -> dict[str, str]:
    """url -> body of every GET page of the ``relation`` case that ``role`` opens (200)."""
    pages = {}
    client = world.client(role)
    for ep in endpoints():
        if ep.method != "GET" or not ep.case_relational:
            continue
        url = fill(world, ep, role, relation)
        response = client.get(url)
        if response.status_code == 200 and response.mimetype.startswith(("text/", "application/json")):
            pages[url] = response.get_data(as_text=True)
    return pages


def test_partner_sees_the_name_in_its_referral_scope(world: World) -> None:
    pages = opened_pages(world, "partner", "partner")
    shown = [url for url in pages if world.params["partner"]["case_id"] in url]
    assert shown, "the partner could open no page of the case referred to it"
    assert any(given_name("partner") in pages[url] for url in shown)
    assert given_name("partner") not in hidden_values("partner")


@pytest.mark.parametrize("role", ["caseworker", "supervisor"])
def test_staff_see_the_cases_of_their_scope(world: World, role: str) -> None:
    pages = opened_pages(world, role, "assignee")
    assert any(world.params["assignee"]["case_id"] in url for url in pages)
    family_name = secret_value("assignee", "family_name")
    assert any(family_name in body for body in pages.values())
    assert family_name not in hidden_values(role)


def test_every_role_has_values_it_must_not_see() -> None:
    for role in ROLES:
        assert secret_value("other_org", "family_name") in hidden_values(role), role
        assert secret_value("erased", "note_body") in hidden_values(role), role
