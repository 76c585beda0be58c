"""Case lists (scope, filters, sorting, pages, query count) and the exact name/document search."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.db import session


def references(html: str) -> list[str]:
    return re.findall(r">(CT-\d{4}-\d{6})</a>", html)


# -- lists ----------------------------------------------------------------------------------------
def test_caseworker_lists_only_their_own_cases(client, login, caseworker, colleague, make_case, org, other_org):
    mine = make_case(org, caseworker)
    theirs = make_case(org, colleague)
    foreign = make_case(other_org, None)
    login(client, caseworker)
    response = client.get("/cases/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert references(html) == [mine.reference]
    assert theirs.reference not in html and foreign.reference not in html
    assert "Amina Testcase" in html and "Carla Caseworker" in html
    assert 'id="view"' not in html and 'id="assigned"' not in html  # supervisor-only filters
    # A caseworker asking for the organisation's view still gets only their scope.
    assert references(client.get("/cases/?status=open").get_data(as_text=True)) == [mine.reference]


def test_supervisor_lists_the_organisation_or_their_own(
    client, login, supervisor, caseworker, colleague, make_case, org, other_org
):
    cases = [make_case(org, caseworker), make_case(org, colleague), make_case(org, supervisor)]
    foreign = make_case(other_org, None)
    login(client, supervisor)
    html = client.get("/cases/").get_data(as_text=True)
    assert sorted(references(html)) == sorted(c.reference for c in cases)
    assert foreign.reference not in html
    assert references(client.get("/cases/?view=mine").get_data(as_text=True)) == [cases[2].reference]
    assigned = client.get(f"/cases/?assigned={colleague.id}").get_data(as_text=True)
    assert references(assigned) == [cases[1].reference]


def test_filters(client, login, supervisor, caseworker, make_case, make_service, org):
    ng_it = make_case(org, caseworker, citizenship="NG", country_of_exploitation="IT", opened_on=date(2024, 1, 5))
    vn_fr = make_case(org, caseworker, citizenship="VN", country_of_exploitation="FR", opened_on=date(2024, 6, 1))
    closed = make_case(org, caseworker, citizenship="UA", country_of_exploitation="PL", status="closed")
    make_service(ng_it, "shelter")
    make_service(ng_it, "legal")
    make_service(vn_fr, "legal", "provided")
    login(client, supervisor)

    def refs(query: str) -> set[str]:
        response = client.get(f"/cases/?{query}")
        assert response.status_code == 200
        return set(references(response.get_data(as_text=True)))

    assert refs("status=closed") == {closed.reference}
    assert refs("kind=shelter") == {ng_it.reference}
    assert refs("kind=legal") == {ng_it.reference, vn_fr.reference}
    assert refs("country=IT") == {ng_it.reference}
    assert refs("country=VN") == {vn_fr.reference}  # citizenship or exploitation
    assert refs("opened_from=2024-02-01&opened_to=2024-12-31") == {vn_fr.reference}
    assert refs("kind=legal&country=FR") == {vn_fr.reference}
    html = client.get("/cases/?kind=shelter").get_data(as_text=True)
    assert "Legal assistance (1), Shelter (1)" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=lost", "Not a valid choice"),
        ("kind=spa", "Not a valid choice"),
        ("country=XX", "Not a valid choice"),
        ("assigned=not-a-user", "Not a valid choice"),
        ("sort=given_name", "Not a valid choice"),
        ("per_page=100000", "Not a valid choice"),
        ("page=0", "Enter a page number from 1"),
        ("page=abc", "whole number"),
        ("opened_from=yesterday", "year-month-day"),
        ("opened_from=2025-02-01&opened_to=2025-01-01", "before the start of the range"),
    ],
)
def test_unknown_filter_values_are_refused_with_a_message(client, login, supervisor, query, message):
    login(client, supervisor)
    response = client.get(f"/cases/?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_sorting_and_pagination(client, login, caseworker, make_case, org):
    made = [make_case(org, caseworker, opened_on=date(2024, 1, 1 + i)) for i in range(12)]
    login(client, caseworker)
    ascending = references(client.get("/cases/?sort=reference&direction=asc&per_page=10").get_data(as_text=True))
    assert ascending == sorted(c.reference for c in made)[:10]
    html = client.get("/cases/?sort=opened&direction=desc&per_page=10&page=2").get_data(as_text=True)
    assert references(html) == [c.reference for c in reversed(made)][10:]
    assert "Page 2 of 2" in html and 'id="page-previous"' in html and 'id="page-next"' not in html
    # Past the last page: the last page.
    assert references(client.get("/cases/?per_page=10&page=99&sort=opened").get_data(as_text=True)) == references(html)
    first = client.get("/cases/?per_page=10&sort=opened").get_data(as_text=True)
    next_link = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "page=2" in next_link and "per_page=10" in next_link
    assert references(client.get(next_link).get_data(as_text=True)) == references(html)


@pytest.mark.parametrize("path", ["/cases/", "/cases/?view=org&sort=updated&direction=asc"])
def test_list_queries_do_not_grow_with_rows(
    app, client, login, supervisor, caseworker, make_case, make_service, org, query_counter, path
):
    login(client, supervisor)

    def add_cases(n: int) -> None:
        for _ in range(n):
            case = make_case(org, caseworker)
            make_service(case, "shelter")

    add_cases(5)
    client.get(path)  # warm caches
    with query_counter() as five:
        assert client.get(path + ("&" if "?" in path else "?") + "per_page=100").status_code == 200
    add_cases(45)
    with query_counter() as fifty:
        response = client.get(path + ("&" if "?" in path else "?") + "per_page=100")
    assert len(references(response.get_data(as_text=True))) == 50
    assert fifty.n == five.n


def test_lists_and_search_read_no_trafficking_profiles(client, login, caseworker, make_case, org, query_counter):
    """A list shows no profile field: the profile is read (lazily) by the case file only."""
    make_case(org, caseworker)
    login(client, caseworker)
    with query_counter() as counted:
        assert "Amina Testcase" in client.get("/cases/").get_data(as_text=True)
        searched = client.post("/cases/search", data={"full_name": "Amina Testcase"})
        assert "Amina Testcase" in searched.get_data(as_text=True)
    assert counted.n and not [s for s in counted.statements if "trafficking_profiles" in s]


def test_a_redacted_case_reads_its_profile_only_when_visible_and_used(app, make_case, org, caseworker):
    from sqlalchemy import inspect

    from casework import access
    from casework.cases.models import Case

    case = make_case(org, caseworker, profile={"abducted": True})
    with app.app_context():
        loaded = session.get(Case, case.id)
        withheld = access.RedactedCase(loaded, frozenset({"given_name"}))
        assert withheld.profile is access.REDACTED
        assert "profile" not in inspect(loaded).dict  # never loaded, let alone shown
        visible = access.RedactedCase(loaded, frozenset({"profile"}))
        assert "profile" not in inspect(loaded).dict  # read when a page uses it
        assert visible.profile.abducted is True


@pytest.mark.parametrize("role", ["researcher", "admin", "partner"])
def test_roles_without_case_lists_are_refused(client, login, make_user, role):
    login(client, make_user(role))
    assert client.get("/cases/").status_code == 403
    assert client.post("/cases/search", data={"full_name": "Amina"}).status_code == 403


def test_list_pages_never_put_names_in_links(client, login, caseworker, make_case, org):
    for _ in range(3):
        make_case(org, caseworker)
    login(client, caseworker)
    html = client.get("/cases/?per_page=10").get_data(as_text=True)
    assert all("Amina" not in href for href in re.findall(r'href="([^"]*)"', html))


# -- search ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "typed", ["Élodie Dupont-Martin", "elodie dupont martin", "ÉLODIE  DUPONT MARTIN", "Dupont Martin Élodie"]
)
def test_search_finds_accented_and_reordered_variants(client, login, caseworker, register, typed):
    case = register(caseworker, given_name="Élodie", family_name="Dupont-Martin")
    register(caseworker, given_name="Élodie", family_name="Durand")
    login(client, caseworker)
    response = client.post("/cases/search", data={"full_name": typed})
    assert response.status_code == 200
    assert references(response.get_data(as_text=True)) == [case.reference]


def test_search_by_document_and_by_name_with_date_of_birth(client, login, caseworker, register):
    case = register(caseworker, document_number="AB 12-345", date_of_birth=date(1999, 4, 2))
    login(client, caseworker)
    assert references(client.post("/cases/search", data={"document_number": "ab12345"}).get_data(as_text=True)) == [
        case.reference
    ]
    found = client.post("/cases/search", data={"full_name": "amina okafor", "date_of_birth": "1999-04-02"})
    assert references(found.get_data(as_text=True)) == [case.reference]
    none = client.post("/cases/search", data={"full_name": "amina okafor", "date_of_birth": "1999-04-03"})
    assert references(none.get_data(as_text=True)) == [] and "0 cases found" in none.get_data(as_text=True)


def test_search_never_leaks_other_organisations_or_colleagues_cases(
    client, login, caseworker, colleague, supervisor, make_user, other_org, register
):
    mine = register(caseworker)
    theirs = register(colleague)
    foreign = register(make_user("caseworker", org=other_org))
    login(client, caseworker)
    html = client.post("/cases/search", data={"full_name": "Amina Okafor"}).get_data(as_text=True)
    assert references(html) == [mine.reference]
    boss = client.application.test_client()
    login(boss, supervisor)
    html = boss.post("/cases/search", data={"full_name": "Amina Okafor"}).get_data(as_text=True)
    assert sorted(references(html)) == sorted([mine.reference, theirs.reference])
    assert foreign.reference not in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Enter a name or a document number."),
        ({"date_of_birth": "1999-04-02"}, "enter the name too"),
        ({"full_name": "x" * 401}, "400 characters"),
        ({"full_name": "Amina\x00"}, "control characters"),
        ({"full_name": "Amina", "date_of_birth": "2/4/99"}, "year-month-day"),
    ],
)
def test_bad_searches_are_refused(client, login, caseworker, data, message):
    login(client, caseworker)
    response = client.post("/cases/search", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_punctuation_only_name_matches_nothing(client, login, caseworker, make_case, org):
    make_case(org, caseworker, given_name=None, family_name=None)  # no name index
    login(client, caseworker)
    response = client.post("/cases/search", data={"full_name": "- ' ."})
    assert response.status_code == 200 and references(response.get_data(as_text=True)) == []


def test_search_is_a_post_and_is_audited_without_the_name(app, client, login, caseworker, register):
    register(caseworker)
    login(client, caseworker)
    page = client.get("/cases/search?full_name=Amina")
    assert page.status_code == 200 and 'method="post"' in page.get_data(as_text=True)
    assert "search-results" not in page.get_data(as_text=True)  # a query string searches nothing
    client.post("/cases/search", data={"full_name": "Amina Okafor"})
    with app.app_context():
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "case.search")).scalar_one()
        assert event.details == {"criteria": ["full_name"], "results": 1}
