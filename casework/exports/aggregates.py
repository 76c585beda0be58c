"""Aggregate tables that resist recovery and differencing: a pure module (numpy in, numpy out).

A table of ``d`` dimensions is held with its margins as one array of shape
``(n1 + 1, ..., nd + 1)``: index ``ni`` on axis ``i`` is the total over that axis, so every
additive relation is a *line* (fix every index but one; its entries sum to its last entry).

Protection, in order:

1. **Hidden counts.** Every count below the threshold is hidden, zeros included (a zero that
   turns into "hidden" when one person arrives would show where they went; and an attacker who
   sees zeros published may assume every hidden count holds someone). So is every count whose
   perturbed value (below) falls under the threshold. Structural zeros (combinations no one
   can be in) are published as 0 and take no part.
2. **Protection intervals.** For each hidden count, the smallest and largest values consistent
   with everything published (integers, every line adding up, every hidden count at least 1
   where someone is counted, as an attacker may guess) must be at least ``width`` apart; a
   count of one person must reach at least ``width`` above one.
   Two-way tables are networks (their constraint matrix is totally unimodular), so these
   bounds are integral and come from maximum flows (:func:`interval_room`); three-way tables are
   checked by linear programming (HiGHS) and then integer programming. Where a hidden count's
   interval is too narrow, a published count on one of its lines is hidden too (the smallest
   that helps), and all are checked again.
3. **Perturbation.** Published counts carry the cell-key noise the caller gives (consistent:
   the same cell and count always get the same noise, so repeating a request or comparing two
   tables that share a cell shows nothing new), are never shown below the threshold, and are
   rounded to the policy's base.
4. **The published table, as an attacker reads it.** Perturbed lines need not add up, and
   where they do they can pin hidden counts that the true table left wide (a row whose
   published total leaves its hidden counts no room: all 0, or all 1). So the intervals are
   checked again from the published counts, for an attacker who assumes hidden counts are at
   least 0 and one who assumes at least 1, over every line (or every line but those that
   contradict the premise on their own) and over each line alone; narrow ones are widened by
   hiding more, as in 2 (:func:`resist_published_view`).

Hidden counts are written as :data:`SUPPRESSED`, never as a number.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_array
from scipy.sparse.csgraph import maximum_flow

SUPPRESSED = "suppressed"
TOTAL = "Total"
DEFAULT_THRESHOLD = 10
MAX_DIMENSIONS = 3
MAX_CELLS = 6_000  # entries with margins; a bigger table is refused (it would be nearly all hidden)
MAX_CELLS_3D = 1_500
#: Published counts that may be tried as a complement, per line, smallest first.
COMPLEMENT_CANDIDATES = 8
#: Added to twice the largest count for "as far as it likes": more than any width allowed.
UNBOUNDED = 1000

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


class TableTooLarge(ValueError):
    """The table has more entries than can be protected and checked."""


@dataclass(frozen=True, slots=True)
class ProtectedTable:
    """A table with margins, what is hidden and what is published."""

    dimensions: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]  # per dimension, without the total
    counts: IntArray  # true counts with margins: never published as such
    primary: BoolArray  # hidden as small (true or perturbed count below the threshold)
    suppressed: BoolArray  # primary | complementary
    structural: BoolArray
    published: IntArray  # perturbed, floored and rounded counts; meaningless where hidden
    width: int

    @property
    def cells_suppressed(self) -> int:
        return int(self.suppressed.sum())

    @property
    def cells_primary(self) -> int:
        return int(self.primary.sum())

    def text(self, index: tuple[int, ...]) -> str:
        """What the file shows for one entry."""
        if self.structural[index]:
            return "0"
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


def structural_with_margins(structural: BoolArray) -> BoolArray:
    """A margin is structural when every cell it adds up is."""
    full = np.asarray(structural, dtype=bool)
    for axis in range(full.ndim):
        full = np.concatenate([full, full.all(axis=axis, keepdims=True)], axis=axis)
    return full


def _lines(shape: tuple[int, ...]) -> Iterator[tuple[slice | int, ...]]:
    """Every line: an index with a slice on one axis."""
    for axis in range(len(shape)):
        others = [range(s) for i, s in enumerate(shape) if i != axis]
        for fixed in itertools.product(*others):
            index: list[slice | int] = list(fixed)
            index.insert(axis, slice(None))
            yield tuple(index)


# -- protection intervals -----------------------------------------------------------------------------
def interval_room(
    full: IntArray,
    hidden: BoolArray,
    which: BoolArray | None = None,
    enough: int | None = None,
    lowest: IntArray | None = None,
    free_lines: Sequence[int] = (),
) -> tuple[IntArray, IntArray]:
    """For every hidden entry (of ``which``, default all), how far its value can go up and down
    over integer tables agreeing with every published entry, each hidden entry at least its
    ``lowest`` (default :func:`_floor`); zero elsewhere. ``full`` must be such a table. Lines
    numbered in ``free_lines`` (as :func:`_lines` yields them) need not add up.
    Capped at twice the largest count plus one (more is as good as unbounded here). With
    ``enough``, two-way tables may answer less than the true room for an entry once what they
    found is already wide enough for ``enough`` (see :func:`wide_enough`)."""
    which = hidden if which is None else which & hidden
    lowest = _floor(full) if lowest is None else lowest
    if full.ndim == 1:
        return _room_1d(full, hidden, lowest, line_free=bool(free_lines))
    if full.ndim == 2:
        return _room_2d(full, hidden, which, enough, lowest, free_lines)
    return _room_lp(full, hidden, which, lowest, free_lines)


def _room_1d(full: IntArray, hidden: BoolArray, floor: IntArray, line_free: bool = False) -> tuple[IntArray, IntArray]:
    up = np.zeros(full.shape, dtype=np.int64)
    down = np.zeros(full.shape, dtype=np.int64)
    cap = int(full.max(initial=0)) * 2 + UNBOUNDED
    inner = np.flatnonzero(hidden[:-1])
    if line_free:  # nothing ties the entries together
        up[hidden] = cap
        down[hidden] = full[hidden] - floor[hidden]
        return up, down
    if hidden[-1]:  # the total is hidden: nothing bounds the cells from above
        up[hidden] = cap
        down[inner] = full[inner] - floor[inner]
        down[-1] = int((full[inner] - floor[inner]).sum())  # the total falls as its cells do
        return up, down
    if inner.size >= 2:
        residual = int(full[inner].sum())  # what the hidden cells add up to (published total)
        others = int(floor[inner].sum()) - floor[inner]
        up[inner] = residual - full[inner] - others
        down[inner] = full[inner] - floor[inner]
    return up, down


def _floor(full: IntArray) -> IntArray:
    """The least value an attacker may assume of a hidden count: 1 where someone is counted
    (they may guess that a hidden count is not empty), 0 for an empty one."""
    return (full >= 1).astype(np.int64)


def _room_2d(
    full: IntArray,
    hidden: BoolArray,
    which: BoolArray,
    enough: int | None,
    lowest: IntArray,
    free_lines: Sequence[int] = (),
) -> tuple[IntArray, IntArray]:
    """Two-way tables as a flow network: row nodes and column nodes (margins included), one edge
    per hidden entry. Raising an entry by ``t`` is a circulation of ``t`` through its edge, so
    the most it can rise is the maximum flow back around, without that edge. A free line's node
    is joined both ways to one extra node without limit: it need not balance (the extra node
    balances by itself, as every node's imbalance adds up to zero)."""
    rows, cols = full.shape
    size = rows + cols + 1
    big = int(full.max(initial=0)) * 2 + UNBOUNDED
    # sign +1 for inner cells and the grand total, -1 for the other margins; with d the flow
    # from the row node to the column node, the entry becomes x + sign * d >= 0.
    sign = np.ones(full.shape, dtype=np.int64)
    sign[-1, :] *= -1
    sign[:, -1] *= -1
    entries = np.argwhere(hidden)
    free_nodes = np.asarray([rows + n if n < cols else n - cols for n in free_lines], dtype=np.int64)
    extra = np.full(free_nodes.size, size - 1)
    heads = np.concatenate([entries[:, 0], rows + entries[:, 1], free_nodes, extra])
    tails = np.concatenate([rows + entries[:, 1], entries[:, 0], extra, free_nodes])
    values = full[entries[:, 0], entries[:, 1]]
    plus = sign[entries[:, 0], entries[:, 1]] > 0
    room = values - lowest[entries[:, 0], entries[:, 1]]  # how far each can fall
    forward = np.where(plus, big, room)  # row -> column
    backward = np.where(plus, room, big)  # column -> row
    capacities = np.concatenate([forward, backward, np.full(2 * free_nodes.size, big)]).astype(np.int32)
    graph = csr_array((capacities, (heads, tails)), shape=(size, size))
    graph.sort_indices()

    def slot(a: int, b: int) -> int:  # where an arc sits in the graph's data
        start = int(graph.indptr[a])
        return start + int(np.searchsorted(graph.indices[start : graph.indptr[a + 1]], b))

    up = np.zeros(full.shape, dtype=np.int64)
    down = np.zeros(full.shape, dtype=np.int64)
    exact = which
    if enough is not None:
        # A quick lower bound first: the best single 4-cycle through each entry. Entries it
        # already shows wide enough need no maximum flow.
        to_col = np.zeros(full.shape, dtype=np.int64)  # capacity row node -> column node
        to_row = np.zeros(full.shape, dtype=np.int64)
        fall_room = full - lowest
        to_col[hidden] = np.where(sign[hidden] > 0, big, fall_room[hidden])
        to_row[hidden] = np.where(sign[hidden] > 0, fall_room[hidden], big)
        towards, backwards = _four_cycles(to_col, to_row, np.unique(np.argwhere(which)[:, 0]))
        rise = np.where(sign > 0, towards, backwards)
        fall = np.minimum(np.where(sign > 0, backwards, towards), full - lowest)
        up[which], down[which] = rise[which], fall[which]
        exact = which & ~wide_enough(full, hidden, up, down, enough)
    for i, j in np.argwhere(exact):
        r, c = int(i), int(rows + j)
        data = graph.data.copy()
        data[slot(r, c)] = 0
        data[slot(c, r)] = 0
        without = csr_array((data, graph.indices, graph.indptr), shape=graph.shape)
        towards = maximum_flow(without, c, r).flow_value  # the entry's flow r -> c returning
        backwards = maximum_flow(without, r, c).flow_value
        rise, fall = (towards, backwards) if sign[i, j] > 0 else (backwards, towards)
        up[i, j] = min(rise, big)
        down[i, j] = min(fall, int(full[i, j] - lowest[i, j]))
    return up, down


def _four_cycles(to_col: IntArray, to_row: IntArray, wanted_rows: IntArray) -> tuple[IntArray, IntArray]:
    """Per entry (i, j) of the ``wanted_rows``, the capacity of the best path of three other
    entries from its column node back to its row node (``towards``: c_j -> r_k -> c_l -> r_i) and
    from its row node to its column node (``backwards``: r_i -> c_l -> r_k -> c_j), with k != i and
    l != j; zero in other rows (a check of one entry need not pay for the whole table)."""
    rows, cols = to_col.shape
    towards = np.zeros((rows, cols), dtype=np.int64)
    backwards = np.zeros((rows, cols), dtype=np.int64)
    for i in (int(r) for r in wanted_rows):
        # towards: min(to_row[k, j], to_col[k, l], to_row[i, l]); backwards: min(to_col[i, l],
        # to_row[k, l], to_col[k, j]). Inner part over l first, best and second best kept so
        # that l = j can be left out.
        for inner, outer, out in ((np.minimum(to_col, to_row[i]), to_row, towards),
                                  (np.minimum(to_row, to_col[i]), to_col, backwards)):  # fmt: skip
            inner = inner.copy()
            inner[i, :] = 0
            best_l = inner.argmax(axis=1)
            best = inner[np.arange(rows), best_l]
            masked = inner.copy()
            masked[np.arange(rows), best_l] = 0
            second = masked.max(axis=1)
            # by_l[k, j]: the best over l != j for row k
            by_l = np.where(best_l[:, None] == np.arange(cols)[None, :], second[:, None], best[:, None])
            out[i] = np.minimum(outer, by_l).max(axis=0)
    return towards, backwards


def _room_lp(
    full: IntArray, hidden: BoolArray, which: BoolArray, lowest: IntArray, free_lines: Sequence[int] = ()
) -> tuple[IntArray, IntArray]:
    """Any number of dimensions: for each hidden entry, minimise and maximise it by linear
    programming (HiGHS), then, unless the LP optimum is already integral, by integer
    programming (three-way tables are not totally unimodular)."""
    unknown = np.argwhere(hidden)
    up = np.zeros(full.shape, dtype=np.int64)
    down = np.zeros(full.shape, dtype=np.int64)
    if unknown.size == 0:
        return up, down
    position = {tuple(int(v) for v in cell): p for p, cell in enumerate(unknown)}
    a_rows, b = [], []
    for number, line in enumerate(_lines(full.shape)):
        if number in free_lines:
            continue
        cells = list(itertools.product(*(range(s) if isinstance(part, slice) else [part] for s, part in
                                         zip(full.shape, line, strict=True))))  # fmt: skip
        row = np.zeros(len(unknown))
        constant = 0.0
        for k, cell in enumerate(cells):
            sign = -1.0 if k == len(cells) - 1 else 1.0
            if cell in position:
                row[position[cell]] += sign
            else:
                constant += sign * float(full[cell])
        if row.any():
            a_rows.append(row)
            b.append(-constant)
    a = np.asarray(a_rows)
    rhs = np.asarray(b)
    big = int(full.max(initial=0)) * 2 + UNBOUNDED
    bounds = [(int(lowest[tuple(cell)]), big) for cell in unknown]
    for p, cell in enumerate(unknown):
        if not which[tuple(cell)]:
            continue
        ends = []
        for sense in (1.0, -1.0):
            c = np.zeros(len(unknown))
            c[p] = sense
            result = linprog(c, A_eq=a if len(a) else None, b_eq=rhs if len(a) else None, bounds=bounds, method="highs")
            value = sense * result.fun
            if abs(value - round(value)) > 1e-7:
                exact = milp(c, constraints=[LinearConstraint(a, rhs, rhs)], integrality=np.ones(len(unknown)),
                             bounds=Bounds([b[0] for b in bounds], big))  # fmt: skip
                value = sense * exact.fun
            ends.append(value)
        low, high = int(np.ceil(ends[0] - 1e-7)), int(np.floor(ends[1] + 1e-7))
        value = int(full[tuple(cell)])
        up[tuple(cell)] = high - value
        down[tuple(cell)] = value - low
    return up, down


def wide_enough(
    full: IntArray, hidden: BoolArray, up: IntArray, down: IntArray, width: int, one_person: bool = True
) -> BoolArray:
    """Hidden entries whose interval is at least ``width`` wide, even to an attacker who
    assumes that every non-empty hidden count holds someone. With ``one_person``, a count of
    one person must reach at least ``width`` above one: they may know someone is there, never
    that only one is."""
    ok = up + down >= width
    if one_person:
        ok &= (full != 1) | (up >= width)
    return ok | ~hidden


def _complement_candidates(full: IntArray, hidden: BoolArray, structural: BoolArray, cell: tuple[int, ...]) -> list:
    """Published entries on the lines through ``cell``: inner cells before totals, smallest first."""
    found: dict[tuple[int, ...], tuple[int, int]] = {}
    for axis in range(full.ndim):
        for i in range(full.shape[axis]):
            other = (*cell[:axis], i, *cell[axis + 1 :])
            if hidden[other] or structural[other]:
                continue
            is_total = any(v == s - 1 for v, s in zip(other, full.shape, strict=True))
            found[other] = (int(is_total), int(full[other]))
    ranked = sorted(found, key=lambda key: found[key])
    return ranked[: COMPLEMENT_CANDIDATES * full.ndim]


@dataclass(frozen=True, slots=True)
class _Premise:
    """What the attacker assumes of hidden entries: each at least ``lowest``; with
    ``one_person``, the rule for counts of one person applies (see :func:`wide_enough`)."""

    lowest: IntArray | None = None  # None: :func:`_floor` of the table
    one_person: bool = True
    free_lines: tuple[int, ...] = ()  # lines set aside (numbered as :func:`_lines` yields them)


def complementary_suppression(
    full: IntArray,
    primary: BoolArray,
    width: int,
    structural: BoolArray | None = None,
    premise: _Premise = _Premise(),
) -> BoolArray:
    """Primary plus complementary hidden entries such that every hidden entry keeps an interval
    at least ``width`` wide (see :func:`wide_enough`) in ``full``, a table agreeing with what
    is published. Raises RuntimeError when nothing published is left to hide."""
    structural = np.zeros(full.shape, dtype=bool) if structural is None else structural
    hidden = primary & ~structural
    if premise.lowest is None:
        premise = _Premise(_floor(full), premise.one_person, premise.free_lines)
    up, down = interval_room(full, hidden, enough=width, lowest=premise.lowest, free_lines=premise.free_lines)
    narrow = ~wide_enough(full, hidden, up, down, width, premise.one_person)
    queue = [tuple(int(v) for v in cell) for cell in np.argwhere(narrow)]
    # Hiding more never narrows an interval, so what passed once stays passed: only the cells
    # that failed and the complements added need checking again.
    while queue:
        cell = queue.pop(0)
        if _wide(full, hidden, cell, width, premise):
            continue
        complement = _complement(full, hidden, structural, cell, width, premise)
        hidden[complement] = True
        queue.extend([cell, complement])
    return hidden


def _wide(full: IntArray, hidden: BoolArray, cell: tuple[int, ...], width: int, premise: _Premise) -> bool:
    only = np.zeros(full.shape, dtype=bool)
    only[cell] = True
    up, down = interval_room(full, hidden, only, enough=width, lowest=premise.lowest, free_lines=premise.free_lines)
    return bool(wide_enough(full, hidden, up, down, width, premise.one_person)[cell])


def _complement(
    full: IntArray,
    hidden: BoolArray,
    structural: BoolArray,
    cell: tuple[int, ...],
    width: int,
    premise: _Premise,
) -> tuple[int, ...]:
    """The published entry to hide for ``cell``: the first candidate that makes it wide enough,
    else the one that widens it most."""
    candidates = _complement_candidates(full, hidden, structural, cell)
    if not candidates:  # every entry on its lines is hidden: look further, smallest first
        published = np.argwhere(~hidden & ~structural)
        order = np.argsort(full[tuple(published.T)], kind="stable")
        candidates = [tuple(int(v) for v in published[i]) for i in order[: COMPLEMENT_CANDIDATES * full.ndim]]
    if not candidates:
        raise RuntimeError("a hidden count cannot be protected: nothing published is left to hide")
    only = np.zeros(full.shape, dtype=bool)
    only[cell] = True
    best, best_room = candidates[0], -1
    for candidate in candidates:
        trial = hidden.copy()
        trial[candidate] = True
        up, down = interval_room(full, trial, only, enough=width, lowest=premise.lowest, free_lines=premise.free_lines)
        if wide_enough(full, trial, up, down, width, premise.one_person)[cell]:
            return candidate
        if up[cell] + down[cell] > best_room:
            best, best_room = candidate, int(up[cell] + down[cell])
    return best


# -- what the published table tells an attacker --------------------------------------------------
# The intervals above are those of the true table. An attacker works from the published one:
# perturbed counts whose lines need not add up. Where they do (or do once a few contradicting
# lines are set aside), the published counts pin hidden ones of their own, to values that are
# often the true ones (a row whose hidden counts must all be 0, or all 1). So the published
# table is checked as the attacker sees it, for both premises (hidden counts >= 0, and >= 1),
# on the whole system and line by line, and hidden further until no hidden count is narrower
# than ``width`` there either.


def _line_cells(shape: tuple[int, ...]) -> list[tuple[IntArray, int]]:
    """Every line as (flat indices of its entries but the total, flat index of the total)."""
    flat = np.arange(int(np.prod(shape))).reshape(shape)
    return [(flat[line][:-1], int(flat[line][-1])) for line in _lines(shape)]


def _attacker_table(
    published: IntArray,
    hidden: BoolArray,
    structural: BoolArray,
    lower: int,
    lines: list[tuple[IntArray, int]],
    free_lines: Sequence[int] = (),
) -> IntArray | None:
    """A table agreeing with every published entry (structural ones 0) and every line, each
    hidden entry an integer at least ``lower``: the point an attacker's intervals are measured
    from. None when there is none (the premise contradicts the published table)."""
    values = np.where(structural, 0, published).ravel()
    unknown = np.flatnonzero(hidden.ravel())
    if unknown.size == 0:
        return np.where(structural, 0, published)
    position = np.full(values.size, -1)
    position[unknown] = np.arange(unknown.size)
    rows, cols, data, rhs = [], [], [], []
    for number, (inner, total) in enumerate(lines):
        if number in free_lines:
            continue
        members = np.append(inner, total)
        signs = np.append(np.ones(inner.size), -1.0)
        mine = position[members] >= 0
        if not mine.any():
            continue
        row = len(rhs)
        rows.extend([row] * int(mine.sum()))
        cols.extend(position[members[mine]].tolist())
        data.extend(signs[mine].tolist())
        rhs.append(-float((signs[~mine] * values[members[~mine]]).sum()))
    matrix = csr_array((data, (rows, cols)), shape=(len(rhs), unknown.size))
    result = milp(
        np.zeros(unknown.size),
        constraints=[LinearConstraint(matrix, rhs, rhs)],
        integrality=np.ones(unknown.size),
        bounds=Bounds(np.full(unknown.size, float(lower)), np.inf),
    )
    if result.status != 0 or result.x is None:
        return None
    view = values.copy()
    view[unknown] = np.rint(result.x).astype(np.int64)
    return view.reshape(published.shape)


def _line_alone(values: IntArray, hidden: BoolArray, inner: IntArray, total: int, lower: int) -> tuple[int, int] | None:
    """(room, hidden entries) of one line on its own under the premise: its hidden entries
    range over [lower, lower + room]; None when the line tells nothing alone (its total is
    hidden, or none of its entries is)."""
    mask = hidden.ravel()
    if mask[total] or not mask[inner].any():
        return None
    flat = values.ravel()
    rest = int(flat[total]) - int(flat[inner[~mask[inner]]].sum())
    count = int(mask[inner].sum())
    return rest - lower * count, count


def _hide_for_lines_alone(
    published: IntArray, hidden: BoolArray, structural: BoolArray, width: int, lower: int,
    lines: list[tuple[IntArray, int]],
) -> BoolArray:  # fmt: skip
    """Hide, on every line whose hidden entries the line alone pins or confines to fewer than
    ``width`` values, its smallest published entry (its total when nothing else is left)."""
    values = np.where(structural, 0, published)
    hidden = hidden.copy()
    for inner, total in lines:
        while (found := _line_alone(values, hidden, inner, total, lower)) is not None:
            room, count = found
            if room < 0 or (count >= 2 and room >= width):  # contradicts the premise, or wide enough
                break
            flat_hidden, flat_structural = hidden.ravel(), structural.ravel()
            open_inner = inner[~flat_hidden[inner] & ~flat_structural[inner]]
            target = int(open_inner[np.argmin(values.ravel()[open_inner])]) if open_inner.size else total
            hidden[np.unravel_index(target, hidden.shape)] = True
    return hidden


def _contradicting_lines(
    published: IntArray, hidden: BoolArray, structural: BoolArray, lower: int, lines: list[tuple[IntArray, int]]
) -> tuple[int, ...]:
    """The lines that contradict the premise on their own: an attacker sets those aside."""
    values = np.where(structural, 0, published)
    out = []
    for number, (inner, total) in enumerate(lines):
        found = _line_alone(values, hidden, inner, total, lower)
        if found is not None and found[0] < 0:
            out.append(number)
    return tuple(out)


def resist_published_view(published: IntArray, hidden: BoolArray, structural: BoolArray, width: int) -> BoolArray:
    """``hidden`` plus what must also be hidden so that, from the published counts, no hidden
    count can be confined to fewer than ``width`` values, for an attacker who assumes hidden
    counts are at least 0 or at least 1, using every line, every line but those that contradict
    the premise on their own, or one line at a time. Raises RuntimeError when nothing published
    is left to hide."""
    lines = _line_cells(published.shape)
    hidden = hidden & ~structural
    while True:
        before = hidden.copy()
        for lower in (0, 1):
            hidden = _hide_for_lines_alone(published, hidden, structural, width, lower, lines)
            free: tuple[int, ...] = ()
            view = _attacker_table(published, hidden, structural, lower, lines)
            if view is None:
                free = _contradicting_lines(published, hidden, structural, lower, lines)
                view = _attacker_table(published, hidden, structural, lower, lines, free) if free else None
            if view is None:
                continue
            premise = _Premise(lowest=np.where(hidden, lower, 0), one_person=False, free_lines=free)
            hidden = complementary_suppression(view, hidden, width, structural, premise)
        if np.array_equal(hidden, before):
            return hidden


# -- publishing --------------------------------------------------------------------------------------
def publish(full: IntArray, noise: IntArray, threshold: int, rounding_base: int) -> IntArray:
    """Perturbed counts, never below the threshold, rounded to ``rounding_base`` (not below
    the threshold either)."""
    noisy = np.maximum(full + noise, threshold)
    if rounding_base > 1:
        rounded = np.rint(noisy / rounding_base).astype(np.int64) * rounding_base
        floor = -(-threshold // rounding_base) * rounding_base
        noisy = np.maximum(rounded, floor)
    return noisy.astype(np.int64)


def protect(
    dimensions: Sequence[str],
    categories: Sequence[Sequence[str]],
    inner: npt.ArrayLike,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    width: int = 3,
    noise: npt.ArrayLike | None = None,
    rounding_base: int = 1,
    structural: npt.ArrayLike | None = None,
) -> ProtectedTable:
    """Hide, protect and perturb a table of counts (``noise``: per entry with margins, from the
    cell keys; None: no perturbation, for checks). Raises ValueError when the shapes disagree or
    a parameter is out of range, TableTooLarge for a table with too many entries."""
    counts = np.asarray(inner, dtype=np.int64)
    if counts.ndim != len(dimensions) or counts.shape != tuple(len(c) for c in categories):
        raise ValueError("the counts' shape must match the categories of the dimensions")
    if not 1 <= counts.ndim <= MAX_DIMENSIONS:
        raise ValueError("a table has one to three dimensions")
    if threshold < 1 or width < 1 or rounding_base < 1:
        raise ValueError("threshold, width and rounding base must be positive")
    full = with_margins(counts)
    if full.size > (MAX_CELLS_3D if full.ndim == 3 else MAX_CELLS):
        raise TableTooLarge(f"{full.size} entries")
    structural_full = (
        np.zeros(full.shape, dtype=bool) if structural is None else structural_with_margins(np.asarray(structural))
    )
    noise_full = np.zeros(full.shape, dtype=np.int64) if noise is None else np.asarray(noise, dtype=np.int64)
    if noise_full.shape != full.shape:
        raise ValueError("the noise must have one entry per count, margins included")
    primary = ~structural_full & ((full < threshold) | (full + noise_full < threshold))
    hidden = complementary_suppression(full, primary, width, structural_full)
    published = publish(full, noise_full, threshold, rounding_base)
    hidden = resist_published_view(published, hidden, structural_full, width)
    return ProtectedTable(
        tuple(dimensions),
        tuple(tuple(c) for c in categories),
        full,
        primary,
        hidden,
        structural_full,
        published,
        width,
    )
