"""Case references: ``CT-<year>-<6 digits>``, non-identifying and sequential per year."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from casework.cases.models import CaseReferenceCounter
from casework.db import session

PREFIX = "CT"


def format_reference(year: int, number: int) -> str:
    return f"{PREFIX}-{year}-{number:06d}"


def next_reference(year: int) -> str:
    """Allocate the next reference of ``year`` atomically (one UPDATE ... RETURNING), so two
    workers never hand out the same number."""
    number = session.execute(
        update(CaseReferenceCounter)
        .where(CaseReferenceCounter.year == year)
        .values(last_number=CaseReferenceCounter.last_number + 1)
        .returning(CaseReferenceCounter.last_number)
    ).scalar_one_or_none()
    if number is None:
        try:
            with session.begin_nested():
                session.execute(insert(CaseReferenceCounter).values(year=year, last_number=1))
            number = 1
        except IntegrityError:  # another worker created the year's counter first
            return next_reference(year)
    return format_reference(year, number)


def reserve_references(year: int, count: int) -> int:
    """Reserve ``count`` consecutive numbers for a bulk import; returns the first one."""
    current = session.execute(
        select(CaseReferenceCounter.last_number).where(CaseReferenceCounter.year == year)
    ).scalar_one_or_none()
    if current is None:
        session.execute(insert(CaseReferenceCounter).values(year=year, last_number=count))
        return 1
    session.execute(
        update(CaseReferenceCounter)
        .where(CaseReferenceCounter.year == year)
        .values(last_number=CaseReferenceCounter.last_number + count)
    )
    return current + 1
