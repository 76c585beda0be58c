"""Independent checkers for export outputs: written without any code of casework.exports.

- k-anonymity: a brute-force count of identical rows (tuples of the CSV text read back with
  the csv module), so a bug in the engine's packed keys cannot hide a violation; pycanon as a
  second opinion on data frames.
- tables: for every suppressed entry, the interval of values consistent with everything
  published (the additive relations of the table, non-negative counts), by linear
  programming; an entry is recovered when its interval is a single value.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from scipy.optimize import linprog


def read_csv(text: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def smallest_group(rows: Iterable[Sequence[str]], columns: Sequence[int] | None = None) -> int:
    """The size of the smallest group of rows identical on ``columns`` (all by default)."""
    counts = Counter(tuple(row) if columns is None else tuple(row[i] for i in columns) for row in rows)
    return min(counts.values()) if counts else 0


def assert_k_anonymous(rows: Sequence[Sequence[str]], k: int, columns: Sequence[int] | None = None) -> None:
    if not rows:
        return
    smallest = smallest_group(rows, columns)
    assert smallest >= k, f"a combination is shared by only {smallest} rows (k = {k})"


def pycanon_k(rows: Sequence[Sequence[str]], header: Sequence[str], columns: Sequence[str]) -> int:
    import pandas as pd
    from pycanon import anonymity

    frame = pd.DataFrame([list(r) for r in rows], columns=list(header))
    return int(anonymity.k_anonymity(frame, list(columns)))


def long_table_to_array(
    rows: Sequence[Sequence[str]], dims: int, total: str = "Total"
) -> tuple[list[list[str]], dict[tuple[int, ...], str]]:
    """Long-format table rows (no header) -> per-axis labels (total last) and entry text."""
    labels: list[list[str]] = [[] for _ in range(dims)]
    for row in rows:
        for axis in range(dims):
            if row[axis] not in labels[axis]:
                labels[axis].append(row[axis])
    for axis in range(dims):
        labels[axis] = [v for v in labels[axis] if v != total] + [total]
    entries = {tuple(labels[a].index(row[a]) for a in range(dims)): row[dims] for row in rows}
    return labels, entries


def recoverable_entries(shape: Sequence[int], entries: dict[tuple[int, ...], str], hidden: str) -> list[tuple]:
    """Suppressed entries whose value is pinned down by the published ones (LP: min == max).

    Every line of the table (all indexes fixed but one) sums, over its inner entries, to its
    last entry (the total). Unknowns are the suppressed entries, non-negative.
    """
    index = list(itertools.product(*(range(s) for s in shape)))
    unknown = [i for i in index if entries[i] == hidden]
    if not unknown:
        return []
    position = {cell: p for p, cell in enumerate(unknown)}
    a_eq, b_eq = [], []
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
                a_eq.append(row)
                b_eq.append(-constant)
    recovered = []
    for p, cell in enumerate(unknown):
        bounds = []
        for sense in (1.0, -1.0):
            c = np.zeros(len(unknown))
            c[p] = sense
            result = linprog(c, A_eq=np.array(a_eq), b_eq=np.array(b_eq), bounds=(0, None), method="highs")
            if result.status == 3:  # unbounded: nothing pins this entry down
                bounds.append(sense * np.inf)
                continue
            assert result.status == 0, result.message
            bounds.append(sense * result.fun)
        if abs(bounds[0] - bounds[1]) < 1e-6:
            recovered.append(cell)
    return recovered
