"""SortedIndex: the eval side sorted once, chunks of the training side looked up in it."""

from __future__ import annotations

import numpy as np
import polars as pl

from sfttui.engine.text.lookup import SortedIndex, dense_ranks, ragged, stable_argsort, stable_sort


def test_find_and_pairs_give_every_match_with_its_items():
    index = SortedIndex.of(np.array([5, 3, 5, 9], dtype=np.uint64), np.array([10, 11, 12, 13]))
    assert index.values.tolist() == [3, 5, 9] and index.count.tolist() == [1, 2, 1]
    found, at = index.find(np.array([5, 4, 9, 1, 10], dtype=np.uint64))
    assert found.tolist() == [0, 2] and at.tolist() == [1, 2]
    query, item = index.pairs(found, at)
    assert sorted(zip(query.tolist(), item.tolist())) == [(0, 10), (0, 12), (2, 13)]


def test_an_empty_side_finds_nothing():
    found, at = SortedIndex.of(np.empty(0, dtype=np.uint64)).find(np.array([1, 2], dtype=np.uint64))
    assert found.size == 0 and at.size == 0


def test_pairs_are_those_of_an_inner_join():
    rng = np.random.default_rng(3)
    left = rng.integers(0, 500, 5_000).astype(np.uint64)
    right = rng.integers(0, 500, 800).astype(np.uint64)
    index = SortedIndex.of(right)
    query, item = index.pairs(*index.find(left))
    joined = (
        pl.DataFrame({"v": left})
        .with_row_index("q")
        .join(pl.DataFrame({"v": right}).with_row_index("r"), on="v")
    )
    assert sorted(zip(query.tolist(), item.tolist())) == sorted(joined.select("q", "r").rows())
    assert len(query) == joined.height > 5_000


def test_ragged_lays_slices_end_to_end():
    assert ragged(np.array([4, 0, 9]), np.array([2, 0, 3])).tolist() == [4, 5, 9, 10, 11]


def test_stable_argsort_is_numpys_stable_argsort():
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 2**63, 50_000, dtype=np.int64).astype(np.uint64)
    keys[rng.integers(0, keys.size, 5_000)] = keys[rng.integers(0, keys.size, 5_000)]  # ties
    cases = [
        keys,
        rng.integers(0, 3, 10_000).astype(np.uint64),  # a few huge runs of ties
        np.full(7, 42, dtype=np.uint64),
        np.array([9, 1, 9, 1, 5], dtype=np.uint64),
        np.array([3], dtype=np.uint64),
        np.empty(0, dtype=np.uint64),
        # Band codes (a band above a 32-bit key): key and position fit in 64 bits.
        (rng.integers(0, 16, 60_000).astype(np.uint64) << np.uint64(32))
        | rng.integers(0, 2**32, 60_000).astype(np.uint64),
        rng.integers(0, 50, 70_000).astype(np.uint64) << np.uint64(30),  # ties, a shift to spare
        np.array([2**62 - 1, 0, 2**62 - 1, 5], dtype=np.uint64),  # 62 + 2 bits: packed, just
        np.array([2**62, 1, 2**62, 0], dtype=np.uint64),  # no room for positions: argsorted
        np.array([2**64 - 1, 2**64 - 1, 0], dtype=np.uint64),
        np.array([-1, 0, 5, -1, 3], dtype=np.int64),  # signed: never packed
        rng.integers(-50, 50, 5_000).astype(np.int32),
    ]
    for case in cases:
        want = np.argsort(case, kind="stable")
        assert stable_argsort(case).tolist() == want.tolist()
        held, order = stable_sort(case)
        assert order.tolist() == want.tolist()
        assert held.dtype == case.dtype and held.tolist() == case[want].tolist()


def test_dense_ranks_are_numpys_unique_with_inverse():
    rng = np.random.default_rng(8)
    cases = [
        rng.integers(0, 1_000, 20_000),
        rng.integers(0, 2**20, 500).astype(np.uint64),  # sparse: most indices absent
        np.array([7, 7, 7], dtype=np.int64),
        np.array([0], dtype=np.uint64),
        np.empty(0, dtype=np.int64),
    ]
    for case in cases:
        distinct, inverse = dense_ranks(case)
        want, want_inverse = np.unique(case, return_inverse=True)
        assert distinct.dtype == case.dtype and distinct.tolist() == want.tolist()
        assert inverse.tolist() == want_inverse.tolist()


def test_find_gives_every_query_held_and_where_in_query_order():
    # Hash-like values: most queries absent, some sharing a held value's low bits.
    rng = np.random.default_rng(11)
    held = rng.integers(0, 2**63, 5_000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    index = SortedIndex.of(held)
    slots = index.seen.size * 8  # a bit each
    near_misses = index.values[:300] + np.uint64(slots)  # same low bits, not held
    queries = np.concatenate([rng.integers(0, 2**63, 50_000, dtype=np.int64).astype(np.uint64), near_misses])
    queries[rng.integers(0, queries.size, 2_000)] = held[rng.integers(0, held.size, 2_000)]
    queries[-1] = index.values[-1]
    found, at = index.find(queries)
    expected = np.flatnonzero(np.isin(queries, held))
    assert found.tolist() == expected.tolist() and 1_500 < found.size <= 2_001
    assert index.values[at].tolist() == queries[expected].tolist()
