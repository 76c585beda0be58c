"""Aggregate tables: no small count published, none recoverable from the margins."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.exports import aggregates
from tests.exports.checks import long_table_to_array, recoverable_entries


def published_rows(table: aggregates.ProtectedTable) -> list[list[str]]:
    rows = list(table.rows())
    assert rows[0] == [*table.dimensions, "count"]
    return rows[1:]


def check_protected(inner: np.ndarray, threshold: int, table: aggregates.ProtectedTable) -> None:
    """Independent checks on what the file shows."""
    dims = inner.ndim
    rows = published_rows(table)
    labels, entries = long_table_to_array(rows, dims)
    shape = tuple(len(lab) for lab in labels)
    assert shape == tuple(s + 1 for s in inner.shape)
    # True counts with margins, recomputed here from the inner counts.
    truth = {}
    for index in itertools.product(*(range(s) for s in shape)):
        pick = tuple(slice(None) if i == s - 1 else i for i, s in zip(index, shape, strict=True))
        truth[index] = int(np.asarray(inner[pick]).sum())
    for index, text in entries.items():
        if text == aggregates.SUPPRESSED:
            continue
        value = int(text)
        assert value == truth[index], "a published count is wrong"
        assert value == 0 or value >= threshold, f"a count below the threshold was published: {value}"
    for index, value in truth.items():
        if 0 < value < threshold:
            assert entries[index] == aggregates.SUPPRESSED
    assert recoverable_entries(shape, entries, aggregates.SUPPRESSED) == []


@st.composite
def tables(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    dims = draw(st.integers(1, 3))
    limit = {1: 8, 2: 5, 3: 3}[dims]
    shape = tuple(draw(st.integers(1, limit)) for _ in range(dims))
    size = int(np.prod(shape))
    values = draw(st.lists(st.one_of(st.integers(0, 12), st.integers(0, 60)), min_size=size, max_size=size))
    return np.array(values, dtype=np.int64).reshape(shape), draw(st.integers(2, 12))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_no_small_count_is_published_or_recoverable(data) -> None:
    inner, threshold = data
    names = [f"d{i}" for i in range(inner.ndim)]
    categories = [[f"c{j}" for j in range(s)] for s in inner.shape]
    table = aggregates.protect(names, categories, inner, threshold)
    check_protected(inner, threshold, table)


def test_a_single_small_cell_gets_complements_in_its_row_and_column() -> None:
    inner = np.array([[40, 3, 25], [30, 20, 50], [15, 60, 35]])
    table = aggregates.protect(["a", "b"], [["x", "y", "z"], ["p", "q", "r"]], inner, 10)
    check_protected(inner, 10, table)
    suppressed = table.suppressed[:3, :3]
    assert suppressed[0, 1]
    for line in (suppressed[0, :], suppressed[:, 1]):
        assert line.sum() >= 2
    assert table.cells_suppressed == 4  # the cheapest rectangle: (0,1), (0,2)/(2,0)... four cells


def test_a_bridge_between_two_cycles_is_found_by_linear_algebra() -> None:
    # Every row and column below holds 0 or >= 2 suppressed cells, yet (1, 2) joins two
    # otherwise separate cycles, so the margins give it away.
    suppressed = np.zeros((5, 5), dtype=bool)
    for cell in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)]:
        suppressed[cell] = True
    exposed = aggregates.determined((5, 5), suppressed)
    assert exposed[1, 2] and exposed.sum() == 1
    entries = {index: ("x" if suppressed[index] else "5") for index in itertools.product(range(5), range(5))}
    inner = np.full((4, 4), 5)
    full = aggregates.with_margins(inner)
    entries = {i: ("x" if suppressed[i] else str(full[i])) for i in entries}
    assert recoverable_entries((5, 5), entries, "x") == [(1, 2)]
    protected = aggregates.complementary_suppression(full, suppressed)
    assert not aggregates.determined((5, 5), protected).any()


def test_one_dimension_with_its_total() -> None:
    inner = np.array([120, 4, 80, 33])
    table = aggregates.protect(["gender"], [["Female", "Male", "Unknown", "-99"]], inner, 10)
    check_protected(inner, 10, table)
    assert table.suppressed.sum() >= 2
    texts = [row[-1] for row in published_rows(table)]
    assert aggregates.SUPPRESSED in texts and "4" not in texts


def test_suppressed_cells_are_marked_never_zero() -> None:
    inner = np.array([[1, 0], [0, 1]])
    table = aggregates.protect(["a", "b"], [["x", "y"], ["p", "q"]], inner, 10)
    rows = published_rows(table)
    for row in rows:
        index = (["x", "y", "Total"].index(row[0]), ["p", "q", "Total"].index(row[1]))
        if table.suppressed[index]:
            assert row[2] == aggregates.SUPPRESSED
    assert all(row[2] != "1" for row in rows)


@pytest.mark.parametrize("rounding", ["random3", "down10"])
def test_rounding_keeps_the_suppression_and_rounds_the_rest(rounding: str) -> None:
    rng = np.random.default_rng(4)
    inner = rng.integers(0, 40, size=(6, 4))
    plain = aggregates.protect(["a", "b"], [list("abcdef"), list("wxyz")], inner, 10, "none", seed=1)
    rounded = aggregates.protect(["a", "b"], [list("abcdef"), list("wxyz")], inner, 10, rounding, seed=1)
    assert np.array_equal(plain.suppressed, rounded.suppressed)
    shown = rounded.published[~rounded.suppressed]
    truth = rounded.counts[~rounded.suppressed]
    base = 3 if rounding == "random3" else 10
    assert np.all(shown % base == 0)
    assert np.all(np.abs(shown - truth) < base)
    if rounding == "down10":
        assert np.all(shown <= truth)


def test_random_rounding_is_unbiased_on_average() -> None:
    counts = np.full(20_000, 31)
    rounded = aggregates.round_counts(counts, "random3", np.random.default_rng(0))
    assert set(np.unique(rounded)) == {30, 33}
    assert abs(rounded.mean() - 31) < 0.1


def test_bad_requests_are_refused() -> None:
    with pytest.raises(ValueError):
        aggregates.protect(["a"], [["x", "y"]], np.array([1, 2, 3]))
    with pytest.raises(ValueError):
        aggregates.protect(["a"], [["x"]], np.array([1]), rounding="up")
    with pytest.raises(ValueError):
        aggregates.protect(["a"], [["x"]], np.array([1]), threshold=0)
