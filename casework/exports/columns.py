"""Column views of the CTDC microdata, and the extended file.

A *view* is the set of CTDC columns a researcher asks for. Only the attributes behind them
are released, anonymised and counted for k; every other column is ``-99`` whole, and a derived
column is released only when every attribute it is computed from is. The file keeps the 63
contract columns, byte-compatible with the contract, whatever the view.

The *extended* file adds columns after the 63 for the generalisations the contract's codes
cannot hold: a country's UN M49 sub-region and a 5-year period of registration. There the
engine may keep a value at that coarser level instead of suppressing it; the contract's
column then reads ``-99`` and the added column the coarser value (and, where the exact value
is kept, its sub-region or period, so the added column is complete wherever anything is known).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from casework import vocab
from casework.exports import ctdc
from casework.exports.anonymise import MISSING_CODE, Attribute

MISSING = vocab.MISSING

#: The "CTDC core" view: year, gender, age band, citizenship, country of exploitation, the
#: exploitation types and the data source (derived columns of these come along).
CORE_COLUMNS: tuple[str, ...] = (
    "yearOfRegistration",
    "Datasource",
    "gender",
    "ageBroad",
    "citizenship",
    "CountryOfExploitation",
    "isForcedLabour",
    "isSexualExploit",
    "isOtherExploit",
    "isForcedMarriage",
    "isForcedMilitary",
    "isOrganRemoval",
    "isSlaveryAndPractices",
)
VIEWS: dict[str, tuple[str, ...]] = {"core": CORE_COLUMNS, "all": ctdc.HEADER}
VIEW_LABELS: dict[str, LazyString] = {
    "core": _l(
        "CTDC core: year, gender, age band, citizenship, country of exploitation, exploitation types, data source"
    ),
    "all": _l("All 63 columns"),
    "custom": _l("The columns I choose"),
}

# -- the extended file's codes ------------------------------------------------------------------------
PERIOD_YEARS = 5
_COUNTRY_CARD = len(ctdc.COUNTRY_LABELS)  # -99, 00, then the countries
_SUBREGIONS = tuple(vocab.M49_SUBREGIONS)
_YEAR_CARD = 256  # -99, then 1900..2154 (ctdc.YEAR_BASE + code)
_PERIODS = tuple(range(1900, 1900 + 255, PERIOD_YEARS))


def _country_hierarchy() -> tuple[int, ...]:
    """Country code -> its sub-region's code (codes after the countries); "00" stays itself."""
    start = _COUNTRY_CARD
    index = {code.code: start + i for i, code in enumerate(_SUBREGIONS)}
    table = [MISSING_CODE, 1]  # -99, 00
    for code in ctdc.COUNTRY_CODES[1:]:
        table.append(index[vocab.m49_subregion(code) or ""])
    table.extend(range(start, start + len(_SUBREGIONS)))
    return tuple(table)


def _year_hierarchy() -> tuple[int, ...]:
    table = [MISSING_CODE]
    for code in range(1, _YEAR_CARD):
        year = ctdc.YEAR_BASE + code
        table.append(_YEAR_CARD + (year - _PERIODS[0]) // PERIOD_YEARS)
    table.extend(range(_YEAR_CARD, _YEAR_CARD + len(_PERIODS)))
    return tuple(table)


_COUNTRY_LEVEL = _country_hierarchy()
_YEAR_LEVEL = _year_hierarchy()
_SUBREGION_TEXT = (
    MISSING,
    vocab.UNKNOWN_COUNTRY,
    *(MISSING for _ in ctdc.COUNTRY_CODES[1:]),
    *(str(code.ctdc) for code in _SUBREGIONS),
)
_PERIOD_TEXT = (MISSING, *(MISSING for _ in range(1, _YEAR_CARD)), *(f"{p}--{p + PERIOD_YEARS - 1}" for p in _PERIODS))


@dataclass(frozen=True, slots=True)
class AddedColumn:
    """A column of the extended file: the coarser level of a contract attribute."""

    name: str
    source: str
    level: tuple[int, ...]  # code -> coarse code
    text: tuple[str, ...]  # coarse code -> text


ADDED_COLUMNS: tuple[AddedColumn, ...] = (
    AddedColumn("yearOfRegistrationPeriod", "yearOfRegistration", _YEAR_LEVEL, _PERIOD_TEXT),
    AddedColumn("citizenshipSubregion", "citizenship", _COUNTRY_LEVEL, _SUBREGION_TEXT),
    AddedColumn("CountryOfExploitationSubregion", "CountryOfExploitation", _COUNTRY_LEVEL, _SUBREGION_TEXT),
)
EXTENDED_HEADER: tuple[str, ...] = tuple(column.name for column in ADDED_COLUMNS)
_ADDED_BY_SOURCE = {column.source: column for column in ADDED_COLUMNS}


def attributes(extended: bool) -> tuple[Attribute, ...]:
    """The 56 attributes: the contract's, or with the extended file's hierarchies."""
    if not extended:
        return ctdc.ATTRIBUTES
    out = []
    for attribute in ctdc.ATTRIBUTES:
        added = _ADDED_BY_SOURCE.get(attribute.name)
        out.append(attribute if added is None else Attribute(attribute.name, len(added.level), (added.level,)))
    return tuple(out)


def code_dtype(extended: bool) -> np.dtype:
    return np.dtype(np.uint16) if extended else ctdc.code_dtype()


# -- views -------------------------------------------------------------------------------------------
class UnknownColumns(ValueError):
    """Names that are not CTDC columns; ``columns`` lists them."""

    def __init__(self, columns: Sequence[str]) -> None:
        super().__init__(", ".join(columns))
        self.columns = tuple(columns)


def resolve(view: str, columns: Iterable[str] = ()) -> tuple[str, ...]:
    """The attributes released by a view ("core", "all", or "custom" with ``columns``), in
    ATTRIBUTE_NAMES order. Raises UnknownColumns on a name that is not a CTDC column, and
    ValueError on an unknown view or an empty choice."""
    if view == "custom":
        chosen = list(dict.fromkeys(columns))
        unknown = [name for name in chosen if name not in ctdc.HEADER]
        if unknown:
            raise UnknownColumns(unknown)
    elif view in VIEWS:
        chosen = list(VIEWS[view])
    else:
        raise ValueError(f"unknown view {view!r}")
    released = ctdc.attributes_for(chosen)
    if not released:
        raise ValueError("a view releases at least one column")
    return released


def released_columns(released: Iterable[str], extended: bool) -> tuple[str, ...]:
    """Every file column that is not -99 whole for these attributes (derived ones included)."""
    names = set(released)
    out = [
        column.name
        for column in ctdc.COLUMNS
        if (column.name in names if column.derive is None else set(column.derived_from) <= names)
    ]
    if extended:
        out += [column.name for column in ADDED_COLUMNS if column.source in names]
    return tuple(out)


def decoder(released: Sequence[str], extended: bool) -> ctdc.Decoder:
    """Codes of the released attributes (columns in ``released`` order) -> the file's text
    columns: the 63 contract columns, then the extended file's added columns."""
    positions = [ctdc.ATTRIBUTE_NAMES.index(name) for name in released]

    def decode(codes: np.ndarray) -> list[np.ndarray]:
        full = np.zeros((codes.shape[0], len(ctdc.ATTRIBUTE_NAMES)), dtype=codes.dtype)
        full[:, positions] = codes
        texts = ctdc.decode(full, released)
        if extended:
            for added in ADDED_COLUMNS:
                if added.source in released:
                    values = codes[:, list(released).index(added.source)].astype(np.int64)
                    coarse = np.asarray(added.level, dtype=np.int64)[values]
                    texts.append(np.asarray(added.text, dtype=object)[coarse])
                else:
                    texts.append(np.full(codes.shape[0], MISSING, dtype=object))
        return texts

    return decode


def csv_chunks(codes: np.ndarray, released: Sequence[str], extended: bool) -> Iterator[tuple[str, int]]:
    """The file of a release: ``codes`` holds the released attributes' columns, in order."""
    all_attributes = {a.name: a for a in attributes(extended)}
    return ctdc.csv_chunks(
        codes,
        decoder=decoder(released, extended),
        extra=EXTENDED_HEADER if extended else (),
        cardinalities=[all_attributes[name].cardinality for name in released],
    )
