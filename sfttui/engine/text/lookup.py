"""Look up many chunks of a large side in a small side that is sorted once.

Eval matching probes every chunk of the training texts (band keys, n-gram hashes)
against the eval set's. A Polars join or `is_in` per chunk builds a hash table of the
eval side each time, so the work grows as chunks x eval size: quadratic when the eval
set grows with the data. Here the eval side is sorted once and each chunk costs
chunk x log(eval size).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_PART = 1 << 20  # positions made at once when packing them beside sort keys


def offsets(counts: np.ndarray) -> np.ndarray:
    """Where each run starts in a flat array of runs of these lengths."""
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def ragged(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices of the slices [start, start + length) laid end to end."""
    total = int(lengths.sum())
    shift = np.repeat(starts - offsets(lengths), lengths)
    shift += np.arange(total, dtype=np.int64)  # in place: these can be the largest arrays of a pass
    return shift


def dense_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_inverse=True) for non-negative integer indices (of texts,
    of buckets): marked in a bool array as long as the largest, never sorted. np.unique
    argsorts the values for the inverse: 10 s on 60M text indices, where this takes 0.3 s.
    A few values among a large range are sorted after all: marking costs the range, and
    a cross pass asks once per chunk about a range that grows with the data (5M rows:
    6.2 s of a run, 31x the 1M run's)."""
    if values.size == 0:
        return values.copy(), np.empty(0, dtype=np.intp)
    top = int(values.max()) + 1
    if values.size * 8 < top:
        return np.unique(values, return_inverse=True)
    present = np.zeros(top, dtype=bool)
    present[values] = True
    rank = np.cumsum(present, dtype=np.intp)
    rank -= 1
    return np.flatnonzero(present).astype(values.dtype, copy=False), rank[values]


def stable_argsort(values: np.ndarray) -> np.ndarray:
    """What np.argsort(values, kind="stable") gives."""
    return stable_sort(values)[1]


def stable_sort(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The values sorted and the stable order that sorts them.

    Narrow unsigned keys (band codes: a band number above a 32-bit key) leave room beside
    them in 64 bits for each one's position: one sort of key-and-position numbers gives
    both, 0.75 s for 11M band codes where the argsort below and the gather of the values
    took 2.5 s (a 5M-row boundary cross). Wider keys (hashes) and signed ones: NumPy's
    SIMD argsort (5x its timsort on 64-bit keys, but ties in any order), then each run of
    tied values put back in position order with one more SIMD sort.
    """
    width = max(1, int(values.size - 1).bit_length())  # bits of a position
    if values.size and values.dtype.kind == "u" and int(values.max()).bit_length() + width <= 64:
        # In place and the positions a part at a time: one array the size of `values`
        # beside them, not three (a 5M-row boundary cross's 15M codes: 360 MB less).
        packed = values.astype(np.uint64)
        packed <<= np.uint64(width)
        for lo in range(0, values.size, _PART):
            hi = min(lo + _PART, values.size)
            packed[lo:hi] |= np.arange(lo, hi, dtype=np.uint64)
        packed.sort()
        held = (packed >> np.uint64(width)).astype(values.dtype, copy=False)
        packed &= np.uint64((1 << width) - 1)
        return held, packed.view(np.int64)  # positions: below 2**63, so the same numbers
    order = np.argsort(values)
    held = values[order]
    same = held[1:] == held[:-1]
    if not same.any():
        return held, order
    tied = np.zeros(held.size, dtype=bool)
    tied[1:] = same
    tied[:-1] |= same
    at = np.flatnonzero(tied)
    # Run number times n plus position sorts runs in place and positions within each.
    run = np.cumsum(np.concatenate([[True], ~same[at[:-1]]]), dtype=np.int64) * np.int64(values.size)
    order[at] = np.sort(run + order[at]) - run
    return held, order


@dataclass(frozen=True)
class SortedIndex:
    """Items by uint64 value: `values` distinct and sorted, the items holding values[k] are
    items[start[k] : start[k] + count[k]]. The values are hashes (uniform low bits);
    `seen` marks the low bits of every value, a bit each, so most queries that are not
    there are turned away by one array read before any binary search. A bit, not a
    byte: at 5M rows a byte per slot made the marks 240 MB, each check a cache miss."""

    values: np.ndarray
    start: np.ndarray
    count: np.ndarray
    items: np.ndarray
    seen: np.ndarray  # uint8, bit k of byte j marks slot 8j + k; slots: a power of two

    @classmethod
    def of(cls, values: np.ndarray, items: np.ndarray | None = None, per: int = 1) -> SortedIndex:
        """Index `values[i]` -> `items[i]`; with no items, -> i // per (values that come
        `per` to a text, text by text: no array of each value's text is made)."""
        held, order = stable_sort(values)
        first = np.ones(held.size, dtype=bool)
        first[1:] = held[1:] != held[:-1]
        distinct = held[first]
        del held  # each array goes once it is used: at 15M codes, 8 bytes each is 120 MB
        # Positions and counts in 4 bytes where they fit: a 5M-row boundary cross's index
        # of 15M band codes held 33 bytes a code, now 21.
        narrow = np.int32 if values.size < 1 << 31 else np.int64
        start = np.flatnonzero(first).astype(narrow, copy=False)
        del first
        count = np.empty_like(start)
        np.subtract(start[1:], start[:-1], out=count[:-1])
        count[-1:] = values.size - start[-1:]
        from . import kernels  # compiled on first use: not at import

        # 16 slots per value: about 6% of absent queries get through to the search.
        seen = np.zeros(1 << max(7, int(16 * distinct.size - 1).bit_length() - 3), dtype=np.uint8)
        kernels.mark_slots(distinct, seen)
        if items is not None:
            return cls(distinct, start, count, items[order], seen)
        if per > 1:
            order //= per  # its own array (stable_sort's), so changed in place
        return cls(distinct, start, count, order.astype(narrow, copy=False), seen)

    def find(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the queries found (into `queries`) and of their values (into `values`)."""
        if not self.values.size or not queries.size:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        from . import kernels  # compiled on first use: not at import

        # Untouched pages of these cost nothing: only the hits are written.
        found = np.empty(queries.size, dtype=np.int64)
        at = np.empty(queries.size, dtype=np.int64)
        hits = kernels.sorted_find(self.values, self.seen, queries, found, at)
        return found[:hits], at[:hits]

    def pairs(self, found: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (query, item) pair for queries found at value positions `at`."""
        count = self.count[at]
        return np.repeat(found, count), self.items[ragged(self.start[at], count)]
