"""The dimensions an aggregate table may be broken down by, and building its counts.

Each dimension maps a raw grouped database value to one category code (or several, for the
multi-valued exploitation type). Categories are written as codes, CTDC spellings where CTDC
has one (gender, ageBroad bands, ISO countries, ``-99`` for missing). Every dimension's list of
categories is fixed, never read from the data: a country or year appearing the first time
someone has it would show that person's arrival.

The counting unit follows from the dimensions: assistance dimensions count services (a case
with two services counts twice), the exploitation type counts case-type pairs (a case of both
forced labour and sexual exploitation counts under each), otherwise cases. Margins are the sums
of the cells, so what is published is additive and protected as such.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from casework import vocab
from casework.exports import ctdc, reader

MISSING = vocab.MISSING
#: Years of registration a table lists (then up to the current year); earlier years are -99.
FIRST_TABLE_YEAR = 2000


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str
    label: LazyString
    categorise: Callable[[Any], tuple[str, ...]]
    fixed: tuple[str, ...] | None = None  # the categories in order; None: years (categories_of)


def _year(value: Any) -> tuple[str, ...]:
    if value in (None, "", -1) or int(value) < FIRST_TABLE_YEAR:
        return (MISSING,)
    return (str(int(value)),)


def _gender(value: Any) -> tuple[str, ...]:
    return (str(vocab.GENDERS.get(value).ctdc) if value in vocab.GENDERS else MISSING,)


def _age_band(value: Any) -> tuple[str, ...]:
    return (vocab.age_band(None if value is None or value < 0 else int(value)),)


def _country(value: Any) -> tuple[str, ...]:
    return (value if value in vocab.COUNTRIES else MISSING,)


def _exploitation(value: Any) -> tuple[str, ...]:
    if value is None or value < 0:
        return (MISSING,)
    codes = vocab.EXPLOITATION_TYPES.codes_of(int(value)) or frozenset()
    return tuple(c.code for c in vocab.EXPLOITATION_TYPES if c.code in codes) or ("none",)


def _member(code_list: vocab.CodeList) -> Callable[[Any], tuple[str, ...]]:
    return lambda value: (value if value in code_list else MISSING,)


DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("year", _l("Year of registration"), _year),
        Dimension("gender", _l("Gender"), _gender, (*(str(c.ctdc) for c in vocab.GENDERS), MISSING)),
        Dimension("age_band", _l("Age band at registration"), _age_band, (*ctdc.AGE_BANDS, MISSING)),
        Dimension("citizenship", _l("Citizenship"), _country, (*(c.code for c in vocab.COUNTRIES), MISSING)),
        Dimension(
            "country_of_exploitation",
            _l("Country of exploitation"),
            _country,
            (*(c.code for c in vocab.COUNTRIES), MISSING),
        ),
        Dimension(
            "exploitation_type",
            _l("Exploitation type"),
            _exploitation,
            (*(c.code for c in vocab.EXPLOITATION_TYPES), "none", MISSING),
        ),
        Dimension(
            "assistance_kind",
            _l("Assistance kind"),
            _member(vocab.SERVICE_KINDS),
            (*(c.code for c in vocab.SERVICE_KINDS), MISSING),
        ),
        Dimension(
            "assistance_status",
            _l("Assistance status"),
            _member(vocab.SERVICE_STATUSES),
            (*(c.code for c in vocab.SERVICE_STATUSES), MISSING),
        ),
    )
}


def unit_of(dimensions: Sequence[str]) -> str:
    """What one count counts: "services", "case_exploitation_types" or "cases"."""
    if reader.SERVICE_DIMENSIONS & set(dimensions):
        return "services"
    if "exploitation_type" in dimensions:
        return "case_exploitation_types"
    return "cases"


def categories_of(name: str, today: date) -> tuple[str, ...]:
    """The fixed categories of a dimension (years: FIRST_TABLE_YEAR to ``today``'s year)."""
    spec = DIMENSIONS[name]
    if spec.fixed is not None:
        return spec.fixed
    return (*(str(y) for y in range(FIRST_TABLE_YEAR, today.year + 1)), MISSING)


def sensitivity(dimensions: Sequence[str]) -> int:
    """The most one person can change the table's counts by, in total (L1): one for a table of
    cases, one per exploitation type when counting by type. Raises ValueError for dimensions
    that count services (no bound per person)."""
    if reader.SERVICE_DIMENSIONS & set(dimensions):
        raise ValueError("service counts have no bound per person")
    if "exploitation_type" in dimensions:
        return len(vocab.EXPLOITATION_TYPES)
    return 1


def build_counts(
    db: Session,
    dimensions: Sequence[str],
    today: date,
    organisation_id: uuid.UUID | None = None,
    entered_before: datetime | None = None,
) -> tuple[tuple[tuple[str, ...], ...], np.ndarray]:
    """The inner counts (no margins) of the dataset's consented cases by ``dimensions``, and
    the (fixed) categories. Raises KeyError on an unknown dimension name."""
    specs = [DIMENSIONS[name] for name in dimensions]
    categories = tuple(categories_of(name, today) for name in dimensions)
    index = [{code: i for i, code in enumerate(cats)} for cats in categories]
    counts = np.zeros(tuple(len(c) for c in categories), dtype=np.int64)
    rows = reader.grouped_counts(db, dimensions, today, organisation_id=organisation_id, entered_before=entered_before)
    for values, count in rows:
        cells: list[tuple[str, ...]] = [()]
        for spec, value in zip(specs, values, strict=True):
            cells = [(*cell, category) for cell in cells for category in spec.categorise(value)]
        for cell in cells:
            position = tuple(index[axis].get(code, index[axis][MISSING]) for axis, code in enumerate(cell))
            counts[position] += count
    return categories, counts
