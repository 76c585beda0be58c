"""Bulk seeding of synthetic cases into the configured database.

Rows are built as dicts (``casework.demo.rows``, which encrypts exactly as the ORM does) and
inserted with one executemany per table and chunk, each chunk committed (no ORM unit of work).
On PostgreSQL that is ``session.execute(insert(table), rows)``. On SQLite the dicts are turned
into driver tuples through each column's own bind processor (what that Core insert does, minus
its per-row bookkeeping, a third of the insert cost), optionally in forked worker processes that
build and encrypt the next chunks while this process inserts.
"""

from __future__ import annotations

import multiprocessing
import resource
import time as clock
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np
from sqlalchemy import Dialect, LargeBinary, Table, func, insert, select

from casework import synthetic
from casework.audit import writer as audit
from casework.auth.models import User
from casework.cases.models import Case
from casework.cases.references import reserve_references
from casework.crypto import get_keyring
from casework.crypto.state import wrapping_key_id
from casework.db import session
from casework.demo.accounts import DemoOrganisations
from casework.demo.rows import ORDER, RowBuilder, T


class SeedError(RuntimeError):
    """Seeding cannot start (e.g. the lead agency has no caseworker)."""


@dataclass(frozen=True, slots=True)
class SeedResult:
    counts: dict[str, int]  # rows inserted, by table key of T
    seconds: float  # wall clock
    cpu_seconds: float  # this process
    worker_cpu_seconds: float  # worker processes (0 without workers)


def seed_cases(
    n: int,
    orgs: DemoOrganisations,
    params: synthetic.SyntheticParameters = synthetic.DEFAULT_PARAMETERS,
    chunk_size: int = 5000,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> SeedResult:
    """Generate ``n`` cases and insert them, owned by ``orgs.lead`` and assigned to its active
    caseworkers, committing per chunk. Raises SeedError when the lead agency has no caseworker.

    With ``workers`` > 1 on SQLite, forked worker processes build and encrypt the next chunks
    while this process inserts (encryption and row building cost about as much as the inserts).
    """
    started, cpu = clock.perf_counter(), clock.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    caseworkers = list(
        session.execute(
            select(User.id).where(User.organisation_id == orgs.lead.id, User.role == "caseworker", User.active)
        ).scalars()
    )
    if not caseworkers:
        raise SeedError(f"{orgs.lead.name} has no active caseworker to assign cases to")
    partner_user = session.execute(
        select(User.id).where(User.organisation_id == orgs.partner.id, User.role == "partner").limit(1)
    ).scalar_one_or_none()
    data = synthetic.generate(n, params)
    # References: one reservation per year, numbered in registration order.
    first_number = {}
    years, year_counts = np.unique(data.year, return_counts=True)
    for year, count in zip(years.tolist(), year_counts.tolist(), strict=True):
        first_number[year] = reserve_references(year, count)
    keyring = get_keyring()
    master_key_id = wrapping_key_id(session, keyring)
    session.commit()
    builder = RowBuilder(data, orgs, caseworkers, partner_user, keyring, master_key_id, first_number)
    dialect = session.connection().dialect
    bounds = [(start, min(start + chunk_size, n)) for start in range(0, n, chunk_size)]
    counts: Counter[str] = Counter()

    def store(batch: dict[str, Any], end: int) -> None:
        # Under the state's lock until this chunk commits: its data keys are under the active key.
        if wrapping_key_id(session, keyring) != master_key_id:
            raise SeedError("the active master key changed while seeding (`keys activate`): run the seed again")
        for key in ORDER:
            rows = batch[key]
            if rows:
                _execute(T[key], rows, dialect)
                counts[key] += len(rows[1]) if isinstance(rows, tuple) else len(rows)
        session.commit()
        if progress is not None:
            progress(end, n)

    if workers > 1 and dialect.name == "sqlite" and len(bounds) > 1:
        global _WORKER_STATE
        _WORKER_STATE = (builder, dialect)
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                # At most two chunks per worker in flight: memory stays bounded whatever N is.
                todo = iter(bounds)
                in_flight = deque((b, pool.apply_async(_build_for_sqlite, (b,))) for b in islice(todo, 2 * workers))
                while in_flight:
                    (_, end), result = in_flight.popleft()
                    batch = result.get()
                    following = next(todo, None)
                    if following is not None:
                        in_flight.append((following, pool.apply_async(_build_for_sqlite, (following,))))
                    store(batch, end)
        finally:
            _WORKER_STATE = None
    else:
        for start, end in bounds:
            store(builder.chunk(start, end), end)
    audit.record(
        "demo.seed",
        target_type="Organisation",
        target_id=str(orgs.lead.id),
        details={"cases": n, "seed": params.seed},
    )
    session.commit()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    return SeedResult(dict(counts), clock.perf_counter() - started, clock.process_time() - cpu, worker_cpu)


# -- inserting ----------------------------------------------------------------------------------
#: (table, keys) -> (INSERT statement, bind processor per key), for the driver-level path.
_STATEMENTS: dict[tuple[str, tuple[str, ...]], tuple[str, list[Callable[[Any], Any] | None]]] = {}
_WORKER_STATE: tuple[RowBuilder, Dialect] | None = None


def _sqlite_statement(table: Table, keys: tuple[str, ...], dialect: Dialect) -> tuple[str, list[Any]]:
    cached = _STATEMENTS.get((table.name, keys))
    if cached is None:
        quote = dialect.identifier_preparer.quote
        columns = ", ".join(quote(table.c[key].name) for key in keys)
        # Identifiers come from our own table metadata, never from input.
        sql = f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({', '.join('?' * len(keys))})"  # noqa: S608
        processors = [
            # bytes go to sqlite3 as they are (the LargeBinary processor only wraps them in a
            # memoryview, which cannot cross a process boundary)
            None if isinstance(table.c[key].type, LargeBinary) else table.c[key].type._cached_bind_processor(dialect)
            for key in keys
        ]
        cached = _STATEMENTS[(table.name, keys)] = (sql, processors)
    return cached


def _sqlite_parameters(table: Table, rows: list[dict[str, Any]], dialect: Dialect) -> tuple[str, list[tuple[Any, ...]]]:
    """The statement and driver-level parameter tuples: each value through its column's own
    bind processor, i.e. exactly what ``session.execute(insert(table), rows)`` sends, minus
    SQLAlchemy's per-row bookkeeping."""
    keys = tuple(rows[0])
    sql, processors = _sqlite_statement(table, keys, dialect)
    pairs = list(zip(keys, processors, strict=True))
    return sql, [tuple([row[k] if p is None else p(row[k]) for k, p in pairs]) for row in rows]


def _execute(table: Table, rows: list[dict[str, Any]] | tuple[str, list[tuple[Any, ...]]], dialect: Dialect) -> None:
    """Insert one table's rows of a chunk: prepared driver tuples, or dicts (Core insert)."""
    if isinstance(rows, tuple):
        session.connection().exec_driver_sql(rows[0], rows[1])
    elif dialect.name == "sqlite":
        session.connection().exec_driver_sql(*_sqlite_parameters(table, rows, dialect))
    else:
        session.execute(insert(table), rows)


def _build_for_sqlite(bounds: tuple[int, int]) -> dict[str, Any]:
    """In a worker process: build, encrypt and prepare one chunk for the driver."""
    if _WORKER_STATE is None:  # pragma: no cover - set before the pool forks
        raise RuntimeError("no seeding in progress")
    builder, dialect = _WORKER_STATE
    rows = builder.chunk(*bounds)
    return {key: _sqlite_parameters(T[key], rows[key], dialect) if rows[key] else [] for key in ORDER}


def case_count(org_id: uuid.UUID) -> int:
    return int(session.execute(select(func.count()).select_from(Case).where(Case.owner_org_id == org_id)).scalar_one())
