"""How useful a release is: errors of its 1-, 2- and 3-way marginals against the true data.

Computed inside the system, over codes, and only ever reported as summaries per order (how many
marginals, their mean and largest total variation distance): never a cell, never a count. The
total variation distance of two distributions is half the sum of the absolute differences of
their shares (0: identical, 1: disjoint).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

#: At most this many marginals of each order are measured (a random choice beyond).
MAX_MARGINALS = 60
#: Rows beyond this many are sampled (each side on its own).
MAX_ROWS = 200_000


def _sample(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if codes.shape[0] <= MAX_ROWS:
        return codes
    return codes[np.sort(rng.choice(codes.shape[0], MAX_ROWS, replace=False))]


def _shares(codes: np.ndarray, columns: Sequence[int], cardinalities: Sequence[int]) -> dict[int, float]:
    keys = np.zeros(codes.shape[0], dtype=np.int64)
    for j in columns:
        keys = keys * int(cardinalities[j]) + codes[:, j].astype(np.int64)
    values, counts = np.unique(keys, return_counts=True)
    total = max(codes.shape[0], 1)
    return dict(zip(values.tolist(), (counts / total).tolist(), strict=True))


def marginal_errors(
    true: np.ndarray, released: np.ndarray, cardinalities: Sequence[int], rng: np.random.Generator | None = None
) -> dict[str, dict[str, float]]:
    """Per order ("1", "2", "3"): marginals measured, mean and max total variation distance.
    ``true`` and ``released`` are (rows, columns) codes over the same columns (row counts may
    differ: synthetic data)."""
    rng = rng or np.random.default_rng()
    m = true.shape[1]
    true, released = _sample(true, rng), _sample(released, rng)
    out: dict[str, dict[str, float]] = {}
    for order in (1, 2, 3):
        if order > m:
            continue
        combos = list(itertools.combinations(range(m), order))
        if len(combos) > MAX_MARGINALS:
            picked = rng.choice(len(combos), MAX_MARGINALS, replace=False)
            combos = [combos[i] for i in sorted(picked)]
        distances = []
        for columns in combos:
            p = _shares(true, columns, cardinalities)
            q = _shares(released, columns, cardinalities)
            distances.append(0.5 * sum(abs(p.get(key, 0.0) - q.get(key, 0.0)) for key in p.keys() | q.keys()))
        out[str(order)] = {
            "marginals": len(distances),
            "of": math.comb(m, order),
            "mean": round(float(np.mean(distances)), 4) if distances else 0.0,
            "max": round(float(np.max(distances)), 4) if distances else 0.0,
        }
    return out


def table_errors(true: np.ndarray, released: np.ndarray) -> dict[str, float]:
    """A DP table against the true one (inner cells, no margins): mean absolute error per cell
    and the total variation distance of the whole table and of each dimension's margin."""
    true = np.asarray(true, dtype=np.float64)
    released = np.clip(np.asarray(released, dtype=np.float64), 0, None)

    def tvd(a: np.ndarray, b: np.ndarray) -> float:
        sa, sb = max(a.sum(), 1.0), max(b.sum(), 1.0)
        return round(float(0.5 * np.abs(a / sa - b / sb).sum()), 4)

    out = {"mean_absolute_error": round(float(np.abs(true - released).mean()), 3), "table": tvd(true, released)}
    for axis in range(true.ndim):
        others = tuple(a for a in range(true.ndim) if a != axis)
        out[f"margin_{axis + 1}"] = tvd(true.sum(axis=others), released.sum(axis=others))
    return out
