"""Aggregate tables with small-cell protection: a pure module (numpy in, numpy out).

A table of ``d`` dimensions is held with its margins as one array of shape
``(n1 + 1, ..., nd + 1)``: index ``ni`` on axis ``i`` is the total over that axis, so every
additive relation is a *line* (fix every index but one; the entries of the line sum to its last
entry, the total). This holds for 1-D, 2-D and N-D tables alike.

Protection, in order:

1. primary suppression: every count (cell or margin) with ``0 < count < threshold``;
2. complementary suppression until no suppressed count can be worked out from the published
   ones. Two rules, applied until neither adds anything:

   - the line rule: no line holds exactly one suppressed entry (in 2-D: every row and column
     with a suppressed cell has at least two, counting its total);
   - the linear-algebra rule: a suppressed entry is determined when its unit vector lies in the
     row space of the additive relations restricted to the suppressed entries (e.g. a cell that
     bridges two otherwise separate cycles of suppressions); and a line whose suppressed inner
     cells must sum to zero gives them away too.

   A complement is the line's smallest positive published count (a zero only if nothing else
   is left), so as little as possible is hidden.
3. optional rounding of the published counts: unbiased random rounding to base 3, or down to a
   multiple of 10.

Suppressed entries are written as :data:`SUPPRESSED`, never as a number.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

SUPPRESSED = "suppressed"
TOTAL = "Total"
ROUNDINGS = ("none", "random3", "down10")
DEFAULT_THRESHOLD = 10
MAX_DIMENSIONS = 3
MAX_CELLS = 200_000  # a bigger table is refused: it would be almost all suppression

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class ProtectedTable:
    """A table with margins, what is suppressed and what is published."""

    dimensions: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]  # per dimension, without the total
    counts: IntArray  # true counts with margins: never published as such
    primary: BoolArray
    suppressed: BoolArray  # primary | complementary
    published: IntArray  # rounded counts; meaningless where suppressed

    @property
    def cells_suppressed(self) -> int:
        return int(self.suppressed.sum())

    @property
    def cells_primary(self) -> int:
        return int(self.primary.sum())

    def text(self, index: tuple[int, ...]) -> str:
        """What the file shows for one entry."""
        return SUPPRESSED if self.suppressed[index] else str(int(self.published[index]))

    def rows(self) -> Iterator[list[str]]:
        """Long format: one row per entry (margins labelled :data:`TOTAL`), header first."""
        yield [*self.dimensions, "count"]
        labels = [(*cats, TOTAL) for cats in self.categories]
        for index in itertools.product(*(range(len(lab)) for lab in labels)):
            yield [*(labels[axis][i] for axis, i in enumerate(index)), self.text(index)]


def with_margins(inner: npt.ArrayLike) -> IntArray:
    """Append the totals along every axis (and the totals of totals)."""
    full = np.asarray(inner, dtype=np.int64)
    for axis in range(full.ndim):
        full = np.concatenate([full, full.sum(axis=axis, keepdims=True)], axis=axis)
    return full


def primary_suppression(full: IntArray, threshold: int) -> BoolArray:
    return (full > 0) & (full < threshold)


def _lines(shape: tuple[int, ...]) -> Iterator[tuple[int, tuple[slice | int, ...]]]:
    """Every line: (axis, index with a slice on that axis)."""
    for axis, size in enumerate(shape):
        others = [range(s) for i, s in enumerate(shape) if i != axis]
        del size
        for fixed in itertools.product(*others):
            index: list[slice | int] = list(fixed)
            index.insert(axis, slice(None))
            yield axis, tuple(index)


def _pick_complement(full: IntArray, suppressed: BoolArray, line: tuple[slice | int, ...]) -> bool:
    """Suppress the line's best complement: smallest positive published count, else a zero,
    else nothing (the line is all suppressed). Returns whether something was suppressed."""
    values = full[line]
    open_ = ~suppressed[line]
    if not open_.any():
        return False
    inner = np.zeros(values.size, dtype=bool)
    inner[:-1] = True
    axis_index = [i for i, part in enumerate(line) if isinstance(part, slice)][0]
    # How many other lines through each entry hold no suppression yet: suppressing the entry
    # would leave each of them with a single one, to be complemented in turn. Closing a cycle
    # of existing suppressions costs nothing more.
    untouched = np.zeros(values.size, dtype=np.int64)
    for axis in range(suppressed.ndim):
        if axis == axis_index:
            continue
        counts = suppressed.sum(axis=axis, keepdims=True)
        position = [0 if a == axis else part for a, part in enumerate(line)]
        untouched += counts[tuple(position)] == 0
    # Positive inner cells, then positive totals, then zeros; fewest new singletons; smallest.
    rank = np.where(values > 0, np.where(inner, 0, 1), 2)
    order = np.lexsort((values, untouched, rank))
    choice = next(int(i) for i in order if open_[i])
    target = list(line)
    target[axis_index] = choice
    suppressed[tuple(target)] = True
    return True


def _line_rule(full: IntArray, suppressed: BoolArray) -> bool:
    changed = False
    for _axis, line in _lines(full.shape):
        entries = suppressed[line]
        if entries.sum() == 1:
            changed |= _pick_complement(full, suppressed, line)
        elif entries[:-1].any() and not entries[-1] and full[line][:-1][entries[:-1]].sum() == 0:
            # The total is published and the suppressed cells must sum to zero: all known.
            changed |= _pick_complement(full, suppressed, line)
    return changed


def determined(shape: tuple[int, ...], suppressed: BoolArray) -> BoolArray:
    """Suppressed entries whose value follows from the published ones by linear algebra.

    The additive relations restricted to the suppressed entries form a matrix ``A`` (one row per
    line that holds a suppressed entry: +1 for inner entries, -1 for the total); entry ``i`` is
    determined iff the unit vector ``e_i`` lies in the row space of ``A``.
    """
    out = np.zeros(shape, dtype=bool)
    hidden = np.flatnonzero(suppressed.ravel())
    if hidden.size == 0:
        return out
    position = np.full(int(np.prod(shape)), -1, dtype=np.int64)
    position[hidden] = np.arange(hidden.size)
    flat = np.arange(position.size).reshape(shape)
    rows = []
    for _axis, line in _lines(shape):
        where = position[flat[line]]
        if (where < 0).all():
            continue
        row = np.zeros(hidden.size)
        inner = where[:-1]
        row[inner[inner >= 0]] = 1.0
        if where[-1] >= 0:
            row[where[-1]] = -1.0
        rows.append(row)
    if not rows:
        return out
    matrix = np.asarray(rows)
    # Row space through the small Gram matrix (lines x lines): with G = A A^T = U L U^T, the
    # projection of e_i onto the row space has squared norm sum_l (U^T A)[l, i]^2 / L[l].
    eigenvalues, eigenvectors = np.linalg.eigh(matrix @ matrix.T)
    keep = eigenvalues > 1e-9 * max(float(eigenvalues.max(initial=0.0)), 1.0)
    basis = eigenvectors[:, keep].T @ matrix
    projection = (basis**2 / eigenvalues[keep][:, None]).sum(axis=0)
    out.ravel()[hidden[projection > 1 - 1e-6]] = True
    return out


def complementary_suppression(full: IntArray, primary: BoolArray) -> BoolArray:
    """Primary plus complementary suppressions such that no suppressed entry can be recovered."""
    suppressed = primary.copy()
    while True:
        if _line_rule(full, suppressed):
            continue
        exposed = np.argwhere(determined(full.shape, suppressed))
        if exposed.size == 0:
            return suppressed
        changed = False
        for cell in exposed:
            for axis in range(full.ndim):
                line = tuple(slice(None) if a == axis else int(i) for a, i in enumerate(cell))
                if _pick_complement(full, suppressed, line):
                    changed = True
                    break
            if changed:
                break
        if not changed:  # cannot happen: a determined entry has a line with a published entry
            raise RuntimeError("complementary suppression found no complement")


def round_counts(full: IntArray, rounding: str, rng: np.random.Generator) -> IntArray:
    """Round published counts: ``none``, ``random3`` (unbiased random rounding to a multiple of
    3) or ``down10`` (down to a multiple of 10). Raises ValueError on another name."""
    if rounding == "none":
        return full.copy()
    if rounding == "down10":
        return (full // 10) * 10
    if rounding == "random3":
        remainder = full % 3
        up = rng.random(full.shape) < remainder / 3
        return full - remainder + np.where(up, 3, 0)
    raise ValueError(f"unknown rounding {rounding!r}")


def protect(
    dimensions: Sequence[str],
    categories: Sequence[Sequence[str]],
    inner: npt.ArrayLike,
    threshold: int = DEFAULT_THRESHOLD,
    rounding: str = "none",
    seed: int | None = None,
) -> ProtectedTable:
    """Margins, primary and complementary suppression, then rounding, for a table of counts.

    Raises ValueError when the shapes disagree, the threshold is below 1 or the rounding is
    unknown.
    """
    counts = np.asarray(inner, dtype=np.int64)
    if counts.ndim != len(dimensions) or counts.shape != tuple(len(c) for c in categories):
        raise ValueError("the counts' shape must match the categories of the dimensions")
    if threshold < 1:
        raise ValueError("the threshold must be at least 1")
    if rounding not in ROUNDINGS:
        raise ValueError(f"unknown rounding {rounding!r}")
    full = with_margins(counts)
    primary = primary_suppression(full, threshold)
    suppressed = complementary_suppression(full, primary)
    published = round_counts(full, rounding, np.random.default_rng(seed))
    return ProtectedTable(
        tuple(dimensions),
        tuple(tuple(c) for c in categories),
        full,
        primary,
        suppressed,
        published,
    )
