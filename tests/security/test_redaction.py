"""Redaction sweep: every page a role can open is fetched for every case relation, and no
value the role may not see appears in it.

- a partner whose referral's field scope is ("given_name", "age") sees the given name of that
  case only: never its family name, contacts, address, document, date of birth, notes;
- staff see the cases of their scope and nothing of the others (lists included);
- administrators and researchers see no case content at all.
"""

from __future__ import annotations

import pytest

from tests.security.conftest import CASE_RELATIONS, READERS, SECRET_FIELDS, World, secret_value
from tests.security.test_access_matrix import endpoints, fill

DATE_OF_BIRTH_FORMS = ("2001-02-03", "03/02/2001", "3 February 2001", "February 3, 2001")
PARTNER_SCOPE_FIELDS = ("given_name",)  # and age, a number that is not worth searching for


def given_name(relation: str) -> str:
    return f"Given{relation.replace('_', '').title()}"


def hidden_values(role: str) -> dict[str, str]:
    """value -> what it is, for every value ``role`` must never see on any page."""
    hidden: dict[str, str] = {}
    for relation in CASE_RELATIONS:
        staff_sees_all = role in READERS[relation] and role in ("supervisor", "caseworker")
        if staff_sees_all:
            continue
        partner_sees_scope = role == "partner" and role in READERS[relation]
        if not partner_sees_scope:
            hidden[given_name(relation)] = f"{relation}.given_name"
        # (document_title: the identity scan, which the partner's referral does not share)
        for name in (
            *SECRET_FIELDS,
            "note_body",
            "consent_notes",
            "break_glass_reason",
            "document_title",
            "goal",
            "safety_plan",
        ):
            hidden[secret_value(relation, name)] = f"{relation}.{name}"
    if role != "supervisor" and role != "caseworker":
        hidden.update({form: "date_of_birth" for form in DATE_OF_BIRTH_FORMS})
    return hidden


def sweep(world: World, role: str) -> tuple[list[str], set[str]]:
    """Fetch every GET page for every relation; return the leaks and the pages that opened."""
    hidden = hidden_values(role)
    leaks: list[str] = []
    opened: set[str] = set()
    for ep in endpoints():
        if ep.method != "GET" or ep.endpoint in ("auth.logout",):
            continue
        relations = CASE_RELATIONS if ep.case_relational else ("-",)
        for relation in relations:
            url = fill(world, ep, role, relation)
            response = world.client(role).get(url)
            body = (
                response.get_data(as_text=True) if response.mimetype.startswith(("text/", "application/json")) else ""
            )
            if response.status_code == 200:
                opened.add(url)
            for value, what in hidden.items():
                if value in body:
                    leaks.append(f"{url} ({ep.endpoint}) shows {what}")
    return leaks, opened


def test_partner_sees_only_the_referral_scope(world: World) -> None:
    leaks, opened = sweep(world, "partner")
    assert not leaks, "\n".join(leaks)
    # Not vacuous: the partner does reach the referred case and sees the name in scope.
    shown = [url for url in opened if world.params["partner"]["case_id"] in url]
    assert shown, "the partner could open no page of the case referred to it"
    pages = [world.client("partner").get(url).get_data(as_text=True) for url in shown]
    assert any(given_name("partner") in page for page in pages)


@pytest.mark.parametrize("role", ["admin", "admin_other", "operator", "researcher"])
def test_no_case_content_for_admins_and_researchers(world: World, role: str) -> None:
    leaks, _opened = sweep(world, role)
    assert not leaks, "\n".join(leaks)


@pytest.mark.parametrize("role", ["caseworker", "supervisor"])
def test_staff_see_nothing_outside_their_scope(world: World, role: str) -> None:
    leaks, opened = sweep(world, role)
    assert not leaks, "\n".join(leaks)
    assert any(world.params["assignee"]["case_id"] in url for url in opened)
