"""Protected tables (casework.exports.aggregates), checked by the independent integer programme
of tests/exports/attacks.py: hidden counts keep their protection interval, in the true table and
in the published (perturbed) one, zeros are hidden, structural zeros are published, perturbation
and rounding are applied as the policy says."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.exports import aggregates
from casework.exports.aggregates import SUPPRESSED, TOTAL
from tests.exports.attacks import _lines, integer_intervals, strongest_attack


def _entries(table: aggregates.ProtectedTable, truth: bool = False) -> dict[tuple[int, ...], str]:
    """The table as an attacker reads it (or, ``truth``, with the true counts published)."""
    out = {}
    for index in itertools.product(*(range(s) for s in table.counts.shape)):
        if table.suppressed[index]:
            out[index] = SUPPRESSED
        else:
            out[index] = str(int(table.counts[index] if truth else table.published[index]))
    return out


def _check_protection(table: aggregates.ProtectedTable) -> None:
    """Every hidden count keeps an interval of at least the width, even for an attacker who knew
    the true published counts and guessed which hidden counts are not empty."""
    floors = {cell: int(table.counts[cell] >= 1) for cell in map(tuple, np.argwhere(table.suppressed))}
    intervals = integer_intervals(table.counts.shape, _entries(table, truth=True), SUPPRESSED, lower=floors)
    assert intervals is not None
    for cell, (low, high) in intervals.items():
        assert high - low >= table.width, f"hidden {cell} = {table.counts[cell]} only in [{low}, {high}]"
        if table.counts[cell] == 1:
            assert high >= 1 + table.width
        assert low <= table.counts[cell] <= high


def _check_published_view(table: aggregates.ProtectedTable) -> None:
    """From the published counts, whatever the attacker assumes of hidden counts (at least 0 or
    at least 1) and whichever lines they use (all, all but those that contradict the premise,
    one at a time), no hidden count is confined to fewer than ``width`` values."""
    entries = _entries(table)
    assert strongest_attack(table.counts.shape, entries, SUPPRESSED) == {}
    for lower in (0, 1):
        intervals = integer_intervals(table.counts.shape, entries, SUPPRESSED, lower)
        if intervals is None:  # the premise contradicts some line: set those lines aside
            contradicting = set()
            for number, line in enumerate(_lines(table.counts.shape)):
                if entries[line[-1]] == SUPPRESSED:
                    continue
                hidden = [cell for cell in line[:-1] if entries[cell] == SUPPRESSED]
                published = sum(int(entries[cell]) for cell in line[:-1] if entries[cell] != SUPPRESSED)
                if int(entries[line[-1]]) - published < lower * len(hidden):
                    contradicting.add(number)
            intervals = integer_intervals(table.counts.shape, entries, SUPPRESSED, lower, dropped=contradicting)
        for cell, (low, high) in (intervals or {}).items():
            assert high - low >= table.width, f"published view, hidden >= {lower}: {cell} only in [{low}, {high}]"


tables_2d = st.tuples(st.integers(2, 5), st.integers(2, 6)).flatmap(
    lambda shape: st.lists(
        st.sampled_from([0, 0, 1, 2, 3, 5, 8, 12, 20, 40]), min_size=shape[0] * shape[1], max_size=shape[0] * shape[1]
    ).map(lambda values: np.asarray(values, dtype=np.int64).reshape(shape))
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables_2d, st.integers(2, 6))
def test_every_hidden_count_keeps_its_protection_interval(inner: np.ndarray, width: int) -> None:
    categories = [[f"r{i}" for i in range(inner.shape[0])], [f"c{j}" for j in range(inner.shape[1])]]
    table = aggregates.protect(("r", "c"), categories, inner, threshold=10, width=width)
    assert not (table.counts[~table.suppressed] < 10).any()  # zeros included: nothing below 10
    _check_protection(table)


noise_for = st.integers(0, 2**32 - 1).map(lambda seed: np.random.default_rng(seed))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables_2d, st.integers(2, 5), noise_for)
def test_perturbed_tables_pin_no_hidden_count_from_what_they_publish(
    inner: np.ndarray, width: int, rng: np.random.Generator
) -> None:
    """With cell-key noise the published lines need not add up, and where they do they pinned
    hidden counts (a row whose hidden counts must all be 0): checked over many noise draws."""
    categories = [[f"r{i}" for i in range(inner.shape[0])], [f"c{j}" for j in range(inner.shape[1])]]
    shape = (inner.shape[0] + 1, inner.shape[1] + 1)
    noise = rng.choice(np.arange(-6, 7), size=shape, p=_two_sided_geometric(2.0, 6))
    table = aggregates.protect(("r", "c"), categories, inner, threshold=10, width=width, noise=noise)
    _check_protection(table)
    _check_published_view(table)


def _two_sided_geometric(scale: float, cut: int) -> np.ndarray:
    weights = np.exp(-np.abs(np.arange(-cut, cut + 1)) / scale)
    return weights / weights.sum()


def test_one_dimension_with_its_total() -> None:
    table = aggregates.protect(("year",), [["2020", "2021", "2022"]], [3, 40, 50], threshold=10, width=3)
    assert table.suppressed[0]  # 3 is small
    assert table.suppressed[:-1].sum() >= 2  # and something else hides it
    _check_protection(table)


def test_three_dimensions_are_checked_by_integer_programming() -> None:
    rng = np.random.default_rng(4)
    inner = rng.choice([0, 1, 4, 15, 30], size=(2, 3, 3), p=[0.2, 0.2, 0.2, 0.2, 0.2])
    cats = [["a", "b"], ["x", "y", "z"], ["p", "q", "r"]]
    table = aggregates.protect(("one", "two", "three"), cats, inner, threshold=10, width=3)
    _check_protection(table)


def test_structural_zeros_are_published_as_zero_and_never_hidden() -> None:
    inner = np.array([[0, 25, 3], [30, 0, 40]])
    structural = np.array([[True, False, False], [False, False, False]])
    table = aggregates.protect(("a", "b"), [["x", "y"], ["p", "q", "r"]], inner, threshold=10, width=3,
                               structural=structural)  # fmt: skip
    assert table.text((0, 0)) == "0"
    assert table.suppressed[1, 1]  # a zero that is not structural is hidden like a small count
    _check_protection(table)


def test_published_counts_are_perturbed_floored_and_rounded() -> None:
    inner = np.array([[50, 60], [70, 80]])
    noise = np.array([[-45, 2, 0], [1, -1, 3], [0, 0, 0]])
    table = aggregates.protect(("a", "b"), [["x", "y"], ["p", "q"]], inner, threshold=10, width=3, noise=noise,
                               rounding_base=5)  # fmt: skip
    # 50 - 45 = 5 is below the threshold once perturbed: hidden, as are what protects it.
    assert table.suppressed[0, 0]
    published = table.published[~table.suppressed]
    assert (published % 5 == 0).all() and (published >= 10).all()


def test_rows_are_long_format_with_totals() -> None:
    table = aggregates.protect(("g",), [["F", "M"]], [30, 40], threshold=10, width=3)
    rows = list(table.rows())
    assert rows[0] == ["g", "count"]
    assert [r[0] for r in rows[1:]] == ["F", "M", TOTAL]


def test_bad_requests_are_refused() -> None:
    with pytest.raises(ValueError):
        aggregates.protect(("a",), [["x"]], [[1]], threshold=10)
    with pytest.raises(ValueError):
        aggregates.protect(("a",), [["x"]], [1], threshold=0)
    with pytest.raises(aggregates.TableTooLarge):
        aggregates.protect(("a", "b"), [list(map(str, range(100))), list(map(str, range(100)))],
                           np.ones((100, 100), dtype=int), threshold=10)  # fmt: skip
