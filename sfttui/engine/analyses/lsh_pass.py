"""One MinHash/LSH pass over a list of texts: signatures, candidate pairs from shared band
keys, a cheap estimate to set aside pairs far below the threshold, then exact Jaccard
verification. The same driver runs on every engine (see `near_pass`).

The texts are cut into parts (one on the local engine, several on a cluster); each part
is signed by a task, the band keys go to reducers by key (a shuffle), each reducer pairs
the texts sharing a key in a band, and each pair of parts verifies the candidates
between them. A pass in one part, unsampled (the local engine's), is one task that
gathers each text's partners from its own band keys (`_within`): the same candidates
and pairs without the shuffle. The engine decides only where the tasks run.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from ..io.load import PROMPT_SIDE
from ..io.texts import RowTexts, with_texts
from ..runtime.parallel import LOCAL, Engine
from ..settings import NearSettings, NormalizeSettings
from ..text.lookup import dense_ranks, offsets
from ..text.minhash import (
    THREADS,
    Shingling,
    band_keys,
    iter_chunks,
    shingle_hashes,
    signatures,
    threaded_map,
    unique_sorted,
)
from ..text.normalize import normalize_texts

SIG_CHUNK = 20_000  # texts per signature chunk: bounds memory whatever the data size
_VERIFY_CHUNK = 1 << 16  # candidate pairs a thread verifies at once
ESTIMATE_PERMS = 64  # signature columns kept to estimate a candidate's similarity
ESTIMATE_SLACK = 0.2  # 4 standard errors of a 64-permutation estimate near J = 0.8


PAIR_SCHEMA = {"a": pl.UInt32(), "b": pl.UInt32(), "jaccard": pl.Float64(), "shingles": pl.String()}


def _shingle_sets(
    texts: Texts, at: np.ndarray, shingling: Shingling
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct shingle hashes of each text `texts[at]`, sorted: flat values, start and
    length per text.

    The texts are read (and normalised, for NormalisedTexts) a chunk at a time on each
    thread and only their shingle sets kept: the texts a pass verifies are up to a sixth
    of its rows, and held whole beside their sets they were a 1M scan's high.
    """
    from ..text import kernels  # compiled on first use: not at import

    def chunk(bounds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = bounds
        shingles, counts = shingle_hashes(texts.gather(at[lo:hi]), shingling)
        sizes = np.empty(hi - lo, dtype=np.int64)
        kept = kernels.distinct_sorted(shingles, offsets(counts), counts, sizes)
        # A copy, so the chunk's repeated shingles are freed now, not with the whole.
        return shingles[:kept].copy(), sizes

    done = threaded_map(chunk, iter_chunks(at.size, SIG_CHUNK))
    values = [v for v, _ in done]
    sizes = [n for _, n in done]
    del done
    flat = np.concatenate(values) if values else np.empty(0, np.uint64)
    lengths = np.concatenate(sizes) if sizes else np.empty(0, np.int64)
    return flat, offsets(lengths), lengths


def verify_pairs(pairs: np.ndarray, texts: Texts, shingling: Shingling, threshold: float) -> pl.DataFrame:
    """Exact Jaccard of the shingle sets for candidate pairs; keep those at or above threshold.

    Each involved text's set is built once, sorted; a compiled merge of the two sorted
    sets counts each pair's intersection, a chunk of pairs per thread.
    """
    from ..text import kernels

    a = (pairs >> np.uint64(32)).astype(np.int64)
    b = (pairs & np.uint64(0xFFFFFFFF)).astype(np.int64)
    involved, local = dense_ranks(np.concatenate([a, b]))
    la, lb = local[: a.size], local[a.size :]
    flat, starts, lengths = _shingle_sets(texts, involved, shingling)

    def chunk(bounds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = bounds
        ia, ib = la[lo:hi], lb[lo:hi]
        inter = np.empty(hi - lo, dtype=np.int64)
        kernels.intersections(flat, starts, lengths, ia, ib, inter)
        jaccard = inter / np.maximum(lengths[ia] + lengths[ib] - inter, 1)
        ok = jaccard >= threshold - 1e-12
        return np.arange(lo, hi)[ok], jaccard[ok]

    done = threaded_map(chunk, iter_chunks(a.size, _VERIFY_CHUNK))
    keep = [k for k, _ in done]
    scores = [j for _, j in done]
    chosen = np.concatenate(keep) if keep else np.empty(0, np.int64)
    return pl.DataFrame(
        {
            "a": a[chosen].astype(np.uint32),
            "b": b[chosen].astype(np.uint32),
            "jaccard": np.concatenate(scores) if scores else np.empty(0),
            "shingles": [shingling.describe()] * chosen.size,
        },
        schema={"a": pl.UInt32, "b": pl.UInt32, "jaccard": pl.Float64, "shingles": pl.String},
    )


@dataclass
class NearPassResult:
    """What one LSH pass found: verified pairs (positions in the pass's texts) and counts."""

    verified: pl.DataFrame
    candidates: int
    estimated: int
    oversized: int
    signed: Signed | None = None  # the pass's band keys, when they were computed here
    sampled: bool = False  # some candidates were left out (settings.max_candidates)


@dataclass
class Signed:
    """Band keys and estimate columns of the texts one pass covered (`ids`)."""

    ids: np.ndarray
    keys: np.ndarray
    estimate: np.ndarray | None  # not kept for eval matching (see near_pairs)


def signature_keys(
    texts: Texts,
    shingling: Shingling,
    settings: NearSettings,
    bands: int,
    rows: int,
    tick: Callable[[float], None] | None = None,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Band keys (texts x bands) and estimate columns (texts x 64, low 16 bits) of `texts`;
    `threads` 1 when the caller already runs chunks side by side."""
    keys = np.empty((len(texts), bands), dtype=np.uint32)
    estimate = np.empty((len(texts), min(ESTIMATE_PERMS, settings.num_perm)), dtype=np.uint16)

    chunks = list(iter_chunks(len(texts), SIG_CHUNK))
    # One chunk alone still signs on every core.
    inner = threads or (1 if len(chunks) > 1 else THREADS)

    def sign(bounds: tuple[int, int]) -> None:
        lo, hi = bounds
        sigs = signatures(texts.slice(lo, hi - lo), shingling, settings.num_perm, settings.seed, inner)
        keys[lo:hi] = band_keys(sigs, bands, rows)
        estimate[lo:hi] = _estimate_columns(sigs)

    # A chunk per thread (shingling and signing both run side by side), and progress
    # reported from this thread between rounds.
    for at in range(0, len(chunks), THREADS):
        threaded_map(sign, chunks[at : at + THREADS])
        if tick:
            tick(chunks[min(at + THREADS, len(chunks)) - 1][1] / len(texts))
    return keys, estimate


def _estimate_columns(sigs: np.ndarray) -> np.ndarray:
    # Low 16 bits of the first 64 permutations are enough to estimate (a chance equality
    # adds ~1e-5 to J) at a quarter of the memory: 128 MB per million texts.
    return (sigs[:, :ESTIMATE_PERMS] & 0xFFFF).astype(np.uint16)


def estimates_of(texts: pl.Series, shingling: Shingling, settings: NearSettings) -> np.ndarray:
    """Estimate columns alone, for the few texts that need them after all."""
    return _estimate_columns(signatures(texts, shingling, settings.num_perm, settings.seed))


def likely_pairs(
    pairs: np.ndarray,
    estimate_a: np.ndarray,
    estimate_b: np.ndarray,
    floor: float,
    side_by_side: bool = False,
) -> np.ndarray:
    """Candidates (a into estimate_a, b into estimate_b) whose MinHash estimate reaches `floor`.

    LSH tuned for recall also lets through many pairs far below the threshold
    (short texts share common character n-grams); comparing signature columns is far
    cheaper than joining shingle sets, so only plausible pairs are verified exactly.
    `side_by_side` runs the chunks on every core (when the caller is not already).
    """
    from ..text import kernels  # compiled on first use: not at import

    columns = estimate_a.shape[1]

    def likely(bounds: tuple[int, int]) -> np.ndarray:
        chunk = pairs[bounds[0] : bounds[1]]
        same = np.empty(chunk.size, dtype=np.int64)
        kernels.agreements(chunk, estimate_a, estimate_b, same)
        return chunk[same / columns >= floor]

    # 64k pairs a task: the threads share the work evenly, and nothing is gathered.
    chunks = iter_chunks(pairs.size, 1 << 16)
    keep = threaded_map(likely, chunks) if side_by_side else [likely(c) for c in chunks]
    return np.concatenate(keep) if keep else pairs


def sample_pairs(pairs: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """At most `limit` of the encoded pairs, a seeded sample kept in order (all of them
    when `limit` is None)."""
    if limit is None or pairs.size <= limit:
        return pairs
    rng = np.random.default_rng(seed)
    return pairs[np.sort(rng.choice(pairs.size, limit, replace=False))]


class InputTexts:
    """Every row's input side (load.PROMPT_SIDE: user turns, instruction + input, prompt),
    derived from the rows' columns a slice at a time when it is read, never held whole:
    for most rows it is the start of the text, and a column of it would be most of the
    texts again. Reads like the Series it stands for (`len`, `slice`, `gather`)."""

    def __init__(self, rows: pl.DataFrame, texts: RowTexts | None = None):
        # Where `rows` hold no texts, `texts` (every row's) gives each read its own.
        self.rows = rows.select(c for c in ("row", "prompt", "text", "reply") if c in rows.columns)
        self.texts = texts

    def __len__(self) -> int:
        return self.rows.height

    def slice(self, offset: int, length: int | None = None) -> pl.Series:
        return self._input(self.rows.slice(offset, length))

    def gather(self, indices: Any) -> pl.Series:
        return self._input(self._rows_at(indices))

    def subset(self, indices: Any) -> InputTexts:
        """The rows at `indices`, their input side still derived when read."""
        return InputTexts(self._rows_at(indices))

    def _rows_at(self, indices: Any) -> pl.DataFrame:
        return with_texts(self.rows[pl.Series(indices, dtype=pl.UInt32)], self.texts)

    def _input(self, rows: pl.DataFrame) -> pl.Series:
        return with_texts(rows, self.texts).select(PROMPT_SIDE).to_series().alias("text")


class NormalisedTexts:
    """The distinct normalised texts, normalised afresh from the rows' own texts each
    time a slice of them is wanted instead of being held: a second copy of every text
    would be about a third of a scan's memory, and normalising costs ~1.5 s per
    million texts. Reads like the Series it stands for (`len`, `slice`, `gather`);
    what those return is a Series."""

    part_rows = 100_000  # normalised at once by chunked work (see parallel.Engine.parts)

    def __init__(
        self,
        source: RowTexts | InputTexts,
        first_row: pl.Series,
        normalize: NormalizeSettings | None,
        words: np.ndarray,
    ):
        self.source = source  # every row's original text
        self.first_row = first_row
        self.normalize = normalize
        self.words = words  # words of each normalised text; 0 when it is empty

    def __len__(self) -> int:
        return len(self.first_row)

    def slice(self, offset: int, length: int | None = None) -> pl.Series:
        return self._of_rows(self.first_row.slice(offset, length))

    def gather(self, indices: Any) -> pl.Series:
        return self._of_rows(self.first_row.gather(indices))

    def _of_rows(self, rows: pl.Series) -> pl.Series:
        return normalize_texts(self.source.gather(rows), self.normalize)

    def subset(self, indices: np.ndarray) -> NormalisedTexts:
        """These texts at `indices`, still normalised only when read."""
        return NormalisedTexts(
            self.source, self.first_row.gather(indices), self.normalize, self.words[indices]
        )

    def part(self, offset: int, length: int) -> NormalisedTexts:
        """The texts from `offset`, still normalised only when read, holding only their own
        rows' source (what is sent to a worker that reads a few of them)."""
        rows = self.first_row.slice(offset, length)
        source = self.source.subset(rows) if isinstance(self.source, InputTexts) else self.source.gather(rows)
        at = pl.Series(np.arange(len(rows), dtype=np.uint32))
        return NormalisedTexts(source, at, self.normalize, self.words[offset : offset + length])


Texts = pl.Series | NormalisedTexts


# --- the driver ----------------------------------------------------------------------
def near_pass(
    texts: Texts,
    shingling: Shingling,
    settings: NearSettings,
    bands: int,
    rows: int,
    tick: Callable[[float], None],
    engine: Engine = LOCAL,
    keep_estimate: bool = True,
) -> NearPassResult:
    """One pass: verified pairs (positions in `texts`) and what each step kept.

    Searches that are samples anyway (`settings.max_candidates`: hard negatives) bound
    their work per text: on low-variety short texts every text shares buckets with
    hundreds of others. Such a sample is drawn per reducer and per pair of parts (each
    with its share of the pass's budget), so which pairs it holds depends on how the
    texts were cut (the hard-negative search runs here, in one part);
    without it every cut gives the same pairs and counts. The band keys and estimate
    columns are kept (`signed`) when the pass ran here, for eval matching to reuse; the
    estimate columns only with `keep_estimate`.
    """
    n = len(texts)
    bounds = list(iter_chunks(n, engine.pairwise_rows(n)))
    one = len(bounds) == 1
    reducers = 1 if one else max(1, min(len(bounds), 2 * engine.workers))
    starts = np.array([lo for lo, _ in bounds], dtype=np.int64)
    parts = [texts] if one else engine.scatter([texts.slice(lo, hi - lo) for lo, hi in bounds])
    inner = tick if engine.runs_here else None  # progress from inside a task, where it runs here
    signed = [
        engine.submit(_sign, part, lo, shingling, settings, bands, rows, reducers, inner)
        for part, (lo, _) in zip(parts, bounds)
    ]
    limit = None if settings.max_candidates is None else int(settings.max_candidates * n)
    if one and limit is None:
        # All in one part and none sampled: each text's partners are gathered and judged
        # in place (see _within), the same candidates and pairs the reducers would give.
        floor = settings.threshold - ESTIMATE_SLACK
        within = engine.submit(_within, signed[0], settings.max_bucket, floor)
        if not keep_estimate and engine.runs_here:
            # Done with before verification, which reads the texts: 128 bytes a text, 627
            # MB for the word pass over 5M rows' inputs (that pass's verification was
            # the peak of a 5M scan).
            signed = [replace(signed[0], estimate=None)]
        verified = [engine.submit(_verify_within, within, parts[0], shingling, settings.threshold)]
        summarised = [within]
    else:
        # The budget is the pass's: shared out over reducers and pairs of parts, never to 0.
        per_band = None if limit is None else max(1, 2 * limit // max(bands, 1) // reducers)
        blocks = len(bounds) * (len(bounds) + 1) // 2
        per_block = None if limit is None else max(1, limit // blocks)
        summarised = [
            engine.submit(
                _candidates,
                [engine.submit(_share_of, s, r) for s in signed],
                settings.max_bucket,
                starts,
                per_band,
                settings.seed,
            )
            for r in range(reducers)
        ]
        verified = [
            engine.submit(
                _verify_block,
                [engine.submit(_block_of, f, (i, j)) for f in summarised],
                parts[i],
                parts[j],
                engine.submit(_estimate_of, signed[i]),
                engine.submit(_estimate_of, signed[j]),
                (int(starts[i]), int(starts[j])),
                reducers > 1,
                shingling,
                settings.threshold,
                per_block,
                settings.seed,
            )
            for i in range(len(bounds))
            for j in range(i, len(bounds))
        ]
    results = engine.gather(verified)
    summaries = engine.gather([engine.submit(_summary_of, f) for f in summarised])
    tick(1.0)
    frames = [r.pairs for r in results if r.pairs.height]
    pairs = (
        pl.DataFrame(schema=PAIR_SCHEMA)
        if not frames
        else frames[0]
        if len(frames) == 1
        else pl.concat(frames).sort(["a", "b"])
    )
    kept = None
    if one and engine.runs_here:
        part = engine.gather(signed)[0]
        kept = Signed(np.arange(n), part.keys, part.estimate)  # near_pairs sets the real ids
    return NearPassResult(
        pairs,
        sum(r.candidates for r in results),
        sum(r.estimated for r in results),
        len(set().union(*(chained for chained, _ in summaries))),
        kept,
        any(r.sampled for r in results) or any(cut for _, cut in summaries),
    )


# --- tasks (module-level, so a cluster's workers can import them) ---------------------
@dataclass
class _Part:
    """A part's band keys (texts x bands), numbered from `start`, and estimate columns."""

    keys: np.ndarray
    estimate: np.ndarray | None  # None once a pass in one part is done with it
    start: int
    reducers: int

    def share(self, reducer: int) -> list[tuple[np.ndarray | None, np.ndarray]]:
        """Per band, the (positions, keys) a reducer owns: the keys equal to it modulo the
        reducers. Positions None: all of the band, in order from `start`."""
        if self.reducers == 1:
            return [(None, self.keys[:, b]) for b in range(self.keys.shape[1])]
        out = []
        for b in range(self.keys.shape[1]):
            column = self.keys[:, b]
            mine = np.flatnonzero(column % self.reducers == reducer)
            out.append(((mine + self.start).astype(np.uint64), column[mine]))
        return out


def _sign(
    texts: Texts,
    start: int,
    shingling: Shingling,
    settings: NearSettings,
    bands: int,
    rows: int,
    reducers: int,
    tick: Callable[[float], None] | None,
) -> _Part:
    keys, estimate = signature_keys(texts, shingling, settings, bands, rows, tick)
    return _Part(keys, estimate, start, reducers)


def _share_of(part: _Part, reducer: int) -> tuple[int, list[tuple[np.ndarray | None, np.ndarray]]]:
    return part.start, part.share(reducer)


def _estimate_of(part: _Part) -> np.ndarray:
    return part.estimate


@dataclass
class _Found:
    """A reducer's candidate pairs by pair of parts, the bands with a bucket too large to
    pair whole, and whether a band's pairs were sampled."""

    by_block: dict[tuple[int, int], np.ndarray]
    chained: set[int]
    sampled: bool


def _candidates(
    shares: list[tuple[int, list[tuple[np.ndarray | None, np.ndarray]]]],
    max_bucket: int,
    starts: np.ndarray,
    per_band: int | None,
    seed: int,
) -> _Found:
    """Pairs (encoded i * 2**32 + j, i < j) of texts sharing a band key in any band.

    Within a bucket every member is paired with the next `max_bucket` members in text
    order, which is all pairs for ordinary buckets and a chain (still connected, still
    verified) for the rare huge bucket of near-identical boilerplate. With `per_band`,
    a band that pairs more texts than that keeps a seeded sample of them.
    """
    from ..text import kernels  # compiled on first use: not at import

    def band(b: int) -> tuple[np.ndarray, bool, bool]:
        if len(shares) == 1 and shares[0][1][b][0] is None:
            # A column of the texts x bands matrix: copied whole, it is read 2.5x as fast.
            keys = np.ascontiguousarray(shares[0][1][b][1])
            members, start = _NUMBERED, shares[0][0]  # text start + i: no array of them
        else:
            # Parts come in order and positions rise within each: the stable sort keeps
            # the members of a bucket in text order.
            members = np.concatenate([_positions(start, share[b]) for start, share in shares])
            keys = np.concatenate([share[b][1] for _, share in shares])
            start = 0
        pairs, chained = kernels.band_pairs(keys, members, start, max_bucket)
        if per_band is not None and pairs.size > per_band:
            rng = np.random.default_rng(seed + b)
            return pairs[np.sort(rng.choice(pairs.size, per_band, replace=False))], chained, True
        return pairs, chained, False

    n_bands = len(shares[0][1]) if shares else 0
    done = threaded_map(band, range(n_bands))
    chained = {b for b, (_, was, _) in enumerate(done) if was}
    sampled = any(cut for _, _, cut in done)
    pairs = unique_sorted([in_band for in_band, _, _ in done if in_band.size])
    if starts.size == 1:
        return _Found({(0, 0): pairs}, chained, sampled)
    a = np.searchsorted(starts, (pairs >> np.uint64(32)).astype(np.int64), side="right") - 1
    b = np.searchsorted(starts, (pairs & np.uint64(0xFFFFFFFF)).astype(np.int64), side="right") - 1
    by_block: dict[tuple[int, int], np.ndarray] = {}
    if pairs.size:
        order = np.lexsort((b, a))
        pairs, a, b = pairs[order], a[order], b[order]
        edge = np.flatnonzero((np.diff(a) != 0) | (np.diff(b) != 0)) + 1
        for lo, hi in itertools.pairwise([0, *edge.tolist(), pairs.size]):
            by_block[(int(a[lo]), int(b[lo]))] = pairs[lo:hi]
    return _Found(by_block, chained, sampled)


_NUMBERED = np.empty(0, dtype=np.uint64)


def _positions(start: int, share: tuple[np.ndarray | None, np.ndarray]) -> np.ndarray:
    pos, keys = share
    return np.arange(start, start + keys.size, dtype=np.uint64) if pos is None else pos


def _block_of(found: _Found, block: tuple[int, int]) -> np.ndarray:
    return found.by_block.get(block, np.empty(0, np.uint64))


def _summary_of(found: _Found | _Within) -> tuple[set[int], bool]:
    return found.chained, found.sampled


@dataclass
class _Within:
    """One part's likely pairs (see kernels.likely_within), how many distinct candidates
    they came from, and the bands with a chained bucket."""

    likely: np.ndarray
    candidates: int
    chained: set[int]
    sampled: bool = False


def _within(part: _Part, max_bucket: int, floor: float) -> _Within:
    """The candidates of a whole pass in one part, each band's texts put in key order.

    Where the bands pair more than 4 texts per text (short texts of one vocabulary:
    the character pass at 5M rows forms 90M pairs), every band's order is kept, then
    each text's partners are gathered from every band, counted once and judged by the
    estimate, a block of texts per thread: the candidates are never held all together,
    which would cost more than the orders (16 bytes a pair against 4 a text and band)
    and a sort of them. Otherwise each band's pairs are listed from its order, made
    unique and judged: far fewer reads at random, and no order kept (at 5M rows the word
    pass forms 0.5 pairs a text, and its orders would be 313 MB). Bands are alike by
    construction, so the first band's pairs tell which way to go; either way gives the
    same candidates.
    """
    from ..text import kernels  # compiled on first use: not at import

    n, bands = part.keys.shape
    orders = np.empty((1, n), dtype=np.uint32)

    def order(b: int, into: np.ndarray) -> tuple[int, int]:
        return kernels.band_order(np.ascontiguousarray(part.keys[:, b]), max_bucket, into)

    first = order(0, orders[0])
    if first[1] * bands <= 4 * n:

        def listed(b: int) -> tuple[int, np.ndarray]:
            into = orders[0] if b == 0 else np.empty(n, dtype=np.uint32)
            largest, pairs = first if b == 0 else order(b, into)
            return largest, kernels.order_pairs(into, max_bucket, pairs)

        done = threaded_map(listed, range(bands))
        del orders
        candidates = unique_sorted([pairs for _, pairs in done if pairs.size])
        chained = {b for b, (largest, _) in enumerate(done) if largest > max_bucket}
        del done
        likely = likely_pairs(candidates, part.estimate, part.estimate, floor, side_by_side=True)
        return _Within(likely, int(candidates.size), chained)
    orders = np.concatenate([orders, np.empty((bands - 1, n), dtype=np.uint32)])
    sizes = [first, *threaded_map(lambda b: order(b, orders[b]), range(1, bands))]
    chained = {b for b, (largest, _) in enumerate(sizes) if largest > max_bucket}
    blocks = iter_chunks(n, max(1, -(-n // (2 * THREADS))))
    sketch = kernels.nibbles(part.estimate)
    done = threaded_map(
        lambda block: kernels.likely_within(orders, *block, max_bucket, part.estimate, sketch, floor), blocks
    )
    likely = np.concatenate([pairs for pairs, _ in done]) if done else np.empty(0, np.uint64)
    return _Within(likely, sum(count for _, count in done), chained)


def _verify_within(within: _Within, texts: Texts, shingling: Shingling, threshold: float) -> _Verified:
    if within.likely.size == 0:
        return _Verified(pl.DataFrame(schema=PAIR_SCHEMA), within.candidates, 0, False)
    verified = verify_pairs(within.likely, texts, shingling, threshold)
    return _Verified(verified, within.candidates, int(within.likely.size), False)


@dataclass
class _Verified:
    pairs: pl.DataFrame
    candidates: int
    estimated: int
    sampled: bool


def _verify_block(
    found: list[np.ndarray],
    texts_a: Texts,
    texts_b: Texts,
    estimate_a: np.ndarray,
    estimate_b: np.ndarray,
    starts: tuple[int, int],
    several: bool,
    shingling: Shingling,
    threshold: float,
    limit: int | None,
    seed: int,
) -> _Verified:
    """Verified pairs between two parts (or within one). With `several` reducers a pair
    may come from more than one (it shares keys in bands they each own): made unique here."""
    pairs = np.concatenate(found) if len(found) != 1 else found[0]
    if several:
        pairs = unique_sorted(pairs)
    candidates = int(pairs.size)
    sa, sb = starts
    if sa or sb:
        pairs = ((pairs >> np.uint64(32)) - np.uint64(sa)) << np.uint64(32) | (
            (pairs & np.uint64(0xFFFFFFFF)) - np.uint64(sb)
        )
    kept = sample_pairs(pairs, limit, seed)
    likely = likely_pairs(kept, estimate_a, estimate_b, threshold - ESTIMATE_SLACK, side_by_side=True)
    sampled = kept.size < candidates
    del pairs, kept
    if limit is not None and likely.size > limit // 3:
        likely, sampled = sample_pairs(likely, limit // 3, seed + 1), True
    if likely.size == 0:
        return _Verified(pl.DataFrame(schema=PAIR_SCHEMA), candidates, 0, sampled)
    same = sa == sb
    shift = 0 if same else len(texts_a)
    texts = texts_a if same else pl.concat([texts_a, texts_b])
    verified = verify_pairs(likely + np.uint64(shift) if shift else likely, texts, shingling, threshold)
    if sa or shift or sb:
        verified = verified.with_columns(
            a=(pl.col("a") + sa).cast(pl.UInt32), b=(pl.col("b") - shift + sb).cast(pl.UInt32)
        )
    return _Verified(verified, candidates, int(likely.size), sampled)
