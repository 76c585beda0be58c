"""The anonymisation engine, checked by an independent brute-force count of identical rows."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.exports.anonymise import (
    MISSING_CODE,
    Attribute,
    NotEnoughRows,
    anonymise,
    equivalence_classes,
    naive_suppression,
)
from tests.exports.checks import assert_k_anonymous, smallest_group


def brute_force_smallest(codes: np.ndarray, columns: list[int]) -> int:
    """Independent of the engine: count identical tuples of Python ints."""
    return smallest_group([tuple(int(v) for v in row) for row in codes.tolist()], columns)


def allowed_values(attribute: Attribute, value: int) -> set[int]:
    """What a released cell may hold for an input value: itself, a coarser level, or missing."""
    values = {value, MISSING_CODE}
    current = value
    for level in attribute.hierarchy:
        current = level[current]
        values.add(current)
    return values


def check_result(codes, attributes, k, result, qi=None) -> None:
    """Every property the engine promises, checked without its own grouping code."""
    qi_idx = [j for j, a in enumerate(attributes) if qi is None or a.name in qi]
    out, report = result.codes, result.report
    assert out.shape == codes.shape  # never drops a row
    assert report.rows_in == report.rows_out == codes.shape[0]
    assert sorted(result.source_rows.tolist()) == list(range(codes.shape[0]))
    source = codes[result.source_rows]
    assert_k_anonymous([tuple(row) for row in out.tolist()], k, qi_idx)
    if codes.shape[0]:
        assert report.smallest_class == brute_force_smallest(out, qi_idx) >= k
    for j, attribute in enumerate(attributes):
        if j not in qi_idx:
            assert np.array_equal(out[:, j], source[:, j]), "a column outside the quasi-identifiers changed"
            continue
        for before, after in zip(source[:, j].tolist(), out[:, j].tolist(), strict=True):
            assert after in allowed_values(attribute, before)
        lost = int(np.count_nonzero((source[:, j] != MISSING_CODE) & (out[:, j] == MISSING_CODE)))
        assert report.cells_suppressed[attribute.name] == lost


def skewed(rng: np.random.Generator, n: int, cards: list[int], skew: float) -> np.ndarray:
    columns = []
    for card in cards:
        weights = 1.0 / np.arange(1, card + 1) ** skew
        columns.append(rng.choice(card, size=n, p=weights / weights.sum()))
    return np.stack(columns, axis=1).astype(np.uint8) if cards else np.zeros((n, 0), dtype=np.uint8)


AGE_LIKE = Attribute("age", 6, ((0, 4, 4, 5, 4, 5),))  # codes 1..3 -> coarse 4/5; coarse map to themselves


@st.composite
def datasets(draw: st.DrawFn) -> tuple[np.ndarray, list[Attribute], int, int]:
    n = draw(st.integers(0, 150))
    cards = draw(st.lists(st.integers(1, 7), min_size=1, max_size=6))
    with_hierarchy = draw(st.booleans())
    k = draw(st.integers(2, 12))
    skew = draw(st.floats(0.0, 2.5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    attributes = [Attribute(f"a{j}", card) for j, card in enumerate(cards)]
    codes = skewed(rng, n, cards, skew)
    if with_hierarchy:
        attributes.append(AGE_LIKE)
        codes = np.concatenate([codes, rng.choice(4, size=(n, 1)).astype(np.uint8)], axis=1)
    return codes, attributes, k, seed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_every_output_is_k_anonymous_and_only_suppresses_or_generalises(data) -> None:
    codes, attributes, k, seed = data
    if 0 < codes.shape[0] < k:
        with pytest.raises(NotEnoughRows):
            anonymise(codes, attributes, k, seed=seed)
        return
    result = anonymise(codes, attributes, k, seed=seed)
    check_result(codes, attributes, k, result)


@settings(max_examples=60, deadline=None)
@given(datasets())
def test_the_naive_baseline_is_k_anonymous_too(data) -> None:
    codes, attributes, k, seed = data
    result = naive_suppression(codes, attributes, k, seed=seed)
    out = result.codes
    assert out.shape[0] + result.report.rows_dropped == codes.shape[0]
    assert_k_anonymous([tuple(row) for row in out.tolist()], k)


def test_empty_data() -> None:
    attributes = [Attribute("a", 3), Attribute("b", 2)]
    result = anonymise(np.zeros((0, 2), dtype=np.uint8), attributes, 11)
    assert result.codes.shape == (0, 2)
    assert result.report.rows_out == 0 and result.report.smallest_class == 0


def test_one_case_and_k_larger_than_the_data_release_nothing_unless_dropping_is_allowed() -> None:
    attributes = [Attribute("a", 3)]
    for n in (1, 10):
        codes = np.ones((n, 1), dtype=np.uint8)
        with pytest.raises(NotEnoughRows):
            anonymise(codes, attributes, 11)
        dropped = anonymise(codes, attributes, 11, allow_drop=True)
        assert dropped.codes.shape == (0, 1)
        assert dropped.report.rows_dropped == n


def test_every_case_unique() -> None:
    rng = np.random.default_rng(3)
    n = 60
    attributes = [Attribute("id_like", 64), Attribute("b", 5), Attribute("c", 3)]
    codes = np.stack([rng.permutation(np.arange(1, n + 1)), rng.integers(1, 5, n), rng.integers(1, 3, n)], axis=1)
    codes = codes.astype(np.uint8)
    assert brute_force_smallest(codes, [0, 1, 2]) == 1
    result = anonymise(codes, attributes, 11, seed=1)
    check_result(codes, attributes, 11, result)
    assert result.report.cells_suppressed["id_like"] == n  # a unique value can never be kept


def test_k_equal_to_the_data_gives_one_class() -> None:
    rng = np.random.default_rng(5)
    codes = rng.integers(1, 4, size=(11, 3)).astype(np.uint8)
    attributes = [Attribute(name, 4) for name in "abc"]
    result = anonymise(codes, attributes, 11)
    check_result(codes, attributes, 11, result)
    assert result.report.classes == 1


def test_missing_counts_as_a_value_when_grouping() -> None:
    # Nine rows of (1,1) and two of (0,0): with k = 11 the only k-anonymous release is one
    # class; the engine may not treat -99 as a wildcard that "matches" the other rows.
    codes = np.array([[1, 1]] * 9 + [[0, 0]] * 2, dtype=np.uint8)
    attributes = [Attribute("a", 2), Attribute("b", 2)]
    result = anonymise(codes, attributes, 11)
    assert Counter(map(tuple, result.codes.tolist())) == Counter({(0, 0): 11})


def test_generalisation_is_tried_before_suppression() -> None:
    # Codes 1 and 2 share the coarse code 4: each alone is too rare, together they are not.
    codes = np.array([[1]] * 6 + [[2]] * 6 + [[3]] * 12, dtype=np.uint8)
    result = anonymise(codes, [AGE_LIKE], 11, seed=2)
    check_result(codes, [AGE_LIKE], 11, result)
    assert result.report.cells_generalised["age"] == 12
    assert result.report.cells_suppressed["age"] == 0


def test_a_seed_repeats_the_choices_but_never_the_row_order() -> None:
    """The seed makes the engine's own choices reproducible; the order of the rows released is
    always a fresh secret permutation (a known seed once gave the same order every time)."""
    rng = np.random.default_rng(11)
    codes = skewed(rng, 500, [5, 4, 6, 3], 1.2)
    attributes = [Attribute(f"a{j}", c) for j, c in enumerate([5, 4, 6, 3])]
    first = anonymise(codes, attributes, 5, seed=42)
    second = anonymise(codes, attributes, 5, seed=42)
    same_rows = lambda result: sorted(map(tuple, result.codes[np.argsort(result.source_rows)].tolist()))  # noqa: E731
    assert same_rows(first) == same_rows(second)  # the same release, as a set of rows
    assert not np.array_equal(first.source_rows, second.source_rows)  # in a different order
    assert not np.array_equal(first.source_rows, np.arange(500))


def test_priority_columns_lose_no_more_than_without_priority() -> None:
    rng = np.random.default_rng(7)
    cards = [12, 9, 7, 5, 4, 3, 3, 3]
    codes = skewed(rng, 3000, cards, 1.1)
    attributes = [Attribute(f"a{j}", c) for j, c in enumerate(cards)]
    plain = anonymise(codes, attributes, 11, seed=1)
    # The column that lost most without priority, kept first.
    worst = max(plain.report.cells_suppressed, key=plain.report.cells_suppressed.get)
    kept = anonymise(codes, attributes, 11, seed=1, priority=[worst])
    check_result(codes, attributes, 11, kept)
    assert kept.report.cells_suppressed[worst] <= plain.report.cells_suppressed[worst]


def test_bad_input_is_refused() -> None:
    attributes = [Attribute("a", 3)]
    codes = np.ones((20, 1), dtype=np.uint8)
    with pytest.raises(ValueError, match="k must be"):
        anonymise(codes, attributes, 1)
    with pytest.raises(ValueError, match="cardinality"):
        anonymise(np.full((20, 1), 5, dtype=np.uint8), attributes, 2)
    with pytest.raises(ValueError, match="objective"):
        anonymise(codes, attributes, 2, objective="nope")
    with pytest.raises(ValueError, match="priority"):
        anonymise(codes, attributes, 2, priority=["nope"])
    with pytest.raises(ValueError):
        Attribute("h", 3, ((0, 1),))


def test_equivalence_classes_match_a_brute_force_count() -> None:
    rng = np.random.default_rng(9)
    codes = skewed(rng, 400, [3, 4, 2, 5], 0.8)
    class_ids, sizes = equivalence_classes(codes)
    counts = Counter(map(tuple, codes.tolist()))
    for row, class_id in zip(codes.tolist(), class_ids.tolist(), strict=True):
        assert sizes[class_id] == counts[tuple(row)]


def test_pycanon_agrees_on_a_larger_skewed_release() -> None:
    import pandas as pd
    from pycanon import anonymity

    rng = np.random.default_rng(13)
    cards = [16, 5, 12, 3, 3, 3, 3, 3, 40]
    codes = skewed(rng, 5000, cards, 1.3)
    attributes = [Attribute(f"a{j}", c) for j, c in enumerate(cards)]
    result = anonymise(codes, attributes, 11, seed=3)
    frame = pd.DataFrame(result.codes.astype(int), columns=[a.name for a in attributes])
    assert anonymity.k_anonymity(frame, list(frame.columns)) >= 11
    naive = naive_suppression(codes, attributes, 11, seed=3)
    # On skewed data the engine keeps far more than suppressing whole rows.
    assert result.report.loss() < naive.report.loss()
