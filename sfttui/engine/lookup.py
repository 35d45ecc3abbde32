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


def ragged(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices of the slices [start, start + length) laid end to end."""
    total = int(lengths.sum())
    shift = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.arange(total, dtype=np.int64) + shift


@dataclass(frozen=True)
class SortedIndex:
    """Items by value: `values` distinct and sorted, the items holding values[k] are
    items[start[k] : start[k] + count[k]]."""

    values: np.ndarray
    start: np.ndarray
    count: np.ndarray
    items: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray, items: np.ndarray | None = None) -> SortedIndex:
        """Index `values[i]` -> `items[i]` (the positions i when no items are given)."""
        order = np.argsort(values, kind="stable")
        held = values[order]
        first = np.ones(held.size, dtype=bool)
        first[1:] = held[1:] != held[:-1]
        start = np.flatnonzero(first)
        count = np.diff(np.append(start, held.size))
        return cls(held[first], start, count, order if items is None else items[order])

    def find(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the queries found (into `queries`) and of their values (into `values`)."""
        if not self.values.size or not queries.size:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        at = np.minimum(np.searchsorted(self.values, queries), self.values.size - 1)
        found = np.flatnonzero(self.values[at] == queries)
        return found, at[found]

    def pairs(self, found: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (query, item) pair for queries found at value positions `at`."""
        count = self.count[at]
        return np.repeat(found, count), self.items[ragged(self.start[at], count)]
