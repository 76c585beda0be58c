"""How a request's transaction ends: committed by the view, rolled back when it wrote without
committing, and closed with COMMIT when it only read (psycopg keeps its prepared statements
across COMMIT but forgets them all on ROLLBACK)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import event, func, select, text

from casework.auth.models import Organisation
from casework.db import get_db, session


def _transaction_ends(app: Flask) -> list[str]:
    ends: list[str] = []
    engine = get_db(app).engine
    event.listen(engine, "commit", lambda _conn: ends.append("commit"))
    event.listen(engine, "rollback", lambda _conn: ends.append("rollback"))
    return ends


def _organisations(app: Flask) -> int:
    with app.app_context():
        return session.execute(select(func.count(Organisation.id))).scalar_one()


def _check_session_endings(app: Flask) -> None:
    before = _organisations(app)
    ends = _transaction_ends(app)

    with app.test_request_context():
        session.execute(select(1))
    assert ends == ["commit"]  # read only: COMMIT, the same outcome as a rollback

    ends.clear()
    with app.test_request_context():
        session.add(Organisation(name="Never committed", kind="partner_ngo"))
        session.flush()
    assert ends == ["rollback"]  # wrote but did not commit: rolled back, never committed
    assert _organisations(app) == before

    ends.clear()
    with app.test_request_context():
        session.add(Organisation(name="Pending", kind="partner_ngo"))  # not even flushed
    assert "commit" not in ends
    assert _organisations(app) == before

    ends.clear()
    with pytest.raises(RuntimeError), app.test_request_context():
        session.execute(select(1))
        raise RuntimeError("the view failed")
    assert ends == ["rollback"]  # a failed request never commits, even when it only read


def test_read_only_requests_end_with_commit_and_writes_are_never_committed_by_teardown(app: Flask) -> None:
    _check_session_endings(app)


@pytest.mark.postgres
def test_the_same_on_postgres_and_prepared_statements_survive_read_only_requests(app: Flask) -> None:
    _check_session_endings(app)
    # psycopg prepares a statement on its fifth execution on a connection; read-only requests
    # do not end with ROLLBACK, so the statement is still prepared after six of them (one
    # request at a time: the pool hands out the same connection).
    for _ in range(6):
        with app.test_request_context():
            session.execute(select(Organisation.id).where(Organisation.name == "casework prepared probe")).all()
    with app.test_request_context():
        shapes = session.execute(
            text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT organisations.id %'")
        ).scalar_one()
    assert shapes == 1


@pytest.mark.postgres
def test_a_busy_worker_reuses_its_connections(make_app) -> None:
    """Eight threads at once (6 request threads, the sequencer, the watcher), ten times over: the
    pool keeps eight, so no connection is opened after the first round. With the pool of five it
    had, every round opened three overflow connections and closed them again (a new server
    process each time, and its prepared statements lost)."""
    import threading

    app = make_app(db_pool_size=8)
    engine = get_db(app).engine
    opened: list[int] = []
    event.listen(engine, "connect", lambda *_args: opened.append(1))
    together = threading.Barrier(8)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                    together.wait(timeout=30)  # all eight hold a connection at the same time
                together.wait(timeout=30)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(opened) <= 8, f"{len(opened)} connections opened for 8 threads"


@pytest.mark.postgres
def test_a_description_read_late_still_describes_its_own_result(app: Flask) -> None:
    """psycopg's cursor.description is built on first read (SQLAlchemy reads it after every
    statement and, once it knows a statement's columns, never uses it): it must still name the
    result it came from when read after the cursor ran another statement, and uncached and
    textual results must still get their column names."""
    engine = get_db(app).engine
    with engine.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        cursor.execute("SELECT 1 AS first_column, 'x'::text AS second_column")
        early = cursor.description
        cursor.execute("SELECT 2 AS other")
        assert [column.name for column in early] == ["first_column", "second_column"]
        assert len(early) == 2 and early[1].type_code == 25  # text
        assert [column.name for column in cursor.description] == ["other"]
        cursor.execute("CREATE TEMPORARY TABLE described (n int)")
        assert cursor.description is None
        cursor.execute("SELECT n FROM described")  # no rows, still a result with columns
        assert [column.name for column in cursor.description] == ["n"]
        cursor.close()
        assert list(connection.execute(text("SELECT 3 AS three, 4 AS four")).mappings()) == [{"three": 3, "four": 4}]


@pytest.mark.postgres
def test_a_statement_sqlalchemy_has_seen_builds_no_column_descriptions(app: Flask, monkeypatch) -> None:
    """The case file's statement has over a hundred columns: building psycopg's Column objects
    for a description nobody reads was a tenth of the page's CPU."""
    import psycopg

    built: list[int] = []
    original = psycopg.Column.__init__

    def counting(self, cursor, index) -> None:  # noqa: ANN001
        built.append(index)
        original(self, cursor, index)

    statement = select(Organisation.id, Organisation.name).where(Organisation.name == "nobody")
    with app.test_request_context():
        session.execute(statement).all()  # the first time, SQLAlchemy reads the columns
        monkeypatch.setattr(psycopg.Column, "__init__", counting)
        for _ in range(3):
            session.execute(statement).all()
    assert built == []
