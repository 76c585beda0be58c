"""k-anonymity by generalisation and local suppression, on integer-coded columns.

A pure module: numpy in, numpy out; no database, no Flask. Every column it is given counts:
there is no way to release a column without counting it (a view releases fewer columns
instead). Semantics (what the independent checkers in the tests verify): an equivalence class
is the set of rows sharing the exact same released values, a missing (``0``) cell being just
another value; the output is k-anonymous when every class has at least ``k`` rows.

The engine is a top-down local recoding (building blocks in :mod:`casework.exports.recode`). It
keeps the rows partitioned into classes of at least ``k`` rows over the attributes added so
far, and adds them in four phases:

1. the caller's ``priority`` attributes, in order, each at its coarsest level and then refined;
2. the other attributes but the most fragmenting few, at their coarsest level, each time the
   one that splits the current classes least (conditional entropy; chosen on a sample above
   ORDER_SAMPLE rows);
3. the most fragmenting few (:mod:`casework.exports.compete`): each class gets the order of
   them that keeps the worst-kept one best;
4. the remaining refinements (e.g. age band within minor/adult).

"Coarsest level" is where an attribute's hierarchy ends (age band: minor/adult; country: UN
M49 sub-region; year: period); an attribute without one is taken as it is. Refining replaces
the coarse value by the finer one wherever ``k`` rows share it, so values are kept exact where
they can be, coarse where not, and missing only where even the coarse value would single
someone out.

Rows are never dropped unless the caller allows it and there are fewer than ``k`` rows in all
(then nothing can be released). The release is re-grouped from scratch and refused
(RuntimeError) if any class were smaller than ``k``. Finally its rows are put in a secret
random order (from the operating system, whatever ``seed`` says): ``seed`` only makes the
engine's own choices reproducible, never the order of a release.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from casework.exports import compete
from casework.exports.recode import (
    MISSING_CODE,
    Attribute,
    Codes,
    IntArray,
    coarse_step,
    densify,
    entropy_order,
    equivalence_classes,
    least_fragmenting,
    level_tables,
    refine_step,
    take_rows,
)

__all__ = [
    "MISSING_CODE",
    "AnonymisationReport",
    "AnonymisationResult",
    "Attribute",
    "NotEnoughRows",
    "anonymise",
    "equivalence_classes",
    "naive_suppression",
]

MIN_K = 2  # the engine's own limit; releases use the policy's floor (casework.exports.policy)
DEFAULT_K = 11
# Each step of phase 2 picks, among this many next attributes by overall entropy, the one that
# fragments the current classes least: near the quality of trying all, much faster.
SHORTLIST = 8
# Above this many rows the phase-2 order is chosen on a random sample of this many rows.
ORDER_SAMPLE = 100_000
OBJECTIVES = ("exact", "coarse")


class NotEnoughRows(ValueError):
    """Fewer rows than ``k``: no release can be k-anonymous without dropping every row."""


@dataclass(slots=True)
class AnonymisationReport:
    """What anonymisation cost, per column: values known before, set to missing, generalised."""

    method: str
    k: int
    rows_in: int
    rows_out: int
    rows_dropped: int
    known: dict[str, int]
    cells_suppressed: dict[str, int]
    cells_generalised: dict[str, int]
    smallest_class: int  # 0 when no row is released
    classes: int
    seconds: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.known)

    @property
    def total_suppressed(self) -> int:
        return sum(self.cells_suppressed.values())

    @property
    def total_generalised(self) -> int:
        return sum(self.cells_generalised.values())

    @property
    def total_known(self) -> int:
        return sum(self.known.values())

    def loss(self) -> float:
        """Share of the known values (missing before anonymisation excluded) that are not
        released as they were: set to missing or generalised."""
        total = self.total_known
        return (self.total_suppressed + self.total_generalised) / total if total else 0.0

    def suppressed_share(self) -> float:
        """Share of the known values set to missing."""
        total = self.total_known
        return self.total_suppressed / total if total else 0.0

    def per_column(self) -> dict[str, dict[str, float]]:
        """Per column: known values, lost (not released as they were), of which generalised,
        and the shares kept exact and kept at least generalised."""
        out: dict[str, dict[str, float]] = {}
        for name, known in self.known.items():
            suppressed = self.cells_suppressed[name]
            generalised = self.cells_generalised[name]
            out[name] = {
                "known": known,
                "lost": suppressed + generalised,
                "suppressed": suppressed,
                "generalised": generalised,
                "kept_share": (known - suppressed - generalised) / known if known else 1.0,
                "kept_some_share": (known - suppressed) / known if known else 1.0,
            }
        return out

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "k": self.k,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "rows_dropped": self.rows_dropped,
            "known": dict(self.known),
            "cells_suppressed": dict(self.cells_suppressed),
            "cells_generalised": dict(self.cells_generalised),
            "total_known": self.total_known,
            "total_suppressed": self.total_suppressed,
            "total_generalised": self.total_generalised,
            "smallest_class": self.smallest_class,
            "classes": self.classes,
            "seconds": round(self.seconds, 3),
        }


@dataclass(slots=True)
class AnonymisationResult:
    """The released codes (rows in a secret order), the class of each released row, the input
    row each released row came from (for checks; never released), and the report."""

    codes: Codes
    class_ids: IntArray
    report: AnonymisationReport
    source_rows: IntArray


# -- the engine ------------------------------------------------------------------------------------
def _check_inputs(codes: Codes, attributes: Sequence[Attribute], k: int) -> None:
    if k < MIN_K:
        raise ValueError(f"k must be at least {MIN_K}")
    if codes.ndim != 2 or codes.shape[1] != len(attributes):
        raise ValueError("codes must be a 2-D array with one column per attribute")
    if codes.size and (codes.min() < 0 or np.any(codes.max(axis=0) >= [a.cardinality for a in attributes])):
        raise ValueError("a code is outside its attribute's cardinality")


def secret_order(n: int) -> IntArray:
    """A random permutation of ``n`` rows from the operating system's randomness: never
    reproducible from anything released or stored."""
    return np.random.default_rng(secrets.randbits(128)).permutation(n)


def anonymise(
    codes: Codes,
    attributes: Sequence[Attribute],
    k: int = DEFAULT_K,
    *,
    allow_drop: bool = False,
    seed: int | None = None,
    priority: Sequence[str] = (),
    objective: str = "exact",
) -> AnonymisationResult:
    """Make ``codes`` k-anonymous over every one of its columns.

    ``codes`` is ``(rows, attributes)`` of small non-negative ints and is not modified.
    ``objective`` says what the competing attributes are balanced on: "exact" values kept, or
    "coarse" (kept at least generalised, then exact). Returns the released codes in a secret
    order, the class of each released row and the report. Raises ValueError on bad input,
    :class:`NotEnoughRows` when there are fewer than ``k`` rows and ``allow_drop`` is false
    (with it, no row is released).
    """
    started = time.perf_counter()
    _check_inputs(codes, attributes, k)
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}")
    names = [a.name for a in attributes]
    unknown = sorted(set(priority) - set(names))
    if unknown:
        raise ValueError(f"priority names that are not attributes: {unknown}")
    n = codes.shape[0]
    rng = np.random.default_rng(seed)
    if 0 < n < k:
        if not allow_drop:
            raise NotEnoughRows(f"{n} rows cannot be {k}-anonymous")
        return _empty_result("engine", codes, k, attributes, started)

    # The engine works in a random order of its own: which rows give up a value to fill a
    # group is then a random choice. Column-major: it works column by column.
    internal = rng.permutation(n)
    original = take_rows(codes, internal)
    work = original.copy(order="F")
    levels = [level_tables(a) for a in attributes]
    for j, tables in enumerate(levels):
        if len(tables) > 1:
            work[:, j] = tables[-1][work[:, j]]

    all_columns = list(range(len(attributes)))
    first = [names.index(name) for name in dict.fromkeys(priority)]
    rest = [j for j in entropy_order(original, all_columns) if j not in first]
    # The most fragmenting few (highest entropy last in ``rest``) compete in phase 3.
    many_values = [j for j in rest if np.count_nonzero(np.bincount(original[:, j].astype(np.int64))[1:]) > 2]
    competitors = many_values[-compete.MAX_COMPETITORS :] if len(many_values) > 1 else []
    settle = [j for j in rest if j not in competitors]

    dense, back = densify(work, [j for j in settle if len(levels[j]) == 1], attributes)
    class_ids = np.zeros(n, dtype=np.int64)
    n_classes = 1 if n else 0
    refined: set[int] = set()
    # Phase 1: priority attributes, each coarse then refined at once.
    for j in first:
        class_ids, n_classes = _add(work, original, j, levels, class_ids, n_classes, dense, k)
        class_ids, n_classes = _refine(work, original, j, levels, class_ids, n_classes, attributes, k)
        refined.add(j)
    # Phase 2: the others but the competitors, least fragmenting first.
    for j in _settle_order(work, settle, class_ids, n_classes, dense, k, rng):
        class_ids, n_classes = _add(work, original, j, levels, class_ids, n_classes, dense, k)
    # Phase 3: the competitors, an order per class; when the classes are already small, an order
    # per class buys nothing (each keeps little whatever the order): least fragmenting first.
    if competitors and n and n >= compete.MIN_MEAN_CLASS * k * n_classes:
        class_ids, n_classes = compete.apply(
            work, original, competitors, levels, class_ids, n_classes, attributes, k, objective, rng
        )
        refined.update(competitors)
    else:
        for j in _settle_order(work, competitors, class_ids, n_classes, dense, k, rng):
            class_ids, n_classes = _add(work, original, j, levels, class_ids, n_classes, dense, k)
        settle = settle + competitors
    # Phase 4: what is left to refine, least fragmenting first.
    for j in settle:
        if len(levels[j]) > 1 and j not in refined:
            class_ids, n_classes = _refine(work, original, j, levels, class_ids, n_classes, attributes, k)
    for j, table in back.items():
        work[:, j] = table[work[:, j]]

    # Belt and braces: regroup the release from scratch; never hand out a violation.
    regrouped, sizes = equivalence_classes(work, [a.cardinality for a in attributes])
    if n and sizes.size and sizes.min() < k:
        raise RuntimeError("anonymisation failed its own check: a class is smaller than k")
    report = _report("engine", k, original, work, attributes, 0, sizes, started)
    shuffle = secret_order(n)
    return AnonymisationResult(take_rows(work, shuffle), regrouped[shuffle], report, internal[shuffle])


def _add(
    work: Codes,
    original: Codes,
    j: int,
    levels: Sequence[Sequence[IntArray]],
    class_ids: IntArray,
    n_classes: int,
    attributes: Sequence[Attribute],
    k: int,
) -> tuple[IntArray, int]:
    values = work[:, j].astype(np.int64)
    class_ids, n_classes = coarse_step(values, class_ids, n_classes, attributes[j], k)
    work[:, j] = values
    return class_ids, n_classes


def _refine(
    work: Codes,
    original: Codes,
    j: int,
    levels: Sequence[Sequence[IntArray]],
    class_ids: IntArray,
    n_classes: int,
    attributes: Sequence[Attribute],
    k: int,
) -> tuple[IntArray, int]:
    values = work[:, j].astype(np.int64)
    for table in reversed(levels[j][:-1]):
        class_ids, n_classes = refine_step(values, table[original[:, j]], class_ids, n_classes,
                                           attributes[j].cardinality, k)  # fmt: skip
    work[:, j] = values
    return class_ids, n_classes


def _settle_order(
    work: Codes,
    columns: Sequence[int],
    class_ids: IntArray,
    n_classes: int,
    attributes: Sequence[Attribute],
    k: int,
    rng: np.random.Generator,
) -> list[int]:
    """Phase 2's order: at each step, among the next few by overall entropy, the attribute that
    splits the current classes least. Chosen on a sample of the rows when there are many (the
    steps are replayed on the sample to follow the classes)."""
    remaining = entropy_order(work, list(columns))
    if len(remaining) <= 1:
        return remaining
    rows = np.arange(work.shape[0])
    if work.shape[0] > ORDER_SAMPLE:
        rows = np.sort(rng.choice(work.shape[0], ORDER_SAMPLE, replace=False))
    sample = take_rows(work, rows)
    ids = class_ids[rows]
    _, ids = np.unique(ids, return_inverse=True)
    count = int(ids.max()) + 1 if ids.size else 0
    order: list[int] = []
    while remaining:
        j = least_fragmenting(sample, remaining[:SHORTLIST], ids, count, attributes)
        remaining.remove(j)
        order.append(j)
        values = sample[:, j].astype(np.int64)
        ids, count = coarse_step(values, ids, count, attributes[j], k)
        sample[:, j] = values
    return order


def _report(
    method: str,
    k: int,
    original: Codes,
    out: Codes,
    attributes: Sequence[Attribute],
    dropped: int,
    sizes: IntArray,
    started: float,
) -> AnonymisationReport:
    known, suppressed, generalised = {}, {}, {}
    for j, attribute in enumerate(attributes):
        was_known = original[:, j] != MISSING_CODE
        known[attribute.name] = int(np.count_nonzero(was_known))
        suppressed[attribute.name] = int(np.count_nonzero(was_known & (out[:, j] == MISSING_CODE)))
        generalised[attribute.name] = int(
            np.count_nonzero(was_known & (out[:, j] != original[:, j]) & (out[:, j] != MISSING_CODE))
        )
    return AnonymisationReport(
        method=method,
        k=k,
        rows_in=original.shape[0] + dropped,
        rows_out=out.shape[0],
        rows_dropped=dropped,
        known=known,
        cells_suppressed=suppressed,
        cells_generalised=generalised,
        smallest_class=int(sizes.min()) if sizes.size else 0,
        classes=int(sizes.size),
        seconds=time.perf_counter() - started,
    )


def _empty_result(
    method: str, codes: Codes, k: int, attributes: Sequence[Attribute], started: float
) -> AnonymisationResult:
    zeros = {a.name: 0 for a in attributes}
    known = {a.name: int(np.count_nonzero(codes[:, j])) for j, a in enumerate(attributes)}
    report = AnonymisationReport(
        method=method,
        k=k,
        rows_in=codes.shape[0],
        rows_out=0,
        rows_dropped=codes.shape[0],
        known=known,
        cells_suppressed=dict(known),  # every known value is withheld
        cells_generalised=dict(zeros),
        smallest_class=0,
        classes=0,
        seconds=time.perf_counter() - started,
    )
    empty = np.zeros(0, dtype=np.int64)
    return AnonymisationResult(codes[:0].copy(), empty, report, empty)


# -- the naive baseline -----------------------------------------------------------------------------
def naive_suppression(
    codes: Codes, attributes: Sequence[Attribute], k: int = DEFAULT_K, *, seed: int | None = None
) -> AnonymisationResult:
    """The baseline: every value of a row in a class smaller than ``k`` becomes missing.

    If the all-missing class so formed is still smaller than ``k``, its rows are dropped (there
    is nothing else the baseline can do). Kept for comparison with :func:`anonymise`.
    """
    started = time.perf_counter()
    _check_inputs(codes, attributes, k)
    n = codes.shape[0]
    del seed  # the order is secret like the engine's
    cards = [a.cardinality for a in attributes]
    out = codes.copy()
    class_ids, sizes = equivalence_classes(out, cards)
    small = sizes[class_ids] < k if n else np.zeros(0, dtype=bool)
    out[np.flatnonzero(small)] = MISSING_CODE
    class_ids, sizes = equivalence_classes(out, cards)
    keep = sizes[class_ids] >= k if n else np.zeros(0, dtype=bool)
    dropped = int(n - np.count_nonzero(keep))
    kept_rows = np.flatnonzero(keep)
    regrouped, sizes = equivalence_classes(out[kept_rows], cards)
    report = _report("naive", k, codes[kept_rows], out[kept_rows], attributes, dropped, sizes, started)
    for j, attribute in enumerate(attributes):  # a dropped row loses all its known values
        lost = int(np.count_nonzero(codes[~keep, j]))
        report.known[attribute.name] += lost
        report.cells_suppressed[attribute.name] += lost
    shuffle = secret_order(kept_rows.size)
    return AnonymisationResult(out[kept_rows][shuffle], regrouped[shuffle], report, kept_rows[shuffle])
