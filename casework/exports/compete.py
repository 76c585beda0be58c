"""The engine's last phase: which of the most fragmenting attributes pays, class by class.

After the cheap attributes are in the partition, the few attributes with the most values (a
view's citizenship, country of exploitation, year and age band) compete: whichever is added to
a class last loses most of its values there. One global order would make the same attribute
lose everywhere (citizenship and country of exploitation kept in 0-26% of rows at k = 11 on the
skewed 50,000-case table). Instead each class gets its own order: every order of the
competitors is tried on a sample (coarse level first, then refined), the share of known values
each keeps is counted per class, and classes are assigned orders, largest first, so as to raise
the worst-kept competitor's share. Classes are independent, so mixing orders keeps k.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from casework.exports.recode import Attribute, Codes, IntArray, coarse_step, refine_step

#: At most this many competitors (their orders are all tried: 4! = 24).
MAX_COMPETITORS = 4
#: The competition runs when the classes hold on average at least this many times k rows.
MIN_MEAN_CLASS = 4
#: Orders are chosen on at most this many rows.
SAMPLE_ROWS = 100_000
#: Classes beyond this many (smallest first) take their own best order without the balancing.
BALANCED_CLASSES = 3000


def _play(
    coarse: Codes,
    levels: Sequence[Sequence[IntArray]],
    fine: Codes,
    class_ids: IntArray,
    n_classes: int,
    order: Sequence[int],
    attributes: Sequence[Attribute],
    k: int,
) -> tuple[Codes, IntArray, int]:
    """Add the columns of ``coarse`` (competitors at their coarsest level, in ``order`` given as
    column positions) to the partition, then refine each, level by level, in the same order."""
    out = coarse.copy(order="F")
    for p in order:
        values = out[:, p].astype(np.int64)
        class_ids, n_classes = coarse_step(values, class_ids, n_classes, attributes[p], k)
        out[:, p] = values
    for p in order:
        values = out[:, p].astype(np.int64)
        for table in reversed(levels[p][:-1]):  # one level finer each time, down to the codes
            class_ids, n_classes = refine_step(values, table[fine[:, p]], class_ids, n_classes,
                                               attributes[p].cardinality, k)  # fmt: skip
        out[:, p] = values
    return out, class_ids, n_classes


def choose(
    coarse: Codes,
    levels: Sequence[Sequence[IntArray]],
    fine: Codes,
    class_ids: IntArray,
    n_classes: int,
    attributes: Sequence[Attribute],
    k: int,
    objective: str,
    rng: np.random.Generator,
) -> tuple[tuple[tuple[int, ...], ...], IntArray]:
    """The orders tried and, per class, the one it takes. ``coarse``/``fine``/``levels`` and
    ``attributes`` are the competitors' (columns 0..m-1). ``objective``: "exact" (the share of
    known values kept as they are) or "coarse" (kept at some level first, then as they are)."""
    n, m = coarse.shape
    orders = tuple(itertools.permutations(range(m)))
    if n_classes == 0 or len(orders) == 1:
        return orders, np.zeros(n_classes, dtype=np.int64)
    rows = np.sort(rng.choice(n, SAMPLE_ROWS, replace=False)) if n > SAMPLE_ROWS else np.arange(n)
    sample_k = max(2, math.ceil(k * rows.size / n))
    present, local = np.unique(class_ids[rows], return_inverse=True)
    known = fine[rows] != 0
    exact = np.zeros((len(orders), n_classes, m))
    some = np.zeros((len(orders), n_classes, m))
    for o, order in enumerate(orders):
        out, _, _ = _play(coarse[rows], levels, fine[rows], local.astype(np.int64), present.size, order,
                          attributes, sample_k)  # fmt: skip
        for p in range(m):
            exact[o, present, p] = np.bincount(local, weights=known[:, p] & (out[:, p] == fine[rows, p]),
                                               minlength=present.size)  # fmt: skip
            some[o, present, p] = np.bincount(local, weights=known[:, p] & (out[:, p] != 0), minlength=present.size)
    known_total = np.maximum(known.sum(axis=0), 1)
    primary, secondary = (some, exact) if objective == "coarse" else (exact, exact)
    sizes = np.bincount(local, minlength=present.size)
    by_size = present[np.argsort(-sizes, kind="stable")]
    # Every class starts with its own best order (most values kept, primary first).
    score = primary.sum(axis=2) * (m + 1) + secondary.sum(axis=2)
    choice = score.argmax(axis=0).astype(np.int64)
    total_p = primary[choice, np.arange(n_classes)].sum(axis=0)
    total_s = secondary[choice, np.arange(n_classes)].sum(axis=0)
    for _sweep in range(2):
        for c in by_size[:BALANCED_CLASSES]:
            base_p = total_p - primary[choice[c], c]
            base_s = total_s - secondary[choice[c], c]
            candidate_p = (base_p + primary[:, c]) / known_total
            candidate_s = (base_s + secondary[:, c]) / known_total
            key = np.lexsort((candidate_s.mean(axis=1), candidate_s.min(axis=1), candidate_p.min(axis=1)))
            best = int(key[-1])
            choice[c] = best
            total_p = base_p + primary[best, c]
            total_s = base_s + secondary[best, c]
    return orders, choice


def apply(
    work: Codes,
    original: Codes,
    competitors: Sequence[int],
    levels: Sequence[Sequence[IntArray]],
    class_ids: IntArray,
    n_classes: int,
    attributes: Sequence[Attribute],
    k: int,
    objective: str,
    rng: np.random.Generator,
) -> tuple[IntArray, int]:
    """Run the competition on ``work`` (competitor columns at their coarsest level), in place;
    returns the final class ids and their number."""
    columns = list(competitors)
    sub_attributes = [attributes[j] for j in columns]
    sub_levels = [levels[j] for j in columns]
    coarse = work[:, columns]
    fine = original[:, columns]
    orders, order_of_class = choose(coarse, sub_levels, fine, class_ids, n_classes, sub_attributes, k, objective, rng)
    order_of_row = order_of_class[class_ids]
    new_ids = np.empty_like(class_ids)
    offset = 0
    for o in np.unique(order_of_row):
        rows = np.flatnonzero(order_of_row == o)
        present, local = np.unique(class_ids[rows], return_inverse=True)
        out, ids, count = _play(coarse[rows], sub_levels, fine[rows], local.astype(np.int64), present.size,
                                orders[int(o)], sub_attributes, k)  # fmt: skip
        for p, j in enumerate(columns):
            work[rows, j] = out[:, p]
        new_ids[rows] = ids + offset
        offset += count
    return new_ids, offset
