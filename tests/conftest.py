"""Fixtures: a fresh app and database per test (Flask tutorial style), factories that return
functions (indico style), and a test client that sends CSRF tokens like a browser does."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import event, text

from casework import create_app
from casework.crypto.keyring import Keyring
from casework.db import Base, get_db, session

PASSWORD = "correct horse battery staple 42"
POSTGRES_URL = os.environ.get("CASEWORK_TEST_POSTGRES_URL")
TEST_SETTINGS: dict[str, Any] = {
    "env": "testing",
    "secret_key": "test-secret-key-that-is-long-enough-0123456789",
    # A cheap argon2id setting for tests only; production uses the OWASP default.
    "argon2_time_cost": 1,
    "argon2_memory_kib": 8,
    "argon2_parallelism": 1,
    # No sequencer thread racing the tests: they integrate with integrate_pending() themselves.
    "audit_sequencer": False,
}


class CaseworkClient(FlaskClient):
    """A test client that posts a valid CSRF token, as a browser with the page's form would.

    Pass ``csrf=False`` to post without one (the CSRF tests check that this is refused).
    """

    def csrf_token(self) -> str:
        with self.session_transaction() as sess:
            raw = sess.get("csrf_token")
            if raw is None:
                raw = sess["csrf_token"] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 - as flask-wtf
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def post(self, *args: Any, csrf: bool = True, **kwargs: Any) -> Any:
        data = kwargs.get("data")
        if csrf and (data is None or isinstance(data, dict)) and "json" not in kwargs:
            data = dict(data or {})
            data.setdefault("csrf_token", self.csrf_token())
            kwargs["data"] = data
        return super().post(*args, **kwargs)


@pytest.fixture(scope="session")
def keyring_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keyring.json"
    Keyring.generate().save(path)
    return path


def _worker_postgres_url(url: str) -> str:
    """One database per xdist worker (``test_gw1`` beside ``test`` ...), created on first use:
    two workers never share a schema, whatever the scheduler does (xdist 3.8's loadgroup was
    seen sending PostgreSQL tests to both workers, which then deadlocked creating tables)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker in ("", "gw0"):
        return url
    from sqlalchemy.engine import make_url

    from casework.db import make_engine

    base = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{base.database}_{worker}"
    engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _reset_postgres(url: str) -> None:
    from casework.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.node.get_closest_marker("postgres"):
        if not POSTGRES_URL:
            pytest.skip("CASEWORK_TEST_POSTGRES_URL is not set")
        url = _worker_postgres_url(POSTGRES_URL)
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path / 'casework.sqlite3'}"


class SharedTemplateCode(BytecodeCache):
    """Compiled templates shared by every app of the test session. Each test builds a fresh app,
    whose Jinja environment would otherwise parse and compile every template it renders again
    (a fifth of the suite's time). Jinja checks each entry against the template's source
    checksum, so a changed template compiles anew."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self.code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = SharedTemplateCode()


def _share_url_builders() -> None:
    """Werkzeug compiles two URL-building functions per route (an AST built, then ``compile``)
    each time a rule is added to a map: nine tenths of ``create_app``, which every test calls.
    The function depends only on the rule's parsed parts and defaults (it reads the rule's
    converters from its ``self`` argument at call time), so one compiled function serves the
    same rule in every app of the session."""
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    builders: dict[tuple[Any, ...], Any] = {}

    def shared(self: Rule, append_unknown: bool = True) -> Any:
        key = (
            self.rule,
            tuple(self._trace),
            tuple(sorted((name, repr(value)) for name, value in (self.defaults or {}).items())),
            tuple((name, type(converter)) for name, converter in self._converters.items()),
            append_unknown,
        )
        builder = builders.get(key)
        if builder is None:
            builder = builders[key] = compile_builder(self, append_unknown)
        return builder

    Rule._compile_builder = shared  # type: ignore[method-assign]


_share_url_builders()


@pytest.fixture(scope="session")
def sqlite_schema_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where make_app keeps an empty SQLite database with the models' schema, made once per
    session and copied for each test (creating some sixty tables and their indexes cost more
    than most tests), one file per set of tables (a model imported later gets its own)."""
    return tmp_path_factory.mktemp("schema")


def _sqlite_path(url: str) -> Path | None:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url in ("sqlite:///:memory:",) or url.startswith("sqlite:///file:"):
        return None
    return Path(url[len(prefix) :])


@pytest.fixture
def make_app(
    tmp_path: Path, keyring_file: Path, database_url: str, sqlite_schema_directory: Path
) -> Iterator[Callable[..., Flask]]:
    """Build an app with test settings plus overrides; its schema is created from the models
    (tests/test_alembic.py checks that the migrations give exactly the same schema)."""
    apps: list[Flask] = []

    def build(create_schema: bool = True, **overrides: Any) -> Flask:
        settings = {
            **TEST_SETTINGS,
            "instance_path": tmp_path / "instance",
            "database_url": database_url,
            "keyring_path": keyring_file,
            **overrides,
        }
        path = _sqlite_path(str(settings["database_url"]))
        schema_key = hashlib.sha256(" ".join(sorted(Base.metadata.tables)).encode()).hexdigest()[:16]
        schema_file = sqlite_schema_directory / f"{schema_key}.sqlite3"
        copied = False
        if create_schema and path is not None and not path.exists() and schema_file.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(schema_file, path)
            path.chmod(0o600)
            copied = True
        app = create_app(settings)
        app.test_client_class = CaseworkClient
        app.jinja_env.bytecode_cache = TEMPLATE_CODE
        if create_schema and not copied:
            engine = get_db(app).engine
            Base.metadata.create_all(engine)
            if path is not None and not schema_file.exists():
                engine.dispose()  # every page written back from the WAL before the copy
                staged = schema_file.with_suffix(f".{os.getpid()}.tmp")
                shutil.copyfile(path, staged)
                os.replace(staged, schema_file)
        apps.append(app)
        return app

    yield build
    from casework.audit.sequencer import stop_sequencer
    from casework.crypto.watch import stop_watcher

    for app in apps:
        stop_watcher(app)  # a test that started a keyring watcher thread: stop it first
        stop_sequencer(app)
        get_db(app).engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> CaseworkClient:
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


# -- factories -------------------------------------------------------------------------------------
@pytest.fixture
def make_org(app: Flask) -> Callable[..., Any]:
    from casework.auth.models import Organisation

    def make(name: str | None = None, kind: str = "lead_agency", **fields: Any) -> Organisation:
        with app.app_context():
            org = Organisation(name=name or f"Org {uuid.uuid4().hex[:8]}", kind=kind, **fields)
            session.add(org)
            session.commit()
            return org

    return make


@functools.cache
def _policy_allows(password: str) -> bool:
    from casework.auth import passwords

    passwords.check_policy(password)
    return True


@contextmanager
def _factory_password_checked_once(password: str) -> Iterator[None]:
    """The factories' shared password is checked against the policy once per session, not once
    per account (zxcvbn took a tenth of the suite's time). Only for that password: it holds no
    e-mail, name or organisation of the random accounts it is given to."""
    if password != PASSWORD or not _policy_allows(password):
        yield
        return
    from casework.auth import passwords

    with mock.patch.object(passwords, "check_policy", lambda *args, **kwargs: None):
        yield


@pytest.fixture
def make_user(app: Flask, make_org: Callable[..., Any]) -> Callable[..., Any]:
    from casework.admin import services as admin_services
    from casework.auth.models import User

    def make(
        role: str = "caseworker",
        org: Any = None,
        email: str | None = None,
        password: str = PASSWORD,
        totp: bool | None = None,
        **fields: Any,
    ) -> User:
        if org is None:
            org = make_org(kind=admin_services.default_org_kind(role))
        with app.app_context(), _factory_password_checked_once(password):
            org_row = session.get(type(org), org.id)
            user = admin_services.create_user(
                email=email or f"{role}-{uuid.uuid4().hex[:8]}@example.org",
                display_name=f"Test {role}",
                role=role,
                organisation=org_row,
                password=password,
                must_change_password=False,
                actor=None,
            )
            if totp if totp is not None else role in ("admin", "operator", "supervisor"):
                user.totp_secret = pyotp.random_base32()
                user.totp_enabled = True
            for key, value in fields.items():
                setattr(user, key, value)
            session.commit()
            user.__dict__["test_password"] = password
            return user

    return make


def totp_code_for(app: Flask, user: Any, offset_steps: int = 0) -> str:
    """The next code the server will accept for ``user`` (never one already used)."""
    from casework.auth.models import User

    with app.app_context():
        fresh = session.get(User, user.id)
        secret = str(fresh.totp_secret)
        last = fresh.totp_last_step
    step = int(time.time() // 30) + offset_steps
    if last is not None and step <= last:
        step = last + 1
    return pyotp.TOTP(secret).at(step * 30)


@pytest.fixture
def login(app: Flask) -> Callable[..., Any]:
    """Sign ``user`` in through the real forms (password, then TOTP when enabled)."""

    def do_login(client: CaseworkClient, user: Any, password: str | None = None) -> Any:
        password = password or user.__dict__.get("test_password", PASSWORD)
        response = client.post("/auth/login", data={"email": user.email, "password": password})
        if response.status_code == 302 and "/auth/two-factor" in response.headers["Location"]:
            response = client.post("/auth/two-factor", data={"code": totp_code_for(app, user)})
        assert response.status_code == 302, f"login failed: {response.status_code}"
        return response

    return do_login


@pytest.fixture
def make_case(app: Flask) -> Callable[..., Any]:
    """Create a case directly (the registration form has its own tests)."""
    from casework.cases.models import Case, TraffickingProfile
    from casework.cases.references import next_reference

    def make(org: Any, assigned_to: Any = None, profile: dict[str, Any] | None = None, **fields: Any) -> Case:
        opened_on = fields.pop("opened_on", date(2025, 3, 14))
        values: dict[str, Any] = {
            "given_name": "Amina",
            "family_name": "Testcase",
            "gender": "female",
            "age_at_registration": 24,
            "citizenship": "NG",
            "country_of_exploitation": "IT",
            "data_source": "case_management",
        }
        values.update(fields)
        with app.app_context():
            case = Case(
                reference=next_reference(opened_on.year),
                owner_org_id=org.id,
                assigned_to_id=assigned_to.id if assigned_to is not None else None,
                opened_on=opened_on,
                year_of_registration=opened_on.year,
                status=values.pop("status", "open"),
            )
            for key, value in values.items():
                setattr(case, key, value)
            if profile is not None:
                case.profile = TraffickingProfile(case=case, **profile)
            session.add(case)
            session.commit()
            return case

    return make


@pytest.fixture
def make_consent(app: Flask) -> Callable[..., Any]:
    from casework.consent.models import Consent

    def make(case: Any, purpose: str = "assistance", organisation: Any = None, **fields: Any) -> Consent:
        values: dict[str, Any] = {
            "decision": "granted",
            "method": "written",
            "given_by": "victim",
            "given_on": date.today(),
        }
        values.update(fields)
        with app.app_context():
            consent = Consent(
                case_id=case.id,
                purpose=purpose,
                organisation_id=organisation.id if organisation is not None else None,
                **values,
            )
            session.add(consent)
            session.commit()
            return consent

    return make


@pytest.fixture
def make_referral(app: Flask, make_consent: Callable[..., Any]) -> Callable[..., Any]:
    from casework.partners.models import Referral

    def make(
        case: Any,
        to_org: Any,
        scope: tuple[str, ...] = ("given_name", "age", "needs"),
        status: str = "accepted",
        consent: Any = None,
        service_kind: str = "shelter",
    ) -> Referral:
        consent = consent or make_consent(case, "referral_sharing", organisation=to_org)
        with app.app_context():
            referral = Referral(
                case_id=case.id,
                from_org_id=case.owner_org_id,
                to_org_id=to_org.id,
                service_kind=service_kind,
                consent_id=consent.id,
                field_scope=frozenset(scope),
                status=status,
            )
            session.add(referral)
            session.commit()
            return referral

    return make


def pytest_itemcollected(item: pytest.Item) -> None:
    """PostgreSQL tests share one database and browser tests one port range: keep each group on
    a single xdist worker (scripts/test runs with --dist loadgroup). Added as each test is
    collected: xdist reads the groups in its own pytest_collection_modifyitems, and a group
    added in ours came too late (two workers then raced on the one database)."""
    if item.get_closest_marker("postgres"):
        item.add_marker(pytest.mark.xdist_group("postgres"))
    if item.get_closest_marker("browser"):
        item.add_marker(pytest.mark.xdist_group("browser"))


#: Test files whose tests share one module-scoped deployment and build on each other in order:
#: all of a file's tests go to one xdist worker, in file order.
ONE_WORKER_FILES = ("tests/deploy/test_deployment.py",)
#: Files whose module-scoped set-up (a chromium, the security world with its signed-in sessions,
#: the fuzz tests' forms of every page) costs more than spreading their tests gains: spread, each
#: worker built it again. Each goes whole to one worker.
SET_UP_ONCE_FILES = (  # longest first (their time alone on a worker, in CI's profile)
    "tests/browser/test_accessibility_tour.py",
    "tests/fuzz/test_forms_fuzz.py",
    "tests/browser/test_languages.py",
    "tests/browser/test_workbench.py",
    "tests/browser/test_journeys.py",
    "tests/browser/test_layout.py",
    "tests/security/test_every_page_translated.py",
    "tests/browser/test_worklist_journey.py",
    "tests/browser/test_pickers.py",
    "tests/browser/test_documents.py",
    "tests/security/test_redaction.py",
)
#: What to hand out before everything else, longest first: single tests of minutes (a
#: release attack's integer programme: 140 s of CPU alone) and the files kept whole (the
#: deployment waits on its hosts the longest). Started last, one of them would run on while the
#: other workers idle. A name no longer collected is passed over.
LONGEST_FIRST = (
    "tests/exports/test_release_attacks.py::test_integer_programming_recovers_no_hidden_count",
    *ONE_WORKER_FILES,
    *SET_UP_ONCE_FILES,
)
WHOLE_FILES = frozenset((*ONE_WORKER_FILES, *SET_UP_ONCE_FILES))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """scripts/test's ``--dist loadgroup``, with the files above kept whole on one worker.

    xdist 3.8 groups tests by suffixing ``item._nodeid`` with the ``xdist_group`` name, which
    pytest 9.2 no longer reads (a node's id is ``item._id``): the groups above (postgres,
    browser, deploy) never reached the scheduler, and the deployment test's steps ran on both
    workers, each with a deployment of its own, out of order. So the scheduler groups these
    files by path itself; every other test is a unit of its own."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class FilesKeptWhole(LoadGroupScheduling):
        first: list[str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return path if path in WHOLE_FILES else super()._split_scope(nodeid)

        def _assign_work_unit(self, node: Any) -> None:
            if self.first is None:  # once: the units LONGEST_FIRST names, in its order
                self.first = [scope for prefix in LONGEST_FIRST for scope in self.workqueue if scope.startswith(prefix)]
            while self.first and self.first[0] not in self.workqueue:
                self.first.pop(0)
            if self.first:
                self.workqueue.move_to_end(self.first.pop(0), last=False)
            super()._assign_work_unit(node)

        def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
            # Forget a finished unit: xdist counts a worker's pending tests over every unit it
            # was ever given, after every test (quadratic in the thousands of single tests).
            scope = self._split_scope(self.registered_collections[node][item_index])
            unit = self.assigned_work[node][scope]
            unit[self.registered_collections[node][item_index]] = True
            if all(unit.values()):
                del self.assigned_work[node][scope]
            self._reschedule(node)

    return FilesKeptWhole(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests run only when CASEWORK_BROWSER_TESTS=1; the deployment test (nginx, two
    gunicorn hosts, PostgreSQL, chromium) only when CASEWORK_DEPLOY_TESTS=1 (.ci/run sets both)."""
    browser = os.environ.get("CASEWORK_BROWSER_TESTS") == "1"
    deploy = os.environ.get("CASEWORK_DEPLOY_TESTS") == "1"
    for item in items:
        if item.get_closest_marker("deploy"):
            if not deploy:
                item.add_marker(pytest.mark.skip(reason="the deployment test is on with CASEWORK_DEPLOY_TESTS=1"))
            elif not POSTGRES_URL:
                item.add_marker(pytest.mark.skip(reason="the deployment test needs CASEWORK_TEST_POSTGRES_URL"))
        elif item.get_closest_marker("browser") and not browser:
            item.add_marker(pytest.mark.skip(reason="browser tests are on with CASEWORK_BROWSER_TESTS=1"))


@pytest.fixture
def query_counter(app: Flask) -> Callable[[], Any]:
    """``with query_counter() as counted: ...`` then ``counted.n``: SQL statements executed
    (``counted.statements``: their SQL)."""

    class Counted:
        def __init__(self) -> None:
            self.statements: list[str] = []

        @property
        def n(self) -> int:
            return len(self.statements)

    @contextmanager
    def counting() -> Iterator[Counted]:
        counted = Counted()
        engine = get_db(app).engine

        def before_cursor_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            counted.statements.append(statement)

        event.listen(engine, "before_cursor_execute", before_cursor_execute)
        try:
            yield counted
        finally:
            event.remove(engine, "before_cursor_execute", before_cursor_execute)

    return counting
