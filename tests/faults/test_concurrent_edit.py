"""Fault: several people save the same case at once, each from the edit form they loaded.

Exactly one save wins; every other one gets the 409 conflict page with its own input intact,
and the saved record is the winner's (no lost update, no mixed record). Sequential on SQLite,
and truly concurrent (threads released together) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask

from casework.cases.models import Case
from casework.db import session
from tests.faults.forms import form_posting_to


def _edit_form(client: Any, case_id: Any) -> dict[str, list[str]]:
    path = f"/cases/{case_id}/edit"
    page = client.get(path)
    assert page.status_code == 200
    return form_posting_to(page.get_data(as_text=True), path).data()


def _saved(app: Flask, case_id: Any) -> Case:
    with app.app_context():
        case = session.get(Case, case_id)
        assert case is not None
        _ = (case.address, case.phone)  # decrypt inside the context
        return case


def test_two_users_saving_the_same_case_one_conflict_no_lost_update(
    app: Flask, make_org: Any, make_user: Any, make_case: Any, login: Any
) -> None:
    org = make_org("Lead agency")
    caseworker = make_user("caseworker", org=org)
    supervisor = make_user("supervisor", org=org)
    case = make_case(org, caseworker, address="Old address 1")
    first, second = app.test_client(), app.test_client()
    login(first, caseworker)
    login(second, supervisor)
    first_form, second_form = _edit_form(first, case.id), _edit_form(second, case.id)
    assert first_form["version_id"] == second_form["version_id"]

    first_form["address"] = ["Via Roma 1, saved first"]
    second_form["address"] = ["Calle Mayor 2, saved second"]
    first_response = first.post(f"/cases/{case.id}/edit", data=first_form)
    second_response = second.post(f"/cases/{case.id}/edit", data=second_form)

    assert first_response.status_code == 302
    assert second_response.status_code == 409
    page = second_response.get_data(as_text=True)
    assert "Calle Mayor 2, saved second" in page  # the loser's input is on the page, not lost
    assert "Via Roma 1, saved first" in page  # next to what was saved
    saved = _saved(app, case.id)
    assert saved.address == "Via Roma 1, saved first"
    assert saved.version_id == int(first_form["version_id"][0]) + 1


def _threaded_race(app: Flask, clients: list[Any], case_id: Any) -> None:
    """Every client loads the form, then all post at the same moment."""
    forms = [_edit_form(client, case_id) for client in clients]
    assert len({form["version_id"][0] for form in forms}) == 1
    for i, form in enumerate(forms):
        form["address"] = [f"Address written by racer {i}"]
    barrier = threading.Barrier(len(clients))
    statuses: list[int | None] = [None] * len(clients)
    pages: list[str] = [""] * len(clients)

    def save(i: int) -> None:
        barrier.wait()
        response = clients[i].post(f"/cases/{case_id}/edit", data=forms[i])
        statuses[i] = response.status_code
        pages[i] = response.get_data(as_text=True)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [302] + [409] * (len(clients) - 1), statuses  # type: ignore[type-var]
    winner = statuses.index(302)
    saved = _saved(app, case_id)
    assert saved.address == f"Address written by racer {winner}"
    assert saved.version_id == int(forms[0]["version_id"][0]) + 1
    for i, page in enumerate(pages):
        if i != winner:
            assert f"Address written by racer {i}" in page  # each loser keeps its input


def _racing_clients(
    app: Flask, make_org: Any, make_user: Any, make_case: Any, login: Any, n: int
) -> tuple[list[Any], Any]:
    """The assigned caseworker and n-1 supervisors of its organisation (all may edit the case)."""
    org = make_org("Lead agency")
    caseworker = make_user("caseworker", org=org)
    users = [caseworker] + [make_user("supervisor", org=org) for _ in range(n - 1)]
    case = make_case(org, caseworker, address="Before the race")
    clients = []
    for user in users:
        client = app.test_client()
        login(client, user)
        clients.append(client)
    return clients, case.id


def test_concurrent_saves_on_sqlite(app: Flask, make_org: Any, make_user: Any, make_case: Any, login: Any) -> None:
    clients, case_id = _racing_clients(app, make_org, make_user, make_case, login, 4)
    _threaded_race(app, clients, case_id)


@pytest.mark.postgres
def test_concurrent_saves_on_postgres(app: Flask, make_org: Any, make_user: Any, make_case: Any, login: Any) -> None:
    clients, case_id = _racing_clients(app, make_org, make_user, make_case, login, 6)
    _threaded_race(app, clients, case_id)
