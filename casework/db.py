"""Engine, declarative base and one session per request (SQLAlchemy 2.x, no ``Model.query``).

``session`` is a proxy to the session of the current application context: views commit it once
per request; services only ever ``flush``.
"""

from __future__ import annotations

import functools
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Dialect, Engine, Executable, MetaData, Row, TypeDecorator, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool
from werkzeug.local import LocalProxy

P = ParamSpec("P")
R = TypeVar("R")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: casework stores timezone-aware UTC timestamps only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base: naming convention for constraints, UTC-aware timestamps."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime()}


class UuidPrimaryKey:
    """A random UUID primary key assigned at construction, so that encrypted values can be
    bound to their row (associated data) before the row is ever flushed."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)

    def __init__(self, **kwargs: Any) -> None:
        self.id = kwargs.pop("id", None) or uuid.uuid4()
        super().__init__(**kwargs)


#: Connections a server's pool keeps (Config.db_pool_size: the process's threads and two).
DEFAULT_POOL_SIZE = 6


class Database:
    """The engine and session factory of one application."""

    def __init__(self, url: str, echo: bool = False, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.url = url
        self.engine: Engine = make_engine(url, echo=echo, pool_size=pool_size)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"


#: Longest statement text psycopg keeps its placeholder conversion of (its default: 4,096).
LONGEST_CACHED_STATEMENT = 32_768


def _cache_long_statements() -> None:
    """psycopg converts a statement's placeholders once per process and text, but only for
    texts of at most 4,096 characters. The case file's one statement (scope, relation, summary
    header: about 10,000 characters) was split again on every request, a tenth of the page's
    CPU; raise the limit (the cache stays an LRU of 128 statements)."""
    from psycopg import _queries

    _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, LONGEST_CACHED_STATEMENT)


def per_thread_cache(builder: Callable[P, R]) -> Callable[P, R]:
    """Cache what ``builder`` returns for its (hashable) arguments, once per thread.

    For functions that build SQL statements or columns worth building once (the hot pages'),
    instead of ``functools.cache``: aliases, subqueries and CTEs complete their column
    collections on first use, and two threads using one for the first time at once can compile
    it wrongly, after which the compiled-statement cache serves that SQL to the whole worker
    (tests/test_shared_sql_constructs.py). Each thread builds its own objects, so none is ever
    shared; statements of the same shape still share one compiled form."""
    local = threading.local()

    @functools.wraps(builder)
    def cached(*args: P.args, **kwargs: P.kwargs) -> R:
        memo: dict[Any, R] | None = getattr(local, "memo", None)
        if memo is None:
            memo = local.memo = {}
        key = (args, tuple(sorted(kwargs.items())))
        try:
            return memo[key]
        except KeyError:
            value = memo[key] = builder(*args, **kwargs)
            return value

    return cached


class _DescribedColumnsSource:
    """What psycopg's Column reads from a cursor, kept from the result it describes (the cursor
    may have run another statement by the time the description is read)."""

    __slots__ = ("_encoding", "adapters", "pgresult")

    def __init__(self, cursor: Any) -> None:
        self.pgresult = cursor.pgresult
        self._encoding = cursor._encoding
        self.adapters = cursor.adapters


class _DescriptionOnDemand(Sequence[Any]):
    """A result's ``cursor.description``, whose psycopg Column objects are built on first use."""

    __slots__ = ("_columns", "_count", "_source")

    def __init__(self, cursor: Any, count: int) -> None:
        self._source = _DescribedColumnsSource(cursor)
        self._count = count
        self._columns: list[Any] | None = None

    def _built(self) -> list[Any]:
        if self._columns is None:
            from psycopg import Column

            self._columns = [Column(self._source, i) for i in range(self._count)]  # type: ignore[arg-type]
        return self._columns

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: Any) -> Any:
        return self._built()[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._built())

    def __eq__(self, other: object) -> bool:
        return self._built() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._built())


@functools.cache
def _description_on_demand_cursor() -> type:
    import psycopg
    from psycopg.pq import ExecStatus

    rows = (ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE, ExecStatus.TUPLES_CHUNK)

    class DescriptionOnDemandCursor(psycopg.Cursor):  # type: ignore[type-arg]
        """psycopg's cursor, but ``description`` builds its Column objects only when read.
        SQLAlchemy asks for the description after every statement and, once it has cached a
        statement's result metadata, only looks whether it is None: building one Column per
        result column (the case file's statement has over a hundred) was a tenth of the page's
        CPU."""

        @property
        def description(self) -> Sequence[Any] | None:  # type: ignore[override]
            result = self.pgresult
            if result and (result.nfields or result.status in rows):
                return _DescriptionOnDemand(self, result.nfields)
            return None

    return DescriptionOnDemandCursor


def make_engine(url: str, echo: bool = False, pool_size: int = DEFAULT_POOL_SIZE) -> Engine:
    """Create an engine with the pragmas casework relies on (SQLite: FKs, WAL, busy timeout).
    ``pool_size``: the connections a server's pool keeps open (see Config.db_pool_size)."""
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith(("postgresql://", "postgres://")):
        # psycopg 3 is the driver casework ships with; plain URLs would ask for psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
        else:
            owner_only_database_file(url)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        # No pool_pre_ping: the checkout probe below pings and also asks whether the server
        # takes writes, in the same round trip.
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = 5
        kwargs["connect_args"] = {"cursor_factory": _description_on_demand_cursor()}
    if not url.startswith("sqlite"):
        _cache_long_statements()
    engine = create_engine(url, **kwargs)
    # Every form checks its own fields for control characters; this guard catches a NUL that a
    # form does not check (the sign-in email) wherever it would reach the database.
    event.listen(engine, "before_cursor_execute", _refuse_nul)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _mark_fresh)
        event.listen(engine, "checkout", _probe_on_checkout)
        event.listen(engine, "handle_error", _drop_read_only_connections)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    return engine


def owner_only_database_file(url: str) -> None:
    """Create the SQLite file readable by its owner only (0600) before SQLite opens it (SQLite
    gives its -wal and -shm files the database file's mode); tighten an existing looser one."""
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


# -- a database that refuses writes (failover, a standby, default_transaction_read_only) ---------------
_FRESH = "casework.fresh"
#: SQLSTATEs that say the database cannot take the request now, not that the request is wrong:
#: read-only transaction, admin/crash shutdown, cannot connect now, disk full, out of memory,
#: too many connections (and class 08, connection exceptions).
UNAVAILABLE_SQLSTATES = frozenset({"25006", "57P01", "57P02", "57P03", "53100", "53200", "53300"})


def _mark_fresh(_dbapi_connection: Any, record: Any) -> None:
    record.info[_FRESH] = True


def server_refuses_writes(dbapi_connection: Any) -> bool:
    """Ask a PostgreSQL connection whether its transactions are read-only (a standby, or
    ``default_transaction_read_only``), outside any transaction (one round trip)."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT pg_catalog.current_setting('transaction_read_only')")
            row = cursor.fetchone()
    finally:
        if not dbapi_connection.closed:
            dbapi_connection.autocommit = autocommit
    return bool(row and row[0] == "on")


def _probe_on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Before a pooled connection is used: is it alive, and does it still see the database as it
    is now? A session started while the database was read-only stays read-only for its life,
    so once the database takes writes again (or after a failover) such a connection is replaced
    by a new one. A new connection is taken as it is (the database may really be read-only)."""
    fresh = record.info.pop(_FRESH, False)
    try:
        read_only = server_refuses_writes(dbapi_connection)
    except Exception as exc:  # noqa: BLE001 - any driver error: the connection is unusable
        raise DisconnectionError("connection failed its check-out probe") from exc
    if read_only and not fresh:
        raise DisconnectionError("connection is read-only; a new one will tell whether the database still is")


def _drop_read_only_connections(context: Any) -> None:
    """A write refused as read-only: drop the connection (and the pool's older ones) as after a
    disconnect, so the next request reconnects, to the new primary after a failover."""
    sqlstate = getattr(context.original_exception, "sqlstate", None)
    if sqlstate == "25006":
        context.is_disconnect = True


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot take requests now (answer 503, "nothing was
    saved, try again shortly") rather than a fault in the request or the code (500)."""
    if isinstance(exc, OperationalError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None) or ""
        return sqlstate in UNAVAILABLE_SQLSTATES or sqlstate.startswith("08")
    return False


def refuses_writes(db_session: Session) -> bool:
    """Readiness: whether the database refuses writes now (PostgreSQL: a standby or
    ``default_transaction_read_only``; SQLite: ``PRAGMA query_only``). Raises SQLAlchemyError
    when it does not answer."""
    connection = db_session.connection()
    if connection.dialect.name == "postgresql":
        value = connection.exec_driver_sql("SELECT pg_catalog.current_setting('transaction_read_only')").scalar()
        return value == "on"
    return bool(connection.exec_driver_sql("PRAGMA query_only").scalar())


class UnstorableText(ValueError):
    """A statement's text parameter holds a NUL character: PostgreSQL cannot store one (psycopg
    refuses it), SQLite would. Refused the same way on both, before the statement is sent; the
    web layer answers 400 and rolls the request back."""


def _refuse_nul(_conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
    for params in parameters if executemany else (parameters,):
        values = params.values() if isinstance(params, dict) else params or ()
        for value in values:
            if type(value) is str and "\x00" in value:
                raise UnstorableText("a text value holds a NUL character")


def init_app(app: Flask, url: str, echo: bool = False, pool_size: int = DEFAULT_POOL_SIZE) -> Database:
    """Attach a Database to ``app`` and close the request's session at teardown."""
    database = Database(url, echo=echo, pool_size=pool_size)
    app.extensions["casework.db"] = database
    app.teardown_appcontext(_close_session)
    return database


def get_db(app: Flask | None = None) -> Database:
    return cast(Database, (app or current_app).extensions["casework.db"])


def _get_session() -> Session:
    if "db_session" not in g:
        g.db_session = get_db().sessionmaker()
    return cast(Session, g.db_session)


_WROTE = "casework.wrote"


@event.listens_for(Session, "after_flush")
def _mark_flushed(db_session: Session, _context: Any) -> None:
    db_session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _mark_statement(state: Any) -> None:
    if not state.is_select:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _reset_mark(db_session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        db_session.info.pop(_WROTE, None)


def is_clean(db_session: Session) -> bool:
    """True when the session's transaction (if any) has written nothing and holds no pending change."""
    return not (db_session.info.get(_WROTE) or db_session.new or db_session.dirty or db_session.deleted)


def end_read_only(db_session: Session) -> None:
    """End a transaction that wrote nothing with COMMIT rather than ROLLBACK (the same outcome).

    psycopg forgets every server-side prepared statement of a connection on ROLLBACK (it cannot
    tell whether the transaction dropped or altered something), so closing each read-only
    request with a rollback made PostgreSQL plan every query of every page again: about 3 ms
    for the case file's services query alone. A transaction that flushed or ran DML is left
    alone: it is rolled back by ``close()``, as before.
    """
    if db_session.in_transaction() and is_clean(db_session):
        db_session.commit()


def _close_session(exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        # The database may have gone away after the response was built (nothing is left to
        # commit): the pool drops the dead connection; the answer already given stands.
        try:
            if exc is None:
                end_read_only(db_session)
        except SQLAlchemyError:
            pass
        finally:
            try:
                db_session.close()
            except SQLAlchemyError:
                pass


#: The session of the current application context (one per request or CLI command).
session: Session = cast(Session, LocalProxy(_get_session))


@contextmanager
def separate_session() -> Iterator[Session]:
    """A session outside the request's transaction, committed on success.

    For records that must survive the request's rollback, e.g. the audit of a refused access.
    """
    own = get_db().sessionmaker()
    try:
        yield own
        own.commit()
    except BaseException:
        own.rollback()
        raise
    finally:
        own.close()


def execute_now(statement: Executable) -> tuple[list[Row[Any]], int]:
    """Run one write ``statement`` in a transaction of its own, committed at once, whatever becomes
    of the request; its rows (RETURNING) and row count.

    For counters that concurrent requests must see at once (sign-in attempts). While the
    request's session has written nothing it carries the statement and commits (one connection
    per request: a second one per request would let a burst empty the pool, each request holding
    one connection while it waits for another); otherwise a separate session does."""
    if is_clean(session):
        result = session.execute(statement)
        rows, count = (list(result.all()) if result.returns_rows else []), result.rowcount
        session.commit()
        return rows, count
    with separate_session() as own:
        result = own.execute(statement)
        return (list(result.all()) if result.returns_rows else []), result.rowcount


def import_all_models() -> None:
    """Import every feature's models so that ``Base.metadata`` is complete (Alembic, tests)."""
    from casework.assessments import models as _assessments  # noqa: F401
    from casework.assistance import models as _assistance  # noqa: F401
    from casework.audit import models as _audit  # noqa: F401
    from casework.auth import models as _auth  # noqa: F401
    from casework.cases import models as _cases  # noqa: F401
    from casework.consent import models as _consent  # noqa: F401
    from casework.crypto import models as _crypto  # noqa: F401
    from casework.documents import models as _documents  # noqa: F401
    from casework.exports import models as _exports  # noqa: F401
    from casework.exports import storage as _export_storage  # noqa: F401
    from casework.notifications import models as _notifications  # noqa: F401
    from casework.partners import models as _partners  # noqa: F401
    from casework.plans import models as _plans  # noqa: F401
    from casework.tasks import models as _tasks  # noqa: F401
