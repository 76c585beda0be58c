"""Engine, declarative base and one session per request (SQLAlchemy 2.x, no ``Model.query``).

``session`` is a proxy to the session of the current application context: views commit it once
per request; services only ever ``flush``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Dialect, Engine, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool
from werkzeug.local import LocalProxy

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


class Database:
    """The engine and session factory of one application."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.engine: Engine = make_engine(url, echo=echo)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"


def make_engine(url: str, echo: bool = False) -> Engine:
    """Create an engine with the pragmas casework relies on (SQLite: FKs, WAL, busy timeout)."""
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
        kwargs["pool_pre_ping"] = True
        kwargs["pool_size"] = 5
        kwargs["max_overflow"] = 5
    engine = create_engine(url, **kwargs)
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


def init_app(app: Flask, url: str, echo: bool = False) -> Database:
    """Attach a Database to ``app`` and close the request's session at teardown."""
    database = Database(url, echo=echo)
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


def import_all_models() -> None:
    """Import every feature's models so that ``Base.metadata`` is complete (Alembic, tests)."""
    from casework.assistance import models as _assistance  # noqa: F401
    from casework.audit import models as _audit  # noqa: F401
    from casework.auth import models as _auth  # noqa: F401
    from casework.cases import models as _cases  # noqa: F401
    from casework.consent import models as _consent  # noqa: F401
    from casework.crypto import models as _crypto  # noqa: F401
    from casework.exports import models as _exports  # noqa: F401
    from casework.notifications import models as _notifications  # noqa: F401
    from casework.partners import models as _partners  # noqa: F401
