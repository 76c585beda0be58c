"""Two classic k-anonymisers on the engine's integer codes, as baselines for the export benchmark.

- Mondrian (LeFevre et al. 2006, strict multidimensional partitioning): split a partition at
  the median code of the attribute with the most distinct values in it, as long as both halves
  keep k rows; a leaf releases, per attribute, the value its rows share, else their common
  generalised value (the attribute's hierarchy), else -99.
- Datafly (Sweeney 1998, full-domain generalisation): while more rows than the suppression
  limit are in classes smaller than k, generalise the attribute with the most distinct values
  one level for every row (its last level: -99 for all); then the remaining small classes are
  set to -99 whole.

Both work on ``(rows, attributes)`` codes with the engine's Attribute (code 0 = -99) and are
checked for k by the benchmark like every other method.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from casework.exports.anonymise import Attribute, equivalence_classes
from casework.exports.recode import level_tables


def mondrian(codes: np.ndarray, attributes: Sequence[Attribute], k: int) -> np.ndarray:
    n, m = codes.shape
    data = np.asarray(codes, dtype=np.int64)
    out = np.zeros_like(data)
    levels = [level_tables(a) for a in attributes]
    stack = [np.arange(n)]
    while stack:
        rows = stack.pop()
        part = data[rows]
        distinct = [np.unique(part[:, j]).size for j in range(m)]
        split = False
        for j in np.argsort(distinct)[::-1]:
            if distinct[j] < 2:
                break
            values = np.sort(part[:, j])
            median = values[len(values) // 2]
            left = part[:, j] < median
            if left.sum() < k or (~left).sum() < k:
                left = part[:, j] <= median
            if k <= left.sum() <= len(rows) - k:
                stack.append(rows[left])
                stack.append(rows[~left])
                split = True
                break
        if split:
            continue
        for j in range(m):
            column = part[:, j]
            released = 0
            for table in levels[j]:
                coarse = table[column]
                if (coarse == coarse[0]).all():
                    released = int(coarse[0])
                    break
            out[rows, j] = released
    return out.astype(codes.dtype)


def datafly(codes: np.ndarray, attributes: Sequence[Attribute], k: int, suppression: float = 0.05) -> np.ndarray:
    data = np.asarray(codes, dtype=np.int64).copy()
    n, m = data.shape
    cards = [a.cardinality for a in attributes]
    levels = [level_tables(a) for a in attributes]
    level_of = [0] * m
    original = data.copy()
    while True:
        class_ids, sizes = equivalence_classes(data, cards)
        small = sizes[class_ids] < k
        if small.sum() <= suppression * n:
            break
        candidates = [j for j in range(m) if level_of[j] <= len(levels[j]) - 1 and np.unique(data[:, j]).size > 1]
        if not candidates:
            break
        j = max(candidates, key=lambda c: np.unique(data[:, c]).size)
        level_of[j] += 1
        if level_of[j] < len(levels[j]):
            data[:, j] = levels[j][level_of[j]][original[:, j]]
        else:
            data[:, j] = 0
    class_ids, sizes = equivalence_classes(data, cards)
    data[sizes[class_ids] < k] = 0
    return data.astype(codes.dtype)
