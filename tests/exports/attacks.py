"""The recovery attacks of the disclosure review, written without any code of casework.exports.

- :func:`integer_intervals`: the integer programme an attacker solves against a published
  suppressed table: every line sums to its total, hidden entries are integers at least
  ``lower`` (1: "zeros are published, so a hidden cell holds someone"), and for each hidden
  entry the smallest and largest value consistent with everything published (HiGHS through
  ``scipy.optimize.milp``). An entry whose interval is a single value is recovered.
- :func:`averaged_guess`: the repeated-request attack: average what many releases published
  for each entry and round.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp


def _relations(
    shape: Sequence[int], entries: Mapping[tuple[int, ...], str], hidden: str
) -> tuple[list[tuple[int, ...]], np.ndarray, np.ndarray]:
    """(hidden cells, A, b): the additive relations restricted to the hidden entries, A x = b."""
    unknown = [cell for cell in itertools.product(*(range(s) for s in shape)) if entries[cell] == hidden]
    position = {cell: p for p, cell in enumerate(unknown)}
    rows, rhs = [], []
    for axis, size in enumerate(shape):
        for fixed in itertools.product(*(range(s) for a, s in enumerate(shape) if a != axis)):
            line = [(*fixed[:axis], i, *fixed[axis:]) for i in range(size)]
            row = np.zeros(len(unknown))
            constant = 0.0
            for j, cell in enumerate(line):
                sign = -1.0 if j == size - 1 else 1.0
                if cell in position:
                    row[position[cell]] += sign
                else:
                    constant += sign * float(entries[cell])
            if row.any():
                rows.append(row)
                rhs.append(-constant)
    return unknown, np.asarray(rows), np.asarray(rhs)


def integer_intervals(
    shape: Sequence[int],
    entries: Mapping[tuple[int, ...], str],
    hidden: str,
    lower: int | Mapping[tuple[int, ...], int] = 1,
) -> dict[tuple[int, ...], tuple[float, float]] | None:
    """Per hidden entry, (min, max) over integer tables consistent with the published entries
    and hidden entries >= ``lower`` (one bound for all, or per entry); None when no such table
    exists (the attacker's premise is false). Unbounded maxima are ``inf``."""
    unknown, a, b = _relations(shape, entries, hidden)
    if not unknown:
        return {}
    constraints = [LinearConstraint(a, b, b)] if len(a) else []
    integrality = np.ones(len(unknown))
    lows = [float(lower if isinstance(lower, int) else lower.get(cell, 0)) for cell in unknown]
    bounds = Bounds(np.asarray(lows), np.full(len(unknown), np.inf))
    out: dict[tuple[int, ...], tuple[float, float]] = {}
    for p, cell in enumerate(unknown):
        ends = []
        for sense in (1.0, -1.0):
            c = np.zeros(len(unknown))
            c[p] = sense
            result = milp(c, constraints=constraints, integrality=integrality, bounds=bounds)
            if result.status == 2:  # infeasible
                return None
            if result.status == 3 or result.x is None:  # unbounded
                ends.append(np.inf if sense < 0 else -np.inf)
                continue
            assert result.status == 0, result.message
            ends.append(round(sense * result.fun))
        out[cell] = (ends[0], ends[1])
    return out


def recovered(intervals: Mapping[tuple[int, ...], tuple[float, float]] | None) -> list[tuple[int, ...]]:
    """Hidden entries pinned down to one value."""
    if intervals is None:
        return []
    return [cell for cell, (low, high) in intervals.items() if low == high]


def averaged_guess(releases: Sequence[Mapping[tuple[str, ...], str]]) -> dict[tuple[str, ...], int]:
    """Average each published entry over the releases and round: the repeated-request attack."""
    out: dict[tuple[str, ...], int] = {}
    for key in releases[0]:
        values = [float(r[key]) for r in releases if r.get(key, "").lstrip("-").isdigit()]
        if len(values) == len(releases):
            out[key] = round(sum(values) / len(values))
    return out
