"""The recovery attacks of the disclosure review, written without any code of casework.exports.

- :func:`integer_intervals`: the programme an attacker solves against a published suppressed
  table: every line sums to its total, hidden entries are integers at least ``lower`` (0, or 1
  for "a hidden count holds someone"), and for each hidden entry the smallest and largest value
  consistent with everything published. Two-way tables are solved as linear programmes (their
  relations are totally unimodular, so the bounds are the integer ones; HiGHS through
  ``highspy``, warm-started from one entry to the next); three-way tables as integer programmes
  (``scipy.optimize.milp``). An entry whose interval is a single value is recovered.
- :func:`strongest_attack`: what an attacker does with a perturbed table whose lines do not all
  add up: the whole system where it is consistent, else the system without the lines that
  contradict the premise on their own, and each line on its own; every entry pinned by any of
  them, for ``lower`` 0 and 1.
- :func:`averaged_guess`: the repeated-request attack: average what many releases published
  for each entry and round.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence

import highspy
import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

Cell = tuple[int, ...]


def _lines(shape: Sequence[int]) -> Iterable[list[Cell]]:
    """Every line of a table with margins: its entries, the total last."""
    for axis, size in enumerate(shape):
        for fixed in itertools.product(*(range(s) for a, s in enumerate(shape) if a != axis)):
            yield [(*fixed[:axis], i, *fixed[axis:]) for i in range(size)]


def _relations(
    shape: Sequence[int], entries: Mapping[Cell, str], hidden: str, dropped: set[int] = frozenset()
) -> tuple[list[Cell], np.ndarray, np.ndarray]:
    """(hidden cells, A, b): the additive relations (but the ``dropped`` lines) on the hidden
    entries, A x = b."""
    unknown = [cell for cell in itertools.product(*(range(s) for s in shape)) if entries[cell] == hidden]
    position = {cell: p for p, cell in enumerate(unknown)}
    rows, rhs = [], []
    for number, line in enumerate(_lines(shape)):
        if number in dropped:
            continue
        row = np.zeros(len(unknown))
        constant = 0.0
        for j, cell in enumerate(line):
            sign = -1.0 if j == len(line) - 1 else 1.0
            if cell in position:
                row[position[cell]] += sign
            else:
                constant += sign * float(entries[cell])
        if row.any():
            rows.append(row)
            rhs.append(-constant)
    return unknown, np.asarray(rows).reshape(len(rows), len(unknown)), np.asarray(rhs)


def _lp_intervals(a: np.ndarray, b: np.ndarray, lows: np.ndarray) -> list[tuple[float, float]] | None:
    n = len(lows)
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, len(a)
    lp.col_cost_ = np.zeros(n)
    lp.col_lower_ = lows.astype(float)
    lp.col_upper_ = np.full(n, highspy.kHighsInf)
    lp.row_lower_ = lp.row_upper_ = b.astype(float)
    columns = [np.flatnonzero(a[:, p]) for p in range(n)]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.cumsum([0] + [len(c) for c in columns]).astype(np.int32)
    lp.a_matrix_.index_ = np.concatenate(columns or [np.zeros(0)]).astype(np.int32)
    lp.a_matrix_.value_ = np.concatenate([a[c, p] for p, c in enumerate(columns)] or [np.zeros(0)]).astype(float)
    highs.passModel(lp)
    status = _solve(highs)
    if status != highspy.HighsModelStatus.kOptimal:  # zero objective: only feasibility asked
        assert status == highspy.HighsModelStatus.kInfeasible, highs.modelStatusToString(status)
        return None
    out = []
    for p in range(n):
        highs.changeColCost(p, 1.0)
        ends = []
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            highs.changeObjectiveSense(sense)
            status = _solve(highs)
            if status == highspy.HighsModelStatus.kOptimal:
                ends.append(round(highs.getInfo().objective_function_value))
            else:  # the system is feasible (checked above), so anything else is unbounded
                assert status in _UNBOUNDED, highs.modelStatusToString(status)
                ends.append(math.inf)
        highs.changeColCost(p, 0.0)
        out.append((ends[0], ends[1]))
    return out


_UNBOUNDED = (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible)
_DECIDED = (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kInfeasible, *_UNBOUNDED)


def _solve(highs: highspy.Highs) -> highspy.HighsModelStatus:
    """Run from the previous basis (warm start); from scratch when that leaves the status open."""
    highs.run()
    status = highs.getModelStatus()
    if status not in _DECIDED:
        highs.clearSolver()
        highs.run()
        status = highs.getModelStatus()
    return status


def _milp_intervals(a: np.ndarray, b: np.ndarray, lows: np.ndarray) -> list[tuple[float, float]] | None:
    n = len(lows)
    constraints = [LinearConstraint(a, b, b)] if len(a) else []
    bounds = Bounds(lows.astype(float), np.full(n, np.inf))
    out = []
    for p in range(n):
        ends = []
        for sense in (1.0, -1.0):
            c = np.zeros(n)
            c[p] = sense
            result = milp(c, constraints=constraints, integrality=np.ones(n), bounds=bounds)
            if result.status == 2:  # infeasible
                return None
            if result.status == 3 or result.x is None:  # unbounded
                ends.append(math.inf)
                continue
            assert result.status == 0, result.message
            ends.append(round(sense * result.fun))
        out.append((ends[0], ends[1]))
    return out


def integer_intervals(
    shape: Sequence[int],
    entries: Mapping[Cell, str],
    hidden: str,
    lower: int | Mapping[Cell, int] = 1,
    dropped: set[int] = frozenset(),
) -> dict[Cell, tuple[float, float]] | None:
    """Per hidden entry, (min, max) over integer tables consistent with the published entries
    (but the ``dropped`` lines, numbered as :func:`_lines` yields them) and hidden entries >=
    ``lower`` (one bound for all, or per entry); None when no such table exists (the attacker's
    premise is false). Unbounded maxima are ``inf``."""
    unknown, a, b = _relations(shape, entries, hidden, dropped)
    if not unknown:
        return {}
    lows = np.asarray([lower if isinstance(lower, int) else lower.get(cell, 0) for cell in unknown])
    solve = _lp_intervals if len(shape) == 2 else _milp_intervals
    ends = solve(a, b, lows)
    return None if ends is None else dict(zip(unknown, ends, strict=True))


def recovered(intervals: Mapping[Cell, tuple[float, float]] | None) -> list[Cell]:
    """Hidden entries pinned down to one value."""
    if intervals is None:
        return []
    return [cell for cell, (low, high) in intervals.items() if low == high]


def _line_alone(line: list[Cell], entries: Mapping[Cell, str], hidden: str, lower: int) -> dict[Cell, int] | None:
    """A line on its own: the entries it pins (or None when it contradicts ``lower``)."""
    total = entries[line[-1]]
    inner = [cell for cell in line[:-1] if entries[cell] == hidden]
    if total == hidden or not inner:
        return {}
    rest = int(total) - sum(int(entries[cell]) for cell in line[:-1] if entries[cell] != hidden)
    room = rest - lower * len(inner)
    if room < 0:
        return None
    if room == 0:
        return {cell: lower for cell in inner}
    return {inner[0]: rest} if len(inner) == 1 else {}


def strongest_attack(shape: Sequence[int], entries: Mapping[Cell, str], hidden: str) -> dict[Cell, int]:
    """Every hidden entry pinned by some attack on the table, with the value it is pinned to."""
    pinned: dict[Cell, int] = {}
    for lower in (0, 1):
        contradicting = set()
        for number, line in enumerate(_lines(shape)):
            alone = _line_alone(line, entries, hidden, lower)
            if alone is None:
                contradicting.add(number)
            else:
                pinned.update(alone)
        intervals = integer_intervals(shape, entries, hidden, lower)
        if intervals is None and contradicting:
            intervals = integer_intervals(shape, entries, hidden, lower, dropped=contradicting)
        for cell in recovered(intervals):
            pinned[cell] = int(intervals[cell][0])
    return pinned


def averaged_guess(releases: Sequence[Mapping[tuple[str, ...], str]]) -> dict[tuple[str, ...], int]:
    """Average each published entry over the releases and round: the repeated-request attack."""
    out: dict[tuple[str, ...], int] = {}
    for key in releases[0]:
        values = [float(r[key]) for r in releases if r.get(key, "").lstrip("-").isdigit()]
        if len(values) == len(releases):
            out[key] = round(sum(values) / len(values))
    return out
