"""Bad input at scale: every POST route of the URL map, as every role, fed random, huge,
malformed, unicode and control-character values for the field names its form really has.

Field names come from the pages themselves (every form of every page a role can open, parsed
with html.parser), URL parameters are filled like the access matrix does. For every request:
never a 5xx, and a markup payload never comes back unescaped. When the answer is a 4xx, no
record was added (counted per table). After each route: no control character stored in any
text column, plain or encrypted. Bounded: a few examples per route and role.
"""

from __future__ import annotations

import functools
import io
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from casework import access
from casework.crypto import EncryptedField
from casework.db import Base, session
from tests.faults.forms import forms_of
from tests.security.conftest import ROLES, World
from tests.security.conftest import world as world  # noqa: PLC0414 - the shared module fixture
from tests.security.test_access_matrix import Endpoint, endpoints, fill

MARKUP = "<script>alert(1)</script>"
ATTRIBUTE_BREAK = '"><img src=x onerror=alert(2)>'
CONTROL = "".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r") + "\x7f"
LIMIT = 2 * 1024 * 1024
NEAR_LIMIT = "é" * (LIMIT // 2 - 50_000)  # ~1.9 MB of two-byte characters: under the limit
OVER_LIMIT = "x" * (LIMIT + 10)
EXAMPLES = 4  # per route and role: ~50 POST routes x 5 roles x 4 stays well under a minute
#: Tables whose rows may change on a refused request (the audit trail, sign-in throttling).
BOOKKEEPING = ("audit", "login", "attempt", "throttle")

values = st.one_of(
    st.text(max_size=40),  # any unicode, control characters included
    st.text(alphabet=st.sampled_from(CONTROL + "ab\u202e\u200b\ufeff"), max_size=20),
    st.sampled_from(
        [
            MARKUP,
            ATTRIBUTE_BREAK,
            "",
            " ",
            "-1",
            "0",
            "1e309",
            "99999999999999999999999",
            "NaN",
            "2025-02-30",
            "0000-00-00",
            "9999-12-31",
            "31/12/2025",
            "../../etc/passwd",
            "' OR 1=1 --",
            "null",
            str(uuid.uuid4()),
            "Ñandú 𝒜😀 עברית",
            "A" * 5000,
        ]
    ),
)
field_values = st.one_of(values, st.lists(values, min_size=2, max_size=3))


def _path(url: str) -> str:
    return url.split("?", 1)[0].split("#", 1)[0]


def _relation(role: str) -> str:
    return "partner" if role == "partner" else "assignee"


@functools.cache
def post_endpoints() -> tuple[Endpoint, ...]:
    return tuple(ep for ep in endpoints() if ep.method == "POST")


def _field_names(world: World, role: str | None) -> dict[str, list[str]]:
    """Form action path -> field names, from every GET page ``role`` (None: anonymous) can open."""
    found: dict[str, list[str]] = {}
    client = world.client(role)
    for ep in endpoints():
        if ep.method != "GET" or ep.endpoint in ("static", "auth.logout"):
            continue
        url = fill(world, ep, role, _relation(role or "caseworker"))
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.content_type:
            continue
        for form in forms_of(response.get_data(as_text=True)):
            if form.method == "post":
                action = _path(form.action) or _path(url)
                names = found.setdefault(action, [])
                names.extend(n for n in form.names if n not in names)
    return found


@pytest.fixture(scope="module")
def field_names(world: World) -> dict[str | None, dict[str, list[str]]]:
    return {role: _field_names(world, role) for role in (*ROLES, None)}


def _counts(world: World) -> dict[str, int]:
    with closing(sqlite3.connect(world.db_path)) as connection:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not any(word in name for word in BOOKKEEPING) and not name.startswith("sqlite_")
        ]
        return {t: connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608 - names from sqlite_master


#: Per world: (model, field, ciphertext) of encrypted values already decrypted and found free of
#: control characters. The associated data binds a ciphertext to its table, column and row, so
#: an unchanged ciphertext decrypts to the same clean value: only new ones are decrypted again
#: (decrypting every row after every test was a third of the fuzz tests' time).
_CLEAN_CIPHERTEXTS: dict[Path, set[tuple[type, str, bytes]]] = {}


def _control_characters_stored(world: World) -> list[str]:
    """Text columns (plain and decrypted) holding a control character other than tab/newline."""
    bad = set(CONTROL)
    clean = _CLEAN_CIPHERTEXTS.setdefault(world.template_path, set())
    found = []
    with closing(sqlite3.connect(world.db_path)) as connection:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                try:
                    if column.type.python_type is not str:
                        continue
                except NotImplementedError:
                    continue
                for (value,) in connection.execute(f'SELECT "{column.name}" FROM "{table.name}"'):  # noqa: S608 - names from the metadata
                    if isinstance(value, str) and bad & set(value) and "audit" not in table.name:
                        found.append(f"{table.name}.{column.name}")
    with world.app.app_context():
        for mapper in Base.registry.mappers:
            encrypted = [(name, attr) for name, attr in vars(mapper.class_).items() if isinstance(attr, EncryptedField)]
            if not encrypted:
                continue
            for row in session.execute(select(mapper.class_)).scalars():
                for name, attr in encrypted:
                    blob = getattr(row, attr.column_attr)
                    seen = (mapper.class_, name, bytes(blob)) if blob is not None else None
                    if seen is not None and seen in clean:
                        continue
                    try:
                        value = getattr(row, name)
                    except Exception:  # noqa: BLE001, S112 - an erased case's fields do not decrypt
                        continue
                    if isinstance(value, str) and bad & set(value):
                        found.append(f"{mapper.class_.__name__}.{name}")
                    elif seen is not None:
                        clean.add(seen)
    return sorted(set(found))


def _cases() -> Iterator[Any]:
    for ep in post_endpoints():
        for role in ROLES:
            yield pytest.param(ep, role, id=f"{ep.rule} [{ep.endpoint}] as {role}")


@pytest.mark.parametrize(("ep", "role"), list(_cases()))
def test_fuzz_post_route(
    world: World, field_names: dict[str | None, dict[str, list[str]]], ep: Endpoint, role: str
) -> None:
    if world.dirty:
        world.restore()
    world.dirty = True
    url = fill(world, ep, role, _relation(role))
    # The role's own form; else the same route's form as another role (or anonymous) sees it.
    names = field_names[role].get(_path(url)) or next(
        (found[_path(url)] for found in field_names.values() if found.get(_path(url))), []
    )
    names = [n for n in names if n != "csrf_token"]
    names = names or ["body", "status", "version_id", "reason", "name"]  # a route no page shows here

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.fixed_dictionaries({}, optional={name: field_values for name in names}))
    def post(data: dict[str, Any]) -> None:
        client = world.client(role)
        before = _counts(world)
        response = client.post(url, data=data)
        status = response.status_code
        body = response.get_data(as_text=True)
        where = f"POST {url} as {role} with {sorted(data)} gave {status}"
        assert status < 500, where
        assert MARKUP not in body and ATTRIBUTE_BREAK not in body, f"unescaped markup: {where}"
        if 400 <= status < 500:
            assert _counts(world) == before, f"a refused request added or removed records: {where}"

    post()
    stored = _control_characters_stored(world)
    assert not stored, f"control characters stored after fuzzing {ep.rule} as {role}: {stored}"


def _route_field_names(
    world: World, field_names: dict[str | None, dict[str, list[str]]], role: str, url: str
) -> list[str]:
    names = field_names[role].get(_path(url)) or next(
        (found[_path(url)] for found in field_names.values() if found.get(_path(url))), []
    )
    return [n for n in names if n != "csrf_token"] or ["body", "status", "version_id", "reason", "name"]


@pytest.mark.parametrize(("ep", "role"), list(_cases()))
def test_nul_bytes_and_file_parts_in_text_fields(
    world: World, field_names: dict[str | None, dict[str, list[str]]], ep: Endpoint, role: str
) -> None:
    """A NUL character (PostgreSQL cannot store one in text) in any field of any form: never a
    5xx, never stored (the form's control-character check, else the database guard, answer
    400). A file part where a form has a text field, or a NUL in the query string: a 400
    before any view runs. Nothing is added either way."""
    if world.dirty:
        world.restore()
    world.dirty = True
    url = fill(world, ep, role, _relation(role))
    names = _route_field_names(world, field_names, role, url)
    client = world.client(role)
    for name in names:  # one field at a time: a field that refuses it must not hide one that stores it
        before = _counts(world)
        nul = client.post(url, data={name: "Amina\x00Okafor"})
        assert nul.status_code < 500, f"POST {url} as {role} with a NUL in {name} gave {nul.status_code}"
        if nul.status_code >= 400:  # a form that takes no such field may act (and notify): refused, nothing
            assert _counts(world) == before, f"a refused NUL in {name} of {url} added or removed records"
    before = _counts(world)
    # Files are refused before any form reads a field: every text field a file, in one request.
    # (An upload route's file field takes a file: every other field of its form gets one.)
    files = {
        name: (io.BytesIO(b"%PDF-1.4 not text"), f"scan-{i}.pdf") for i, name in enumerate(names) if name != "file"
    }
    upload = client.post(url, data=files, content_type="multipart/form-data")
    assert upload.status_code == 400, f"POST {url} as {role} with files in {names} gave {upload.status_code}"
    assert "cannot be stored" in upload.get_data(as_text=True)
    query = client.post(url + ("&" if "?" in url else "?") + "q=a%00b", data={})
    assert query.status_code == 400, f"POST {url} as {role} with a NUL in the query string gave {query.status_code}"
    assert _counts(world) == before
    stored = _control_characters_stored(world)
    assert not stored, f"a NUL posted to {ep.rule} as {role} was stored: {stored}"


@pytest.mark.parametrize("ep", list(post_endpoints())[:50], ids=lambda ep: ep.endpoint)
def test_oversized_and_near_limit_bodies(world: World, ep: Endpoint) -> None:
    """Over 2 MB: 413 before anything runs. Just under: a clear 4xx (or a redirect), never 5xx."""
    if world.dirty:
        world.restore()
    world.dirty = True
    role = "supervisor" if not ep.endpoint.startswith(("admin.", "exports.", "partners.respond")) else "admin"
    url = fill(world, ep, role, _relation(role))
    client = world.client(role)
    if access.route_rule(world.app.view_functions[ep.endpoint]).uploads:
        # An upload route reads up to the document limit: over it, the same 413.
        over = "x" * (world.app.config["CASEWORK"].document_max_bytes + 70 * 1024)
        assert client.post(url, data={"body": over, "notes": "x"}).status_code == 413
    else:
        assert client.post(url, data={"body": OVER_LIMIT, "notes": "x"}).status_code == 413
    before = _counts(world)
    response = client.post(url, data={"body": NEAR_LIMIT, "notes": NEAR_LIMIT[:1000], "name": NEAR_LIMIT[:100_000]})
    assert response.status_code < 500, f"POST {url} near the limit gave {response.status_code}"
    if 400 <= response.status_code < 500:
        assert _counts(world) == before
