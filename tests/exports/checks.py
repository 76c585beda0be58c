"""Independent checkers for export outputs: written without any code of casework.exports.

- k-anonymity: a brute-force count of identical rows (tuples of the CSV text read back with
  the csv module), so a bug in the engine's packed keys cannot hide a violation; pycanon as a
  second opinion on data frames.
- tables: the attacks in tests/exports/attacks.py (integer programming over what is published).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence


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
