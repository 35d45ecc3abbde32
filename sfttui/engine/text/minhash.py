"""Shingling and MinHash signatures, compatible with datasketch.

The signatures follow datasketch's default "affine32" scheme exactly: each 32-bit
shingle hash goes through the MurmurHash3 finaliser, then permutation k maps it to
``a_k * x + b_k mod 2**32`` with datasketch's own (a, b) for the given seed, and the
signature is the per-permutation minimum. So a row of `signatures(...)` can be handed
to ``datasketch.MinHash(hashvalues=row, seed=1, scheme="affine32")`` and to
``MinHashLSH``; the only difference from datasketch is the shingle hash function,
which here is a stable hash of token hashes instead of SHA-1 per shingle.

Everything runs over flat NumPy arrays with row offsets, chunk by chunk, so memory
is bounded by the chunk, never by all shingles of the dataset at once. Shingling and
signing are compiled loops (kernels.py); signing makes each shingle from the token
hashes as it goes, so a signed chunk never holds its shingles.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import numpy as np
import polars as pl

from .lookup import offsets

T = TypeVar("T")
R = TypeVar("R")


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's (a, b) permutation parameters for the affine32 scheme."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return np.ascontiguousarray(a, dtype=np.uint32), np.ascontiguousarray(b, dtype=np.uint32)


@dataclass(frozen=True)
class Shingling:
    """How a text becomes a set: word or character n-grams."""

    unit: str  # "word" or "char"
    n: int

    def describe(self) -> str:
        return f"{self.unit} {self.n}-grams"


_WORD_SEED = 0x5EED51F7


def token_hashes(texts: pl.Series, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every token (space-separated word, or character), flat, with the count per text.

    Words: Polars' hash with fixed seeds, run in Rust over all words at once: the same
    in every run and process. A future Polars may hash differently; that can change
    which pairs below the threshold become LSH candidates, never a verified result,
    since the Jaccard of two shingle sets does not depend on the hash used.
    Characters: the code point through a fixed mix, so fully version-independent.
    """
    if unit == "word":
        lists = texts.fill_null("").str.split(" ")
        counts = lists.list.len().to_numpy().astype(np.int64)
        words = lists.explode()
        return words.hash(_WORD_SEED).to_numpy(), counts
    from . import kernels  # compiled on first use: not at import

    texts = texts.fill_null("")
    lengths = texts.str.len_chars().to_numpy().astype(np.int64)
    hashes = np.empty(int(lengths.sum()), dtype=np.uint64)
    kernels.char_hashes(utf8_bytes(texts), hashes)
    return hashes, lengths


def utf8_bytes(texts: pl.Series) -> np.ndarray:
    """The texts' UTF-8 end to end, as bytes a compiled loop can read (nulls add nothing)."""
    return np.frombuffer(texts.str.join("").cast(pl.Binary).item(), dtype=np.uint8)


def shingle_hashes(texts: pl.Series, shingling: Shingling) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of each text's n-gram shingles, flat, with the shingle count per text.

    A text with fewer than n tokens becomes one shingle of all its tokens, so short
    texts are neither empty sets (which would all collide) nor lost.
    """
    tokens, counts = token_hashes(texts, shingling.unit)
    return shingles_of_tokens(tokens, counts, shingling.n)


def shingles_of_tokens(tokens: np.ndarray, counts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """shingle_hashes from token_hashes' output (left as it is: one tokenising can give
    several n). A shingle's hash folds its n token hashes (times the golden ratio, plus
    the next), adds n and goes through MurmurHash3's 64-bit finaliser."""
    from . import kernels  # compiled on first use: not at import

    per_text = np.empty(len(counts), dtype=np.int64)
    kernels.shingle_counts(counts, n, per_text)  # the rule the shingling loop follows
    out = np.empty(int(per_text.sum()), dtype=np.uint64)
    kernels.shingles_of_tokens(tokens, offsets(counts), counts, n, out)
    return out, per_text


def signatures_of_tokens(
    tokens: np.ndarray, counts: np.ndarray, n: int, num_perm: int = 128, seed: int = 1, threads: int = 2
) -> np.ndarray:
    """MinHash signatures (texts x num_perm, uint32) of the n-gram shingles of flat token
    hashes (token_hashes' output), each shingle hashed as shingles_of_tokens does.

    Every text must have at least one token. The low 32 bits of each shingle hash are
    the value datasketch's hashfunc would return. `threads` 1 when the caller already
    runs chunks side by side.
    """
    if len(counts) and counts.min() < 1:
        raise ValueError("every text needs at least one token")
    from . import kernels

    a, b = permutations(num_perm, seed)
    starts = offsets(counts)
    out = np.empty((len(counts), num_perm), dtype=np.uint32)

    def run(bounds: tuple[int, int]) -> None:
        lo, hi = bounds
        kernels.minhash_signatures(tokens, starts[lo:hi], counts[lo:hi], n, a, b, out[lo:hi])

    if threads < 2 or len(counts) < 2:
        run((0, len(counts)))
        return out
    # Halves by token count, not by text count: long texts cost more.
    cut = int(np.searchsorted(starts, tokens.size // 2))
    threaded_map(run, [(0, cut), (cut, len(counts))])
    return out


def signatures(
    texts: pl.Series, shingling: Shingling, num_perm: int = 128, seed: int = 1, threads: int = 2
) -> np.ndarray:
    """MinHash signatures of normalised, non-empty texts."""
    tokens, counts = token_hashes(texts, shingling.unit)
    return signatures_of_tokens(tokens, counts, shingling.n, num_perm, seed, threads)


def band_keys(sigs: np.ndarray, bands: int, rows_per_band: int) -> np.ndarray:
    """One 32-bit key per (text, band): equal signature slices give equal keys.

    32 bits, not 64, halve the largest array a scan holds (bands x 4 bytes per text).
    Unequal slices share a key by chance: about n**2 / 2**33 pairs per band (~120 at a
    million texts, against the hundreds of thousands of real candidates), which only
    adds candidates, each then rejected by the estimate or by exact verification."""
    from . import kernels  # compiled on first use: not at import

    keys = np.empty((sigs.shape[0], bands), dtype=np.uint32)
    kernels.band_keys(sigs, rows_per_band, keys)
    return keys


def candidate_probability(similarity: float, bands: int, rows_per_band: int) -> float:
    """Chance that two texts of this Jaccard similarity share at least one band."""
    return 1.0 - (1.0 - similarity**rows_per_band) ** bands


def lsh_params(threshold: float, num_perm: int, target: float = 0.9999) -> tuple[int, int]:
    """Bands and rows per band for recall at the threshold, with as few false candidates as that allows.

    datasketch's own choice balances false positives and negatives around the
    threshold, which misses a large share of pairs sitting right at it; here the
    largest band height r is chosen for which a pair exactly at the threshold is a
    candidate with probability >= target. Candidates are verified afterwards, so extra
    candidates cost time, never correctness.
    """
    best = (num_perm, 1)
    for r in range(1, num_perm + 1):
        b = num_perm // r
        if b and candidate_probability(threshold, b, r) >= target:
            best = (b, r)
    return best


def unique_sorted(values: np.ndarray | list[np.ndarray]) -> np.ndarray:
    """The distinct values, sorted, as np.unique gives them; for the large uint64 arrays of
    candidate pairs, whole or in parts. Joined into one array, sorted in place by NumPy
    (SIMD sorting networks: 90M pairs in 0.9 s where Polars' sort took 2.7 s, 6.7 s in a
    5M-row scan) and compacted in place, so no candidate is copied more than once.
    NumPy 2's own np.unique is hash-based and took 19 s on 25M pairs."""
    from . import kernels  # compiled on first use: not at import

    parts = [values] if isinstance(values, np.ndarray) else values
    if not parts:
        return np.empty(0, dtype=np.uint64)
    flat = np.concatenate(parts) if len(parts) > 1 else parts[0].copy()
    flat.sort()
    kept = kernels.compact_sorted(flat)
    # A view keeps the whole buffer: copied when much of it was repeats.
    return flat[:kept] if 2 * kept >= flat.size else flat[:kept].copy()


def cores() -> int:
    """Cores this process may use (its CPU affinity, where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# NumPy work that releases the GIL, run side by side. At most 4: each thread holds a
# chunk in flight, and the memory figures in the README were measured with 2.
THREADS = max(1, min(4, cores()))


def threaded_map(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`fn` over items on `THREADS` threads, results in item order. For chunks whose work
    is large NumPy calls (sorts, gathers, arithmetic), which release the GIL: on two
    cores, two chunks at a time take about half as long."""
    return list(threaded_results(fn, items))


def threaded_results(fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
    """`threaded_map`'s results one by one, in item order, as each is ready: the caller
    (on its own thread) can report progress between them."""
    items = list(items)
    if THREADS == 1 or len(items) < 2:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(max_workers=min(THREADS, len(items))) as pool:
        yield from pool.map(fn, items)


def iter_chunks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, n, size):
        yield lo, min(lo + size, n)
