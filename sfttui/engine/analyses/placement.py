"""The greedy placement of units in splits (split.place_greedy), compiled.

Each unit goes to the split whose squared, scaled gap to its per-label target grows
least, in NumPy's exact arithmetic: every operation elementwise as NumPy does it, a
row's squares added in the order `ndarray.sum` adds a contiguous row (pairwise, eight
running sums per block of up to 128). So placements are the ones NumPy gives, bit for
bit (a test holds them to it).
"""

from __future__ import annotations

import numpy as np

from ..text.compiled import compiled


@compiled
def _block_sum(values: np.ndarray, lo: int, n: int) -> float:
    """values[lo : lo + n], n <= 128, added as NumPy's pairwise_sum adds a block."""
    if n < 8:
        total = 0.0
        for i in range(lo, lo + n):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[lo], values[lo + 1], values[lo + 2], values[lo + 3]
    r4, r5, r6, r7 = values[lo + 4], values[lo + 5], values[lo + 6], values[lo + 7]
    i = 8
    while i < n - n % 8:
        r0 += values[lo + i]
        r1 += values[lo + i + 1]
        r2 += values[lo + i + 2]
        r3 += values[lo + i + 3]
        r4 += values[lo + i + 4]
        r5 += values[lo + i + 5]
        r6 += values[lo + i + 6]
        r7 += values[lo + i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += values[lo + i]
        i += 1
    return total


@compiled
def _row_sum(values: np.ndarray, n: int) -> float:
    """values[:n] added as NumPy's pairwise_sum adds a contiguous row: blocks of up to
    128, halves (cut at a multiple of 8) added left + right. Walked with a stack, not
    recursion: Numba's on-disk cache of a recursive function crashed the next process."""
    if n <= 128:
        return _block_sum(values, 0, n)
    los = np.empty(192, dtype=np.int64)
    sizes = np.empty(192, dtype=np.int64)
    joins = np.empty(192, dtype=np.bool_)
    sums = np.empty(192)
    top, held = 1, 0
    los[0], sizes[0], joins[0] = 0, n, False
    while top:
        top -= 1
        lo, size = los[top], sizes[top]
        if joins[top]:  # both halves are summed: left, then right, on the value stack
            held -= 1
            sums[held - 1] = sums[held - 1] + sums[held]
        elif size <= 128:
            sums[held] = _block_sum(values, lo, size)
            held += 1
        else:
            half = size // 2
            half -= half % 8
            los[top], sizes[top], joins[top] = lo, size, True
            los[top + 1], sizes[top + 1], joins[top + 1] = lo + half, size - half, False
            los[top + 2], sizes[top + 2], joins[top + 2] = lo, half, False
            top += 3
    return sums[0]


@compiled
def place_units(
    vectors: np.ndarray, filled: np.ndarray, target: np.ndarray, scale: np.ndarray, live: np.ndarray
) -> np.ndarray:
    """Split index of each unit (label counts `vectors`, in this order); `filled`
    (splits x labels) is updated. Ties go to the first split, as np.argmin does."""
    splits, labels = filled.shape
    before = np.empty(labels)
    after = np.empty(labels)
    out = np.empty(vectors.shape[0], dtype=np.int8)
    for k in range(vectors.shape[0]):
        best = np.inf
        where = -1
        for s in range(splits):
            for i in range(labels):
                gap = (filled[s, i] - target[s, i]) * scale[i]
                before[i] = gap * gap
                moved = (filled[s, i] + vectors[k, i] - target[s, i]) * scale[i]
                after[i] = moved * moved
            cost = _row_sum(after, labels) - _row_sum(before, labels) if live[s] else np.inf
            if where < 0 or cost < best:
                best, where = cost, s
        out[k] = where
        for i in range(labels):
            filled[where, i] += vectors[k, i]
    return out
