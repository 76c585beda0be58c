"""Local recoding on integer-coded columns: the building blocks of the anonymisation engine.

A pure module (numpy in, numpy out). Each attribute is a column of small integer codes, ``0``
meaning missing or suppressed (CTDC ``-99``). An attribute may declare a generalisation
hierarchy (an age band becomes minor/adult, a country its UN M49 sub-region, a year its
period). Rows are partitioned into *classes* (dense ids); a step adds one attribute to the
partition and recodes the values that would make a class smaller than ``k``:

- :func:`coarse_step`: the attribute at its coarsest level. A (class, value) group smaller
  than ``k`` goes missing; a class whose missing group is then 0 < size < ``k`` borrows rows
  from its groups with surplus (a group of ``s >= k`` rows can give ``s - k``), which costs
  exactly the shortfall.
- :func:`refine_step`: one level finer, within the classes (which already hold the coarse
  value): fine groups of ``k`` rows or more take their finer value, the others stay coarse,
  and the coarse pool borrows like the missing group above.

Each step is a few vectorised passes (``np.bincount`` over packed ``class * card + value``
keys), so a million rows take a fraction of a second per attribute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MISSING_CODE = 0
# Above this many (class, value) cells a dense bincount would allocate too much; sort instead.
_BINCOUNT_LIMIT = 16_000_000

Codes = npt.NDArray[np.integer]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Attribute:
    """One released attribute: codes ``0..cardinality-1``, ``0`` = missing or suppressed.

    ``hierarchy`` lists generalisation steps before suppression: level ``i`` maps every code to
    a coarser code (a tuple of length ``cardinality``; a coarse code maps to itself). Missing
    is always the last step and need not be listed.
    """

    name: str
    cardinality: int
    hierarchy: tuple[tuple[int, ...], ...] = ()

    def __post_init__(self) -> None:
        if self.cardinality < 1:
            raise ValueError(f"{self.name}: cardinality must be at least 1")
        for level in self.hierarchy:
            if len(level) != self.cardinality or level[MISSING_CODE] != MISSING_CODE:
                raise ValueError(f"{self.name}: a hierarchy level maps every code, and missing to missing")


def _dense(cells: int, rows: int) -> bool:
    """Count (class, value) cells with a dense bincount (O(cells)) rather than a sort
    (O(rows log rows)): when the cells are not many more than the rows."""
    return cells <= _BINCOUNT_LIMIT and cells <= 16 * rows + 65_536


def group(class_ids: IntArray, n_classes: int, values: IntArray, card: int) -> tuple[IntArray, IntArray, IntArray]:
    """Dense ids of the (class, value) groups: (group id per row, group sizes, group keys).

    A group key is ``class * card + value``.
    """
    keys = class_ids * card + values
    cells = n_classes * card
    if _dense(cells, keys.size):
        counts = np.bincount(keys, minlength=cells)
        present = np.flatnonzero(counts)
        dense = np.zeros(cells, dtype=np.int64)
        dense[present] = np.arange(present.size, dtype=np.int64)
        return dense[keys], counts[present], present.astype(np.int64)
    unique_keys, inverse, sizes = np.unique(keys, return_inverse=True, return_counts=True)
    return inverse.astype(np.int64), sizes.astype(np.int64), unique_keys.astype(np.int64)


def group_sizes(class_ids: IntArray, n_classes: int, values: IntArray, card: int) -> IntArray:
    """Size of each row's (class, value) group."""
    keys = class_ids * card + values
    cells = n_classes * card
    if _dense(cells, keys.size):
        return np.bincount(keys, minlength=cells)[keys]
    _, inverse, sizes = np.unique(keys, return_inverse=True, return_counts=True)
    return sizes[inverse]


def equivalence_classes(codes: Codes, cardinalities: Sequence[int] | None = None) -> tuple[IntArray, IntArray]:
    """Exact equivalence classes of the rows of ``codes`` over all its columns.

    Returns (class id per row, size of each class). Columns are folded in one at a time into
    dense class ids, so no key ever overflows.
    """
    n, m = codes.shape
    class_ids = np.zeros(n, dtype=np.int64)
    n_classes = 1 if n else 0
    for j in range(m):
        values = codes[:, j].astype(np.int64)
        card = int(cardinalities[j]) if cardinalities is not None else int(values.max(initial=0)) + 1
        class_ids, sizes, _ = group(class_ids, n_classes, values, card)
        n_classes = sizes.size
    sizes = np.bincount(class_ids, minlength=n_classes) if n else np.zeros(0, dtype=np.int64)
    return class_ids, sizes


def take_rows(codes: Codes, rows: IntArray) -> Codes:
    """``codes[rows]`` as a column-major array, gathered column by column (cache-friendly)."""
    out = np.empty((rows.size, codes.shape[1]), dtype=codes.dtype, order="F")
    for j in range(codes.shape[1]):
        np.take(codes[:, j], rows, out=out[:, j])
    return out


def entropy_order(codes: Codes, indexes: Sequence[int]) -> list[int]:
    """Columns by increasing entropy of their values: the least fragmenting first."""
    entropies = []
    for j in indexes:
        counts = np.bincount(codes[:, j].astype(np.int64))
        p = counts[counts > 0] / max(codes.shape[0], 1)
        entropies.append(float(-(p * np.log2(p)).sum()))
    return [j for _, j in sorted(zip(entropies, indexes, strict=True))]


def least_fragmenting(
    work: Codes, candidates: Sequence[int], class_ids: IntArray, n_classes: int, attributes: Sequence[Attribute]
) -> int:
    """The candidate attribute with the least entropy given the current classes, H(a | class):
    the one that splits the classes least, so costs least to keep."""
    class_sizes = np.bincount(class_ids, minlength=n_classes)
    best, best_score = candidates[0], np.inf
    for j in candidates:
        card = attributes[j].cardinality
        keys = class_ids * card + work[:, j].astype(np.int64)
        if _dense(n_classes * card, keys.size):
            counts = np.bincount(keys, minlength=n_classes * card)
            present = np.flatnonzero(counts)
            sizes = counts[present]
        else:
            present, sizes = np.unique(keys, return_counts=True)
        score = float((sizes * np.log2(class_sizes[present // card] / sizes)).sum())
        if score < best_score:
            best, best_score = j, score
    return best


def densify(
    work: Codes, qi: Sequence[int], attributes: Sequence[Attribute]
) -> tuple[list[Attribute], dict[int, npt.NDArray[np.integer]]]:
    """Renumber the codes in use of each attribute without a hierarchy to ``0..used`` (0 kept),
    in place, so packed keys stay small (a year column uses 15 of its 256 codes). Returns the
    attributes with their dense cardinalities and, per renumbered column, the way back."""
    dense = list(attributes)
    back: dict[int, npt.NDArray[np.integer]] = {}
    for j in qi:
        attribute = attributes[j]
        if attribute.hierarchy or attribute.cardinality <= 4:
            continue
        used = np.flatnonzero(np.bincount(work[:, j], minlength=attribute.cardinality))
        used = used[used != MISSING_CODE]
        forward = np.zeros(attribute.cardinality, dtype=work.dtype)
        forward[used] = np.arange(1, used.size + 1)
        work[:, j] = forward[work[:, j]]
        back[j] = np.concatenate(([MISSING_CODE], used)).astype(work.dtype)
        dense[j] = Attribute(attribute.name, used.size + 1)
    return dense, back


def generalise_small_groups(
    values: IntArray, class_ids: IntArray, n_classes: int, attribute: Attribute, k: int
) -> None:
    """Step 1: climb the hierarchy, group by group, until every non-missing group has >= k rows."""
    card = attribute.cardinality
    levels = [np.asarray(level, dtype=np.int64) for level in attribute.hierarchy]
    levels.append(np.zeros(card, dtype=np.int64))  # the last step: missing
    for level in levels:
        small = (group_sizes(class_ids, n_classes, values, card) < k) & (values != MISSING_CODE)
        if not small.any():
            return
        values[small] = level[values[small]]


def fill_missing_groups(values: IntArray, class_ids: IntArray, n_classes: int, card: int, k: int) -> None:
    """Step 2: a class whose missing group has 0 < size < k takes rows from its other groups."""
    group_of_row, sizes, keys = group(class_ids, n_classes, values, card)
    group_class = keys // card
    group_value = keys % card
    missing_size = np.zeros(n_classes, dtype=np.int64)
    is_missing = group_value == MISSING_CODE
    missing_size[group_class[is_missing]] = sizes[is_missing]
    short = (missing_size > 0) & (missing_size < k)
    if not short.any():
        return
    need = np.where(short, k - missing_size, 0)

    donors = np.flatnonzero(short[group_class] & ~is_missing)
    donor_class = group_class[donors]
    surplus = sizes[donors] - k  # >= 0: every non-missing group has >= k rows after step 1
    available = np.bincount(donor_class, weights=surplus, minlength=n_classes).astype(np.int64)

    give = np.zeros(sizes.size, dtype=np.int64)
    # Enough surplus: take exactly the shortfall, from the groups with the most surplus first.
    borrow = available[donor_class] >= need[donor_class]
    b_groups, b_class, b_surplus = donors[borrow], donor_class[borrow], surplus[borrow]
    ordering = np.lexsort((-b_surplus, b_class))
    b_groups, b_class, b_surplus = b_groups[ordering], b_class[ordering], b_surplus[ordering]
    cumulative = np.cumsum(b_surplus)
    class_start = np.searchsorted(b_class, b_class, side="left")
    before = cumulative - b_surplus - np.where(class_start > 0, cumulative[class_start - 1], 0)
    give[b_groups] = np.clip(need[b_class] - before, 0, b_surplus)
    # Not enough surplus: the class's smallest group goes missing whole.
    w_groups, w_class = donors[~borrow], donor_class[~borrow]
    if w_groups.size:
        ordering = np.lexsort((sizes[w_groups], w_class))
        w_groups, w_class = w_groups[ordering], w_class[ordering]
        first = np.ones(w_class.size, dtype=bool)
        first[1:] = w_class[1:] != w_class[:-1]
        give[w_groups[first]] = sizes[w_groups[first]]

    rows = np.flatnonzero(give[group_of_row] > 0)
    if rows.size == 0:
        return
    rows = rows[np.argsort(group_of_row[rows], kind="stable")]
    groups = group_of_row[rows]
    start = np.searchsorted(groups, groups, side="left")
    rank = np.arange(rows.size) - start
    values[rows[rank < give[groups]]] = MISSING_CODE


# -- levels ----------------------------------------------------------------------------------------
def level_tables(attribute: Attribute) -> list[IntArray]:
    """Code -> code at each level: [fine (identity), one level up, ..., coarsest]."""
    table = np.arange(attribute.cardinality, dtype=np.int64)
    tables = [table]
    for level in attribute.hierarchy:
        table = np.asarray(level, dtype=np.int64)[table]
        tables.append(table)
    return tables


def coarse_step(
    values: IntArray, class_ids: IntArray, n_classes: int, attribute: Attribute, k: int
) -> tuple[IntArray, int]:
    """Add ``values`` (at their coarsest level) to the partition, recoding them in place so every
    new class has at least ``k`` rows. Returns the new class ids and their number."""
    generalise_small_groups(values, class_ids, n_classes, attribute, k)
    fill_missing_groups(values, class_ids, n_classes, attribute.cardinality, k)
    new_ids, sizes, _ = group(class_ids, n_classes, values, attribute.cardinality)
    return new_ids, int(sizes.size)


def refine_step(
    values: IntArray, finer: IntArray, class_ids: IntArray, n_classes: int, card: int, k: int
) -> tuple[IntArray, int]:
    """Replace ``values`` (one level coarser, part of the partition already) by ``finer`` where a
    class keeps at least ``k`` rows per finer value and in its coarse pool; in place. Missing
    values stay missing. Returns the new class ids and their number."""
    local = np.where(values != MISSING_CODE, finer, MISSING_CODE)  # 0 = the class's coarse pool
    plain = Attribute("refine", card)
    generalise_small_groups(local, class_ids, n_classes, plain, k)
    fill_missing_groups(local, class_ids, n_classes, card, k)
    np.copyto(values, local, where=local != MISSING_CODE)
    new_ids, sizes, _ = group(class_ids, n_classes, values, card)
    return new_ids, int(sizes.size)
