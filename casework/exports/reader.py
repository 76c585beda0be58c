"""Reading what exports need from the database: plain Core selects of coded columns, streamed.

Only cases of one organisation (the dataset) with ACTIVE anonymised-research consent today
(expired, withdrawn or superseded consent = none) that are not erased are ever read; tables
only those that entered the dataset (created, and consented) before a cut-off. Rows arrive
in chunks (``yield_per``: a server-side cursor on PostgreSQL, ``fetchmany`` on SQLite) and
become numpy arrays at once, so memory stays proportional to the chunk, never to ORM objects.
No identifying or free-text column is selected.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from casework.access import active_consent_condition
from casework.exports import ctdc

CHUNK_ROWS = 50_000
Progress = Callable[[str, int, int], None]


def _tables() -> dict[str, Any]:
    from casework.cases.models import Case, TraffickingProfile

    return {"cases": Case.__table__, "trafficking_profiles": TraffickingProfile.__table__}


def consented_condition(
    today: date, organisation_id: uuid.UUID | None = None, entered_before: datetime | None = None
) -> ColumnElement[bool]:
    """SQL over cases: not erased, with active anonymised-research consent on ``today``, owned
    by ``organisation_id`` (None: every organisation, for checks), and, with
    ``entered_before``, created and consented before that moment."""
    from casework.cases.models import Case
    from casework.consent.models import Consent

    consent_conditions = [Consent.case_id == Case.id, active_consent_condition("anonymised_research", today)]
    conditions = [Case.erased_at.is_(None)]
    if organisation_id is not None:
        conditions.append(Case.owner_org_id == organisation_id)
    if entered_before is not None:
        conditions.append(Case.created_at < entered_before)
        consent_conditions.append(Consent.recorded_at < entered_before)
    return and_(*conditions, exists().where(*consent_conditions))


def _raw_column(name: str) -> ColumnElement[Any]:
    """One raw column as a plain value: NULL -> -1 (numbers, bitmasks, booleans) or ""."""
    table_name, column_name, kind = ctdc.RAW_COLUMNS[name]
    column = _tables()[table_name].c[column_name]
    if kind == "code":
        return func.coalesce(column, literal("")).label(name)
    if kind == "bool":
        return case((column.is_(None), -1), (column, 1), else_=0).label(name)
    # CodeSet columns would decode bitmasks to sets: read the stored integer instead.
    value = type_coerce(column, BigInteger()) if kind == "mask" else column
    return func.coalesce(value, -1).label(name)


def ctdc_select(today: date, organisation_id: uuid.UUID | None = None) -> Select[Any]:
    """The consented cases' raw CTDC columns (cases left-joined to their trafficking profile)."""
    tables = _tables()
    cases, profiles = tables["cases"], tables["trafficking_profiles"]
    return (
        select(*(_raw_column(name) for name in ctdc.RAW_COLUMNS))
        .select_from(cases.outerjoin(profiles, profiles.c.case_id == cases.c.id))
        .where(consented_condition(today, organisation_id))
    )


def count_consented(db: Session, today: date, organisation_id: uuid.UUID | None = None) -> int:
    from casework.cases.models import Case

    condition = consented_condition(today, organisation_id)
    return int(db.execute(select(func.count()).select_from(Case).where(condition)).scalar_one())


def stream_raw(
    db: Session,
    today: date,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
    organisation_id: uuid.UUID | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """The consented cases' raw columns, chunk by chunk, as numpy arrays."""
    names = list(ctdc.RAW_COLUMNS)
    kinds = [ctdc.RAW_COLUMNS[name][2] for name in names]
    total = count_consented(db, today, organisation_id) if progress is not None else 0
    done = 0
    result = db.execute(ctdc_select(today, organisation_id).execution_options(yield_per=chunk_rows))
    for partition in result.partitions():
        columns = list(zip(*partition, strict=True))
        chunk: dict[str, np.ndarray] = {}
        for name, kind, values in zip(names, kinds, columns, strict=True):
            if kind == "code":
                chunk[name] = np.asarray(values, dtype=str)
            else:
                chunk[name] = np.fromiter(values, dtype=np.int64, count=len(values))
        done += len(partition)
        if progress is not None:
            progress("read", done, total)
        yield chunk


def read_ctdc_codes(
    db: Session,
    today: date,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
    organisation_id: uuid.UUID | None = None,
) -> np.ndarray:
    """Every consented case (of the organisation) as CTDC attribute codes: shape (cases,
    attributes), column-major."""
    parts = [ctdc.encode(chunk) for chunk in stream_raw(db, today, chunk_rows, progress, organisation_id)]
    width = len(ctdc.ATTRIBUTES)
    if not parts:
        return np.zeros((0, width), dtype=ctdc.code_dtype(), order="F")
    rows = sum(part.shape[0] for part in parts)
    out = np.empty((rows, width), dtype=ctdc.code_dtype(), order="F")
    start = 0
    while parts:  # release each chunk as soon as it is copied
        part = parts.pop(0)
        out[start : start + part.shape[0]] = part
        start += part.shape[0]
    return out


# -- aggregates ------------------------------------------------------------------------------------
def _dimension_columns() -> dict[str, ColumnElement[Any]]:
    """Per dimension, the raw column grouped on (mapped to categories in Python)."""
    from casework.assistance.models import Service

    tables = _tables()
    cases, profiles = tables["cases"], tables["trafficking_profiles"]
    return {
        "year": cases.c.year_of_registration,
        "gender": func.coalesce(cases.c.gender, literal("")),
        "age_band": func.coalesce(cases.c.age_at_registration, literal(-1, Integer)),
        "citizenship": func.coalesce(cases.c.citizenship, literal("")),
        "country_of_exploitation": func.coalesce(cases.c.country_of_exploitation, literal("")),
        "exploitation_type": func.coalesce(type_coerce(profiles.c.exploitation_types, BigInteger()), -1),
        "assistance_kind": Service.__table__.c.kind,
        "assistance_status": Service.__table__.c.status,
    }


SERVICE_DIMENSIONS = frozenset({"assistance_kind", "assistance_status"})


def grouped_counts(
    db: Session,
    dimensions: Sequence[str],
    today: date,
    chunk_rows: int = CHUNK_ROWS,
    organisation_id: uuid.UUID | None = None,
    entered_before: datetime | None = None,
) -> Iterator[tuple[tuple[Any, ...], int]]:
    """``GROUP BY`` the raw columns of ``dimensions`` over consented cases (or their services,
    when a dimension is about assistance): yields (raw values, count), streamed."""
    from casework.assistance.models import Service

    columns = _dimension_columns()
    tables = _tables()
    cases, profiles = tables["cases"], tables["trafficking_profiles"]
    chosen = [columns[name].label(f"d{i}") for i, name in enumerate(dimensions)]
    source = cases
    if "exploitation_type" in dimensions:
        source = source.outerjoin(profiles, profiles.c.case_id == cases.c.id)
    if SERVICE_DIMENSIONS & set(dimensions):
        services = Service.__table__
        source = source.join(services, services.c.case_id == cases.c.id)
    stmt = (
        select(*chosen, func.count().label("n"))
        .select_from(source)
        .where(consented_condition(today, organisation_id, entered_before))
        .group_by(*chosen)
    )
    for partition in db.execute(stmt.execution_options(yield_per=chunk_rows)).partitions():
        for row in partition:
            yield tuple(row[:-1]), int(row[-1])
