"""The access matrix, generated from the app's URL map: every route x every user (each role,
and both organisations' administrators) x every case relation (assignee, owner staff, owner
supervisor, break-glass visitor, partner, second partner NGO, other organisation, closed,
erased, pending referral, withdrawn consent) and account relation. A new route, role or relation
is covered automatically; a route without an access rule, with a URL parameter the matrix
cannot fill, or a cell the matrix cannot classify, fails here.

Expectations (casework/access.py's two tables, and the agreed reads in tests/security/conftest.py):
- anonymous: sent to sign in (or 401/403/404) unless the route is public;
- a role without the route's permission: 403 (or 404), and the refusal is audited;
- a case route: allowed exactly when the route's permission is in the user's grant on that
  case (role's set ∩ relation's set in the case's state), else 403/404, audited; a record of a
  case (service, consent, referral, emergency access) likewise through its case;
- an account route: allowed exactly for the administrators of that account;
- otherwise allowed: not 403/404; GET gives 200 or a redirect, POST with an empty form 400 (or
  409/429) or a redirect; never a 5xx, never a silent sign-out;
- and on the record: every refusal, every page of a case opened (an event with its case id),
  every POST that succeeded (some event).
"""

from __future__ import annotations

import functools
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

from casework import create_app
from casework.access import (
    RELATION_PERMISSIONS,
    ROLE_PERMISSIONS,
    CaseState,
    Permission,
    Relation,
    Role,
    RouteRule,
    case_permissions,
    route_rule,
)
from casework.crypto.keyring import Keyring
from tests.conftest import TEST_SETTINGS
from tests.security.conftest import (
    ADMINISTERED_BY,
    CASE_RELATIONS,
    READERS,
    REFERRAL_READERS,
    ROLE_OF,
    ROLES,
    USER_RELATIONS,
    World,
    relation_of,
    shown_hidden_values,
)

#: URL parameters that name a record of the case under test.
CASE_RECORD_PARAMS = frozenset(
    {
        "case_id", "service_id", "follow_up_id", "consent_id", "note_id", "grant_id", "task_id", "document_id",
        "kind", "goal_id", "approval_id", "assessment_id",
    }
)  # fmt: skip
REFERRAL_PARAMS = frozenset({"referral_id"})
USER_PARAMS = frozenset({"user_id"})
OTHER_PARAMS = frozenset({"org_id", "export_id"})
KNOWN_PARAMS = CASE_RECORD_PARAMS | REFERRAL_PARAMS | USER_PARAMS | OTHER_PARAMS
#: The way in to a case outside one's scope: any case id (the answer never tells whether it
#: exists); what it grants is tested in tests/audit/test_break_glass.py.
OUT_OF_SCOPE_ROUTES = frozenset({"audit.break_glass_request"})
#: Referral routes that also act on the referral's case, and the case permission they need.
REFERRAL_CASE_PERMISSION = {"partners.revoke": Permission.REFERRAL_CREATE}
CHECKED_METHODS = ("GET", "POST")
#: GET routes that are forms over query parameters (a download built from chosen options):
#: without them they answer 400 with the form, which is not a refusal.
GET_FORMS = frozenset({"partners.summary_pdf"})
#: POSTs that may succeed without changing anything worth an audit event: a display preference,
#: and two-factor set-up for an account that has it already (enabling it is audited and tested
#: in tests/auth/test_totp.py).
UNAUDITED_POSTS = frozenset({"core.set_language", "auth.totp_setup"})
#: Routes whose purpose is to end the session: their redirect to the sign-in page is success.
SIGN_OUT_ENDPOINTS = frozenset({"auth.logout"})
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Endpoint:
    endpoint: str
    rule: str
    method: str
    params: frozenset[str]

    @property
    def case_relational(self) -> bool:
        return bool(self.params & (CASE_RECORD_PARAMS - {"kind"} | REFERRAL_PARAMS))

    @property
    def user_relational(self) -> bool:
        return bool(self.params & USER_PARAMS)


@functools.cache
def url_map_app() -> Flask:
    """An app built only to read the URL map at collection time (no database needed)."""
    directory = Path(tempfile.mkdtemp(prefix="casework-matrix-"))
    Keyring.generate().save(directory / "keyring.json")
    return create_app(
        {
            **TEST_SETTINGS,
            "instance_path": directory / "instance",
            "database_url": "sqlite://",
            "keyring_path": directory / "keyring.json",
        }
    )


@functools.cache
def endpoints() -> tuple[Endpoint, ...]:
    app = url_map_app()
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            found.append(Endpoint(rule.endpoint, rule.rule, method, frozenset(rule.arguments)))
    return tuple(sorted(found, key=lambda e: (e.rule, e.method)))


def rule_of(endpoint: str) -> RouteRule | None:
    app = url_map_app()
    return route_rule(app.view_functions[endpoint])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "matrix_case" not in metafunc.fixturenames:
        return
    cases, ids = [], []
    for ep in endpoints():
        relations = CASE_RELATIONS if ep.case_relational else USER_RELATIONS if ep.user_relational else ("-",)
        for role in (*ROLES, None):
            for relation in relations if role is not None else relations[:1]:
                cases.append((ep, role, relation))
                ids.append(f"{ep.method} {ep.rule} [{ep.endpoint}] as {role or 'anonymous'} / {relation}")
    metafunc.parametrize("matrix_case", cases, ids=ids)


# -- the structural checks: run once, name every offender ---------------------------------------
def test_every_route_declares_an_access_rule() -> None:
    unclassified = sorted({ep.endpoint for ep in endpoints() if rule_of(ep.endpoint) is None})
    assert not unclassified, f"unclassified routes (add @route(...)): {unclassified}"


def test_every_url_parameter_is_known_to_the_matrix() -> None:
    unknown = sorted({f"{ep.rule}: {p}" for ep in endpoints() for p in ep.params - KNOWN_PARAMS})
    assert not unknown, f"URL parameters the access matrix cannot fill: {unknown}"


def test_every_method_is_checked() -> None:
    unchecked = sorted({f"{ep.method} {ep.rule}" for ep in endpoints() if ep.method not in CHECKED_METHODS})
    assert not unchecked, f"methods the access matrix does not try: {unchecked}"


def test_case_routes_are_declared_as_such() -> None:
    undeclared = sorted(
        ep.endpoint
        for ep in endpoints()
        if "case_id" in ep.params and (rule := rule_of(ep.endpoint)) is not None and not rule.case_route
    )
    assert not undeclared, f"routes taking a case_id without case_route=True: {undeclared}"


# -- the expectations ------------------------------------------------------------------------------
def test_the_relation_table_gives_exactly_the_agreed_reads() -> None:
    """casework.access's tables against the reads agreed in tests/security/conftest.py."""
    for fixture in CASE_RELATIONS:
        readers = {
            user
            for user in ROLES
            if Permission.CASE_READ in case_permissions(Role(ROLE_OF[user]), *relation_of(fixture, user))
        }
        assert readers == READERS[fixture], fixture


def test_break_glass_is_read_only_and_nothing_is_unclassified() -> None:
    visitor = {RELATION_PERMISSIONS[(Relation.BREAK_GLASS, state)] for state in (CaseState.OPEN, CaseState.CLOSED)}
    assert visitor == {frozenset({Permission.CASE_READ, Permission.CASE_FILE, Permission.BREAK_GLASS_END})}
    assert {(relation, state) for relation in Relation for state in CaseState} == set(RELATION_PERMISSIONS)
    assert all(not RELATION_PERMISSIONS[(relation, CaseState.ERASED)] for relation in Relation)


def expected(role: str, relation: str, ep: Endpoint, rule: RouteRule) -> bool:
    """May this user do what the route does to the record the URL names? Every cell is
    classified here (a case, a referral, an account or nothing)."""
    if ep.endpoint in OUT_OF_SCOPE_ROUTES:
        return True
    if ep.user_relational:
        return role in ADMINISTERED_BY[relation]
    if not ep.case_relational:
        return True
    grant = case_permissions(Role(ROLE_OF[role]), *relation_of(relation, role))
    if ep.params & REFERRAL_PARAMS:
        needed = REFERRAL_CASE_PERMISSION.get(ep.endpoint)
        return role in REFERRAL_READERS[relation] and (needed is None or needed in grant)
    assert rule.permission is not None, f"{ep.endpoint}: a case route must declare the case permission it needs"
    return rule.permission in grant


def fill(world: World, ep: Endpoint, role: str | None, relation: str) -> str:
    values = dict(world.common)
    values["export_id"] = world.exports[role or "researcher"]
    values.update(world.params[relation if relation in world.params else "assignee"])
    values["user_id"] = world.accounts.get(relation, world.accounts["own_user"])
    url = ep.rule
    for name in ep.params:
        url = url.replace(f"<uuid:{name}>", values[name]).replace(f"<{name}>", values[name])
        url = url.replace(f"<string:{name}>", values[name])
    assert "<" not in url, f"could not fill {ep.rule}"
    return url


def test_access_matrix(world: World, matrix_case: tuple[Endpoint, str | None, str]) -> None:
    ep, role, relation = matrix_case
    rule = rule_of(ep.endpoint)
    assert rule is not None, f"unclassified route {ep.endpoint}: declare it with @route(...)"
    unknown = ep.params - KNOWN_PARAMS
    assert not unknown, f"{ep.rule}: the access matrix does not know how to fill {sorted(unknown)}"
    if world.dirty:
        world.restore()
    url = fill(world, ep, role, relation)
    client = world.client(role)
    case_id = world.params[relation]["case_id"] if ep.case_relational else None
    refusals_before, events_before, case_events_before = world.audit_counts(case_id)
    if ep.method == "GET":
        response = client.get(url)
    else:
        world.dirty = True  # whatever the outcome, the next test starts from the template
        response = client.post(url, data={})
    status = response.status_code
    location = response.headers.get("Location", "")
    where = f"{ep.method} {url} as {role or 'anonymous'} ({relation}) gave {status} {location}"
    assert status < 500, where
    if ep.method == "GET" and role is not None:
        # The redaction sweep (tests/security/test_redaction.py): whatever the answer, the page
        # shows nothing of a case the role may not see, nor beyond a partner's referral scope.
        assert shown_hidden_values(role, response) == [], f"shows what it must not: {where}"

    if rule.public:
        return
    if role is None:
        assert status in (401, 403, 404) or (300 <= status < 400 and "/auth/login" in location), where
        return
    permitted = rule.permission is None or rule.permission in ROLE_PERMISSIONS[Role(ROLE_OF[role])]
    if not permitted:
        assert status in (403, 404), f"role without {rule.permission}: {where}"
        assert world.audit_counts()[0] > refusals_before, f"refusal not audited: {where}"
        return
    if not expected(role, relation, ep, rule):
        assert status in (403, 404), f"not allowed to the {role} ({relation}): {where}"
        assert world.audit_counts()[0] > refusals_before, f"refusal not audited: {where}"
        return
    assert status not in (403, 404), f"allowed but refused: {where}"
    if ep.endpoint not in SIGN_OUT_ENDPOINTS:
        assert "/auth/login" not in location, f"signed out: {where}"
    if ep.method == "GET":
        assert status == 200 or 300 <= status < 400 or (status == 400 and ep.endpoint in GET_FORMS), where
        if status == 200 and ep.params & (CASE_RECORD_PARAMS - {"kind"}):  # a page of the case or its records
            assert world.audit_counts(case_id)[2] > case_events_before, f"case view not audited: {where}"
    else:
        assert status in (400, 409, 429) or 300 <= status < 400, where
        if 300 <= status < 400 and ep.endpoint not in UNAUDITED_POSTS:
            assert world.audit_counts()[1] > events_before, f"change not audited: {where}"


def test_the_relation_in_sql_and_in_python_agree(world: World) -> None:
    """access.load_case computes the relation in the case query, access.grant_for from a loaded
    row: both give the relation the matrix expects, for every user and case."""
    from sqlalchemy import select

    from casework.access import grant_for, relation_expression
    from casework.auth.models import User
    from casework.cases.models import Case
    from casework.db import session

    with world.app.test_request_context():
        for role in ROLES:
            user = session.get(User, world.users[role])
            for fixture in CASE_RELATIONS:
                case = session.get(Case, uuid.UUID(world.params[fixture]["case_id"]))
                in_sql = session.execute(select(relation_expression(user)).where(Case.id == case.id)).scalar_one()
                expected_relation, _state = relation_of(fixture, role)
                assert (in_sql, grant_for(user, case).relation) == (expected_relation, expected_relation), (
                    role,
                    fixture,
                )
