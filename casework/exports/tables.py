"""The dimensions an aggregate table may be broken down by, and building its counts.

Each dimension maps a raw grouped database value to one category code (or several, for the
multi-valued exploitation type). Categories are written as codes, CTDC spellings where CTDC
has one (gender, ageBroad bands, ISO countries, ``-99`` for missing).

The counting unit follows from the dimensions: assistance dimensions count services (a case
with two services counts twice), the exploitation type counts case-type pairs (a case of both
forced labour and sexual exploitation counts under each), otherwise cases. Margins are the sums
of the cells, so what is published is additive and protected as such.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from casework import vocab
from casework.exports import ctdc, reader

MISSING = vocab.MISSING


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str
    label: LazyString
    categorise: Callable[[Any], tuple[str, ...]]
    fixed: tuple[str, ...] | None = None  # fixed categories in order; None: those in the data, sorted


def _text(value: Any) -> tuple[str, ...]:
    return (str(value) if value not in (None, "", -1) else MISSING,)


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
        Dimension("year", _l("Year of registration"), _text),
        Dimension("gender", _l("Gender"), _gender, (*(str(c.ctdc) for c in vocab.GENDERS), MISSING)),
        Dimension("age_band", _l("Age band at registration"), _age_band, (*ctdc.AGE_BANDS, MISSING)),
        Dimension("citizenship", _l("Citizenship"), _country),
        Dimension("country_of_exploitation", _l("Country of exploitation"), _country),
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


def build_counts(db: Session, dimensions: Sequence[str], today: date) -> tuple[tuple[tuple[str, ...], ...], np.ndarray]:
    """The inner counts (no margins) of consented cases by ``dimensions``, and the categories.

    Raises KeyError on an unknown dimension name.
    """
    specs = [DIMENSIONS[name] for name in dimensions]
    accumulated: dict[tuple[str, ...], int] = {}
    for values, count in reader.grouped_counts(db, dimensions, today):
        cells: list[tuple[str, ...]] = [()]
        for spec, value in zip(specs, values, strict=True):
            cells = [(*cell, category) for cell in cells for category in spec.categorise(value)]
        for cell in cells:
            accumulated[cell] = accumulated.get(cell, 0) + count
    categories = []
    for axis, spec in enumerate(specs):
        seen = {cell[axis] for cell in accumulated}
        if spec.fixed is not None:
            categories.append(tuple(spec.fixed))
        else:
            present = sorted(seen - {MISSING})
            categories.append((*present, MISSING) if MISSING in seen else tuple(present))
    index = [{code: i for i, code in enumerate(cats)} for cats in categories]
    counts = np.zeros(tuple(len(c) for c in categories), dtype=np.int64)
    for cell, count in accumulated.items():
        counts[tuple(index[axis][code] for axis, code in enumerate(cell))] += count
    return tuple(categories), counts
