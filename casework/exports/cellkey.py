"""The cell-key perturbation of published tables: noise per cell, the same for the same cell and
count whatever the query and whenever it is asked.

A cell's identity is canonical across queries: the counting unit and the (dimension, category)
pairs that are not totals, sorted by dimension; so the women's total of a table by gender and
citizenship is the same cell as the women's entry of a table by gender alone. Its noise is a
two-sided geometric (discrete Laplace) draw of the policy's scale at the cell key's number
(inverse distribution function). The support is unbounded: however many tables an attacker
combines, no count is pinned to one value by the noise bounds.
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Sequence

import numpy as np

from casework.crypto import cell_key
from casework.exports.aggregates import TOTAL


def identity(unit: str, dimensions: Sequence[str], labels: Sequence[str], count: int) -> str:
    pairs = sorted((d, v) for d, v in zip(dimensions, labels, strict=True) if v != TOTAL)
    return f"{unit}|" + "|".join(f"{d}={v}" for d, v in pairs) + f"|n={count}"


def geometric(u: np.ndarray, scale: float) -> np.ndarray:
    """Two-sided geometric noise with P(n) proportional to exp(-|n| / scale), at quantiles ``u``."""
    alpha = math.exp(-1.0 / scale)
    u = np.clip(np.asarray(u, dtype=np.float64), 1e-15, 1 - 1e-15)
    negative = u < alpha / (1 + alpha)
    log_alpha = math.log(alpha)
    below = -np.floor(np.log(u * (1 + alpha)) / log_alpha)
    above = np.maximum(0, np.ceil(np.log((1 - u) * (1 + alpha)) / log_alpha - 1e-12) - 1)
    return np.where(negative, below, above).astype(np.int64)


def table_noise(
    dataset: uuid.UUID,
    unit: str,
    dimensions: Sequence[str],
    categories: Sequence[Sequence[str]],
    full: np.ndarray,
    scale: float,
    root: bytes | None = None,
) -> np.ndarray:
    """Noise for every entry of a table with margins (``full``: true counts)."""
    key = cell_key.dataset_key(dataset, root)
    labels = [(*cats, TOTAL) for cats in categories]
    names = []
    for index in itertools.product(*(range(len(lab)) for lab in labels)):
        names.append(identity(unit, dimensions, [labels[a][i] for a, i in enumerate(index)], int(full[index])))
    return geometric(cell_key.uniforms(key, names), scale).reshape(full.shape)
