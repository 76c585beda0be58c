"""The CTDC research export: the one mapping table from our data to the 63 CTDC columns, and
the CSV writer.

Contract: ``shared/ctdc/README.md`` (CTDC Data Codebook v6 layout). Data flows in three forms:

1. *raw columns* (:data:`RAW_COLUMNS`): the coded database columns, read in chunks as numpy
   arrays (NULL → ``-1`` for numbers and bitmasks, ``""`` for codes);
2. *attribute codes*: one small-int column per released attribute (:data:`ATTRIBUTES`, 56 of
   them), ``0`` = ``-99``; this is what the anonymisation engine works on;
3. *CTDC text*: each of the 63 columns of :data:`COLUMNS`, either an attribute's label or a
   column derived from attributes (``majorityStatus``, ``isSexAndLabour``, the concatenated
   columns). Derived columns are computed *after* anonymisation from the released attributes,
   so they can never reveal a suppressed value.

No case id, no free text, no date finer than the year ever enters this module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

import numpy as np
import numpy.typing as npt

from casework import vocab
from casework.exports.anonymise import MISSING_CODE, Attribute, equivalence_classes

MISSING = vocab.MISSING  # "-99"
IntArray = npt.NDArray[np.int64]
RawColumns = Mapping[str, np.ndarray]

# Raw columns read from the database: name -> (table, column, kind). Kinds: "int" (NULL -> -1),
# "code" (text code, NULL -> ""), "mask" (CodeSet bitmask, NULL -> -1), "bool" (NULL -> -1).
RAW_COLUMNS: dict[str, tuple[str, str, str]] = {
    "year_of_registration": ("cases", "year_of_registration", "int"),
    "data_source": ("cases", "data_source", "code"),
    "gender": ("cases", "gender", "code"),
    "age_at_registration": ("cases", "age_at_registration", "int"),
    "citizenship": ("cases", "citizenship", "code"),
    "country_of_exploitation": ("cases", "country_of_exploitation", "code"),
    "age_at_exploitation_start": ("trafficking_profiles", "age_at_exploitation_start", "int"),
    "age_at_recruitment": ("trafficking_profiles", "age_at_recruitment", "int"),
    "means_of_control": ("trafficking_profiles", "means_of_control", "mask"),
    "exploitation_types": ("trafficking_profiles", "exploitation_types", "mask"),
    "labour_sectors": ("trafficking_profiles", "labour_sectors", "mask"),
    "sexual_exploitation_types": ("trafficking_profiles", "sexual_exploitation_types", "mask"),
    "recruiter_relationships": ("trafficking_profiles", "recruiter_relationships", "mask"),
    "abducted": ("trafficking_profiles", "abducted", "bool"),
}

# -- value codes -----------------------------------------------------------------------------------
YEAR_BASE = 1899  # year code = year - YEAR_BASE: 1..255 covers 1900..2154
FLAG_LABELS = (MISSING, "0", "1")  # flag codes: 0 = -99, 1 = "0", 2 = "1"
FLAG_NO, FLAG_YES = 1, 2
MAJORITY_LABELS = (MISSING, "Minor", "Adult")
AGE_BANDS = ("0--8", "9--17", "18--20", "21--23", "24--26", "27--29", "30--38", "39--47", "48+")
AGE_MINOR_ONLY = len(AGE_BANDS) + 1  # band generalised away, majority kept
AGE_ADULT_ONLY = len(AGE_BANDS) + 2
AGE_LABELS = (MISSING, *AGE_BANDS, MISSING, MISSING)
_AGE_UPPER = np.array([8, 17, 20, 23, 26, 29, 38, 47], dtype=np.int64)
# ageBroad generalises to majority only: bands 0--8 and 9--17 are minors.
AGE_HIERARCHY = ((0, *([AGE_MINOR_ONLY] * 2), *([AGE_ADULT_ONLY] * 7), AGE_MINOR_ONLY, AGE_ADULT_ONLY),)
COUNTRY_CODES = tuple(c.code for c in vocab.COUNTRIES)  # "00" first: unknown country
COUNTRY_LABELS = (MISSING, *COUNTRY_CODES)
GENDER_LABELS = (MISSING, *(str(c.ctdc) for c in vocab.GENDERS))
DATASOURCE_LABELS = (MISSING, *(str(c.ctdc) for c in vocab.DATA_SOURCES))


def _lookup(values: np.ndarray, codes: Sequence[str]) -> IntArray:
    """Text codes -> 1-based position in ``codes``; "" (NULL) or an unknown code -> 0 (-99)."""
    table = np.asarray(codes, dtype=str)
    order = np.argsort(table)
    sorted_table = table[order]
    text = np.asarray(values, dtype=str)
    position = np.clip(np.searchsorted(sorted_table, text), 0, len(table) - 1)
    found = sorted_table[position] == text
    return np.where(found, order[position] + 1, MISSING_CODE).astype(np.int64)


def _year(raw: RawColumns) -> IntArray:
    year = np.asarray(raw["year_of_registration"], dtype=np.int64)
    code = year - YEAR_BASE
    return np.where((code >= 1) & (code <= 255), code, MISSING_CODE)


def _age_band(age: IntArray) -> IntArray:
    """Age in years -> ageBroad code (1..9), -1 (NULL) -> 0; matches vocab.age_band."""
    age = np.asarray(age, dtype=np.int64)
    return np.where(age < 0, MISSING_CODE, np.searchsorted(_AGE_UPPER, age, side="left") + 1)


def _majority(age: IntArray) -> IntArray:
    age = np.asarray(age, dtype=np.int64)
    return np.where(age < 0, MISSING_CODE, np.where(age < 18, 1, 2))


def _bit(mask_column: str, *bits: int) -> Callable[[RawColumns], IntArray]:
    """A flag from a CodeSet bitmask: NULL -> -99, any of ``bits`` set -> 1, else 0."""
    combined = sum(1 << b for b in bits)

    def encode(raw: RawColumns) -> IntArray:
        mask = np.asarray(raw[mask_column], dtype=np.int64)
        return np.where(mask < 0, MISSING_CODE, np.where(mask & combined, FLAG_YES, FLAG_NO))

    return encode


def _abduction(raw: RawColumns) -> IntArray:
    value = np.asarray(raw["abducted"], dtype=np.int64)
    return np.where(value < 0, MISSING_CODE, np.where(value > 0, FLAG_YES, FLAG_NO))


# -- the mapping table -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CtdcColumn:
    """One of the 63 CTDC columns.

    A *released* column has ``labels`` (code -> CTDC text) and ``encode`` (raw columns ->
    codes) and is an anonymisation attribute. A *derived* column has ``derive`` (released
    attribute codes -> text) and names the attributes it is computed from in ``derived_from``.
    ``source`` says, for people, where the value comes from.
    """

    name: str
    source: str
    labels: tuple[str, ...] = ()
    encode: Callable[[RawColumns], IntArray] | None = None
    hierarchy: tuple[tuple[int, ...], ...] = ()
    derive: Callable[[Mapping[str, IntArray]], np.ndarray] | None = None
    derived_from: tuple[str, ...] = ()

    @property
    def is_released(self) -> bool:
        return self.encode is not None

    def attribute(self) -> Attribute:
        return Attribute(self.name, len(self.labels), self.hierarchy)


def _flag_columns(prefix: str, code_list: vocab.CodeList, mask_column: str) -> list[CtdcColumn]:
    return [
        CtdcColumn(
            f"{prefix}{code.ctdc}",
            f"trafficking_profiles.{mask_column} bit {i} ({code.code})",
            FLAG_LABELS,
            _bit(mask_column, i),
        )
        for i, code in enumerate(code_list)
    ]


def _concatenated(name: str, flags: Sequence[tuple[str, str]], source: str) -> CtdcColumn:
    """Labels of the flags that are 1, joined with ';' in column order; -99 when none is."""
    columns = tuple(column for column, _ in flags)
    labels = [label for _, label in flags]

    def derive(codes: Mapping[str, IntArray]) -> np.ndarray:
        pattern = np.zeros(len(codes[columns[0]]), dtype=np.int64)
        for i, column in enumerate(columns):
            pattern |= (codes[column] == FLAG_YES).astype(np.int64) << i
        distinct, inverse = np.unique(pattern, return_inverse=True)
        texts = [";".join(labels[i] for i in range(len(labels)) if p >> i & 1) or MISSING for p in distinct.tolist()]
        return np.asarray(texts, dtype=object)[inverse]

    return CtdcColumn(name, source, derive=derive, derived_from=columns)


def _majority_status(codes: Mapping[str, IntArray]) -> np.ndarray:
    age = codes["ageBroad"]
    minor = (age == 1) | (age == 2) | (age == AGE_MINOR_ONLY)
    text = np.where(age == MISSING_CODE, MISSING, np.where(minor, "Minor", "Adult"))
    return text.astype(object)


def _sex_and_labour(codes: Mapping[str, IntArray]) -> np.ndarray:
    labour, sex = codes["isForcedLabour"], codes["isSexualExploit"]
    # 1 only when both are 1; 0 when either is 0 (whatever the other); else unknown. So a
    # suppressed flag is never revealed through this column.
    text = np.where(
        (labour == FLAG_YES) & (sex == FLAG_YES),
        "1",
        np.where((labour == FLAG_NO) | (sex == FLAG_NO), "0", MISSING),
    )
    return text.astype(object)


def _build_columns() -> tuple[CtdcColumn, ...]:
    moc = _flag_columns("meansOfControl", vocab.MEANS_OF_CONTROL, "means_of_control")
    exploit_list = vocab.EXPLOITATION_TYPES
    other_bits = [
        exploit_list.index(c)
        for c in ("other_exploitation", "forced_marriage", "forced_military", "organ_removal", "slavery_and_practices")
    ]
    exploit = {
        code.ctdc: CtdcColumn(
            f"is{code.ctdc}",
            f"trafficking_profiles.exploitation_types bit {i} ({code.code})",
            FLAG_LABELS,
            _bit("exploitation_types", i),
        )
        for i, code in enumerate(exploit_list)
    }
    exploit["OtherExploit"] = CtdcColumn(
        "isOtherExploit",
        "trafficking_profiles.exploitation_types: other exploitation, forced marriage, forced military, "
        "organ removal or slavery",
        FLAG_LABELS,
        _bit("exploitation_types", *other_bits),
    )
    labour = _flag_columns("typeOfLabour", vocab.LABOUR_SECTORS, "labour_sectors")
    sex = _flag_columns("typeOfSex", vocab.SEXUAL_EXPLOITATION_TYPES, "sexual_exploitation_types")
    recruiter = _flag_columns("recruiterRelation", vocab.RECRUITER_RELATIONSHIPS, "recruiter_relationships")

    def labelled(columns: list[CtdcColumn], code_list: vocab.CodeList) -> list[tuple[str, str]]:
        return [(col.name, str(code.ctdc_label)) for col, code in zip(columns, code_list, strict=True)]

    exploit_labelled = [(exploit[c.ctdc].name, str(c.ctdc_label)) for c in exploit_list if c.ctdc_label]
    return (
        CtdcColumn(
            "yearOfRegistration",
            "cases.year_of_registration",
            ("-99", *(str(YEAR_BASE + c) for c in range(1, 256))),
            _year,
        ),
        CtdcColumn(
            "Datasource",
            "cases.data_source via vocab.DATA_SOURCES",
            DATASOURCE_LABELS,
            lambda raw: _lookup(raw["data_source"], [c.code for c in vocab.DATA_SOURCES]),
        ),
        CtdcColumn(
            "gender",
            "cases.gender via vocab.GENDERS",
            GENDER_LABELS,
            lambda raw: _lookup(raw["gender"], [c.code for c in vocab.GENDERS]),
        ),
        CtdcColumn(
            "ageBroad",
            "cases.age_at_registration (vocab.age_band)",
            AGE_LABELS,
            lambda raw: _age_band(raw["age_at_registration"]),
            AGE_HIERARCHY,
        ),
        CtdcColumn(
            "majorityStatus",
            "cases.age_at_registration (vocab.majority), via ageBroad",
            derive=_majority_status,
            derived_from=("ageBroad",),
        ),
        CtdcColumn(
            "majorityStatusAtExploit",
            "trafficking_profiles.age_at_exploitation_start",
            MAJORITY_LABELS,
            lambda raw: _majority(raw["age_at_exploitation_start"]),
        ),
        CtdcColumn(
            "majorityEntry",
            "trafficking_profiles.age_at_recruitment",
            MAJORITY_LABELS,
            lambda raw: _majority(raw["age_at_recruitment"]),
        ),
        CtdcColumn(
            "citizenship",
            "cases.citizenship (ISO alpha-2, 00 unknown)",
            COUNTRY_LABELS,
            lambda raw: _lookup(raw["citizenship"], COUNTRY_CODES),
        ),
        *moc,
        _concatenated("meansOfControlConcatenated", labelled(moc, vocab.MEANS_OF_CONTROL), "the meansOfControl flags"),
        exploit["ForcedLabour"],
        exploit["SexualExploit"],
        exploit["OtherExploit"],
        CtdcColumn(
            "isSexAndLabour",
            "isForcedLabour and isSexualExploit",
            derive=_sex_and_labour,
            derived_from=("isForcedLabour", "isSexualExploit"),
        ),
        exploit["ForcedMarriage"],
        exploit["ForcedMilitary"],
        exploit["OrganRemoval"],
        exploit["SlaveryAndPractices"],
        _concatenated("typeOfExploitConcatenated", exploit_labelled, "isForcedLabour, isSexualExploit, isOtherExploit"),
        *labour,
        _concatenated("typeOfLabourConcatenated", labelled(labour, vocab.LABOUR_SECTORS), "the typeOfLabour flags"),
        *sex,
        _concatenated("typeOfSexConcatenated", labelled(sex, vocab.SEXUAL_EXPLOITATION_TYPES), "the typeOfSex flags"),
        CtdcColumn("isAbduction", "trafficking_profiles.abducted", FLAG_LABELS, _abduction),
        _concatenated(
            "RecruiterRelationship", labelled(recruiter, vocab.RECRUITER_RELATIONSHIPS), "the recruiterRelation flags"
        ),
        CtdcColumn(
            "CountryOfExploitation",
            "cases.country_of_exploitation (ISO alpha-2, 00 unknown)",
            COUNTRY_LABELS,
            lambda raw: _lookup(raw["country_of_exploitation"], COUNTRY_CODES),
        ),
        *recruiter,
    )


#: THE mapping table: the 63 CTDC columns in file order.
COLUMNS: tuple[CtdcColumn, ...] = _build_columns()
HEADER: tuple[str, ...] = tuple(column.name for column in COLUMNS)
RELEASED: tuple[CtdcColumn, ...] = tuple(column for column in COLUMNS if column.is_released)
ATTRIBUTES: tuple[Attribute, ...] = tuple(column.attribute() for column in RELEASED)
ATTRIBUTE_NAMES: tuple[str, ...] = tuple(a.name for a in ATTRIBUTES)
_BY_NAME: dict[str, CtdcColumn] = {column.name: column for column in COLUMNS}

#: The contract's minimum quasi-identifiers (columns); the default is every released column.
CONTRACT_MINIMUM_QI: tuple[str, ...] = (
    "yearOfRegistration",
    "gender",
    "ageBroad",
    "majorityStatus",
    "majorityStatusAtExploit",
    "majorityEntry",
    "citizenship",
    "CountryOfExploitation",
    "isForcedLabour",
    "isSexualExploit",
    "isOtherExploit",
    "isSexAndLabour",
    "isForcedMarriage",
    "isForcedMilitary",
    "isOrganRemoval",
    "isSlaveryAndPractices",
    "typeOfExploitConcatenated",
)


def code_dtype() -> np.dtype:
    """The smallest unsigned dtype holding every attribute code."""
    return np.dtype(np.uint8 if max(a.cardinality for a in ATTRIBUTES) <= 256 else np.uint16)


def attributes_for(columns: Iterable[str]) -> tuple[str, ...]:
    """The released attributes behind CTDC ``columns`` (a derived column brings its sources).

    Grouping on these is at least as strict as grouping on the columns themselves, since every
    column is a function of them. Raises ValueError on a name that is not a CTDC column.
    """
    wanted: set[str] = set()
    for name in columns:
        column = _BY_NAME.get(name)
        if column is None:
            raise ValueError(f"not a CTDC column: {name!r}")
        wanted.update(column.derived_from if column.derive else (name,))
    return tuple(name for name in ATTRIBUTE_NAMES if name in wanted)


def encode(raw: RawColumns) -> np.ndarray:
    """Raw database columns (one chunk) -> attribute codes, shape (rows, 56), column-major."""
    rows = len(raw["year_of_registration"])
    out = np.empty((rows, len(RELEASED)), dtype=code_dtype(), order="F")
    for j, column in enumerate(RELEASED):
        assert column.encode is not None  # noqa: S101 - RELEASED holds encodable columns only
        out[:, j] = column.encode(raw)
    return out


def _labels(column: CtdcColumn, cardinality: int) -> np.ndarray:
    """Code -> CTDC text for every code up to ``cardinality`` (codes past the contract's, such
    as a sub-region in the extended file, are -99 in the contract's column)."""
    labels = list(column.labels) + [MISSING] * max(0, cardinality - len(column.labels))
    return np.asarray(labels, dtype=object)


def decode(codes: np.ndarray, released: Iterable[str] | None = None) -> list[np.ndarray]:
    """Attribute codes (one column per attribute, in ATTRIBUTE_NAMES order) -> the 63 CTDC text
    columns (object arrays), in file order.

    ``released`` names the attributes the release holds (default: all). Every other attribute
    column is -99 whole, and so is a derived column unless every attribute it is computed from
    is released (a partial concatenation would misstate the person's data).
    """
    names = set(ATTRIBUTE_NAMES) if released is None else set(released)
    width = int(codes.max(initial=0)) + 1 if codes.size else 1
    by_attribute = {
        name: (codes[:, j].astype(np.int64) if name in names else np.zeros(codes.shape[0], dtype=np.int64))
        for j, name in enumerate(ATTRIBUTE_NAMES)
    }
    columns = []
    for column in COLUMNS:
        if column.derive is not None:
            if set(column.derived_from) <= names:
                columns.append(column.derive(by_attribute))
            else:
                columns.append(np.full(codes.shape[0], MISSING, dtype=object))
        else:
            columns.append(_labels(column, width)[by_attribute[column.name]])
    return columns


# -- the CSV writer --------------------------------------------------------------------------------
def header_line(extra: Sequence[str] = ()) -> str:
    return ",".join((*HEADER, *extra)) + "\n"


Decoder = Callable[[np.ndarray], list[np.ndarray]]


def csv_chunks(
    codes: np.ndarray,
    chunk_rows: int = 50_000,
    *,
    decoder: Decoder = decode,
    extra: Sequence[str] = (),
    cardinalities: Sequence[int] | None = None,
) -> Iterator[tuple[str, int]]:
    """The CSV text for ``codes`` as (text, data rows in it) chunks, header first, rows in order.

    ``decoder`` turns codes into the text columns (default: the 63 contract columns; a view or
    the extended file passes its own, whose added columns are named in ``extra``). A
    k-anonymous release has few distinct rows, so each distinct row is formatted once (with the
    csv module: some labels hold commas) and the file is assembled from them.
    """
    yield header_line(extra), 0
    if codes.shape[0] == 0:
        return
    cards = cardinalities if cardinalities is not None else [a.cardinality for a in ATTRIBUTES]
    row_class, _ = equivalence_classes(codes, cards)
    first = np.unique(row_class, return_index=True)[1]
    texts = decoder(codes[first])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    lines = []
    for values in zip(*texts, strict=True):
        writer.writerow(values)
        lines.append(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()
    line_of_class = np.asarray(lines, dtype=object)
    for start in range(0, codes.shape[0], chunk_rows):
        chunk = row_class[start : start + chunk_rows]
        yield "".join(line_of_class[chunk]), int(chunk.size)


def write_csv(out: TextIO, codes: np.ndarray, progress: Callable[[int, int], None] | None = None) -> int:
    """Write the CTDC CSV for ``codes`` to ``out`` (a text stream opened with ``newline=""``);
    returns the number of data rows. ``progress(rows_written, total)`` is called per chunk."""
    total = int(codes.shape[0])
    written = 0
    for text, rows in csv_chunks(codes):
        out.write(text)
        written += rows
        if progress is not None and rows:
            progress(written, total)
    return written
