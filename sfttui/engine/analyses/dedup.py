"""Exact and near duplicates, joined into clusters, with label conflicts.

Exact duplicates share a normalised text. Near duplicates are found among the distinct
normalised texts with MinHash/LSH (see minhash.py), and every candidate pair is
verified by the exact Jaccard similarity of its shingle sets before it counts.

Clusters are made by leader clustering (see `leaders`), not connected components:
single linkage chains rows far below the threshold (a 160-row component of
new_codealpaca instructions held rows at J 0.21 to its keeper), and a row may only be
proposed for dropping for a keeper it is itself within the threshold of. Connected
components are kept as `units`, which splits keep together. Each cluster gets an id
derived from its keeper's text, so ids do not change between runs or versions.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..io.load import PROMPT_CHARS
from ..io.texts import RowTexts, in_slices, with_texts
from ..runtime.parallel import LOCAL, Engine, Lazy
from ..runtime.progress import Progress, Stage, no_progress
from ..settings import NearSettings, NormalizeSettings
from ..text.lookup import SortedIndex, dense_ranks
from ..text.minhash import (
    THREADS,
    Shingling,
    iter_chunks,
    lsh_params,
    threaded_map,
)
from ..text.normalize import normalize_texts, stable_id
from .lsh_pass import (
    ESTIMATE_SLACK,
    PAIR_SCHEMA,
    SIG_CHUNK,
    InputTexts,
    NormalisedTexts,
    Signed,
    Texts,
    estimates_of,
    likely_pairs,
    near_pass,
    signature_keys,
    verify_pairs,
)

_INPUT_PERMS = 64  # permutations of the input side's near pass (see find_duplicates)
_CHAR_PERMS = 128  # and of its character pass

UNIT_SCHEMA = {"row": pl.UInt32(), "component": pl.String(), "t": pl.UInt32()}
LINK_SCHEMA = {"row": pl.UInt32(), "component": pl.String()}


@dataclass
class NearPass:
    """One LSH pass: which texts it covered and what it found."""

    shingling: str
    texts: int
    bands: int
    rows_per_band: int
    candidates: int | None  # None where not counted (the boundary pass, see _boundary_pairs)
    estimated: int | None  # candidates whose MinHash estimate came close enough to verify
    verified: int
    oversized_buckets: int
    sampled: bool = False  # only a seeded sample of the candidates was verified (max_candidates)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Duplicates:
    """Everything the duplicate analysis found.

    `clusters` has one row per cluster (id, kind, size, members, keeper, similarity and
    max_similarity: the lowest and highest of the members' own similarity to the keeper,
    labels, conflict, removable, component; same_response, for the input side's clusters:
    whether their members' responses are one once normalised); `membership` maps each clustered row to its
    cluster, its distinct normalised text `t`, whether it is the keeper and its
    similarity to the keeper; `pairs` holds the verified near pairs with their Jaccard
    similarity, by row key of each text's first row, and `text_pairs` the same pairs by `t`.
    """

    clusters: pl.DataFrame
    membership: pl.DataFrame
    pairs: pl.DataFrame
    text_pairs: pl.DataFrame
    # row -> component and distinct text `t`: every row joined to another by an exact copy
    # or a verified pair, directly or through others, on this side: what leakage between
    # splits looks twins up by.
    units: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=UNIT_SCHEMA))
    # row -> component over both sides: what a split must keep together (split.units).
    linked: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=LINK_SCHEMA))
    passes: list[NearPass] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    threshold: float = 0.8
    context: _Context | None = field(default=None, repr=False)
    signatures: Signatures | None = field(default=None, repr=False)
    side: str = "example"  # what was matched: the whole example, or the input alone
    # The input side's own analysis, when the rows have one (see with_input_side).
    input: Duplicates | None = field(default=None, repr=False)
    # Input side: a hash of the normalised response of each row an input cluster could
    # hold at any threshold down to the floor (row, response).
    responses: pl.DataFrame | None = field(default=None, repr=False)

    def at_threshold(self, threshold: float) -> Duplicates:
        """The same data clustered at another threshold (not below the explored floor)."""
        if self.context is None:
            raise ValueError("no pairs kept: run find_duplicates with explore_floor")
        if threshold < self.context.floor - 1e-12:
            raise ValueError(f"pairs were verified down to {self.context.floor:g} only")
        result = _assemble(self.context, threshold)
        result.passes, result.notes, result.responses = self.passes, self.notes, self.responses
        if self.input is not None:
            return with_input_side(result, self.input.at_threshold(threshold))
        return result

    def explored_similarities(self) -> np.ndarray:
        """The Jaccard of every verified pair down to the explored floor."""
        return (self.context.pairs if self.context is not None else self.pairs)["jaccard"].to_numpy()

    def explored_pairs(self) -> pl.DataFrame:
        """Verified pairs down to the explored floor (a, b as row keys, jaccard)."""
        if self.context is None:
            return self.pairs
        ctx = self.context
        key_of = ctx.frame["key"]
        return ctx.pairs.with_columns(
            a=key_of.gather(ctx.distinct.first_row.gather(ctx.pairs["a"])),
            b=key_of.gather(ctx.distinct.first_row.gather(ctx.pairs["b"])),
        )

    def nearest_pairs(self, threshold: float, count: int = 5) -> list[tuple[int, int, float]]:
        """The `count` verified pairs whose J is nearest `threshold`, as (row, row, J): the
        first rows of the two texts. For the UI thread: no column of every row is made."""
        if self.context is None or not self.context.pairs.height:
            return []
        ctx = self.context
        jaccard = ctx.pairs["jaccard"].to_numpy()
        gap = np.abs(jaccard - threshold)
        pick = np.argpartition(gap, count)[:count] if gap.size > count else np.arange(gap.size)
        pick = pick[np.lexsort((pick, gap[pick]))]
        first = ctx.distinct.first_row
        a = ctx.pairs["a"].gather(pick).to_list()
        b = ctx.pairs["b"].gather(pick).to_list()
        return [(int(first[x]), int(first[y]), float(jaccard[i])) for x, y, i in zip(a, b, pick)]

    def without_row_texts(self) -> Duplicates:
        """This result, its kept context holding no column of the rows (a pickle would
        write the texts out again for each object that shares them: 1.3 GB where the
        rows are 0.5 GB at a million chat rows); `with_row_texts` puts them back."""
        ctx = self.context
        if ctx is None:
            return self
        texts = ctx.distinct.texts
        slim = NormalisedTexts(pl.Series(dtype=pl.String), texts.first_row, texts.normalize, texts.words)
        own = ctx.frame.drop("row", "key", "label")
        return replace(
            self,
            context=replace(ctx, frame=own, distinct=replace(ctx.distinct, texts=slim)),
            input=self.input.without_row_texts() if self.input is not None else None,
        )

    def with_row_texts(self, rows: pl.DataFrame, texts: RowTexts) -> None:
        """Put back what `without_row_texts` left out, from the rows it was found in and
        their texts (Dataset.text_source)."""
        ctx = self.context
        if ctx is not None and "key" not in ctx.frame.columns:
            ctx.frame = rows.select("row", "key", "label").with_columns(*ctx.frame.iter_columns())
            ctx.distinct.texts.source = texts if self.side == "example" else InputTexts(rows, texts)
        if self.input is not None:
            self.input.with_row_texts(rows, texts)

    def take_signatures(self) -> Signatures | None:
        """The band keys, handed over for their last use (eval matching) and no longer
        held here, so the taker can free them as soon as it is done."""
        signatures, self.signatures = self.signatures, None
        return signatures

    @property
    def distinct(self) -> DistinctTexts | None:
        """The rows' normalised texts the analysis compared, once per distinct text."""
        return self.context.distinct if self.context is not None else None

    @property
    def rows_removable(self) -> int:
        """Rows that copy another's whole example (the input side's clusters are decided
        by the person: their responses differ)."""
        mine = self.clusters.filter(pl.col("side") == "example")
        return int(mine["removable"].sum()) if mine.height else 0

    @cached_property
    def exact_copies(self) -> tuple[int, int]:
        """(rows that are an exact copy of an earlier row, groups of equal normal forms)
        on the example side, in any cluster: a near cluster can hold exact copies too, so
        counting "exact" clusters alone undercounts what --drop exact removes (it leaves
        label conflicts and decided clusters to the person)."""
        if not self.membership.height:
            return 0, 0
        members = self.membership.filter(pl.col("side") == "example")
        per_text = members.group_by("t").len().filter(pl.col("len") > 1)
        return int((per_text["len"] - 1).sum()), per_text.height

    @cached_property
    def conflicts(self) -> pl.DataFrame:
        return self.clusters.filter(pl.col("conflict"))

    @cached_property
    def _position(self) -> dict[str, int]:
        # Built once per clustering: the app looks clusters up on every key, and a
        # filter over 100k+ ids costs ~10 ms where a dict costs microseconds.
        return {cid: i for i, cid in enumerate(self.clusters["id"].to_list())}

    def cluster(self, cluster_id: str) -> dict[str, Any]:
        """One cluster's row as a dict; KeyError if there is no such cluster."""
        return self.clusters.row(self._position[cluster_id], named=True)

    def has_cluster(self, cluster_id: str | None) -> bool:
        return cluster_id in self._position

    @cached_property
    def _pair_ends(self) -> tuple[np.ndarray, np.ndarray]:
        return self.text_pairs["a"].to_numpy(), self.text_pairs["b"].to_numpy()

    def copies_disagree(self, cluster_id: str, labels: pl.Series) -> bool:
        """Whether two members of a cluster share their normalised text (`labels`: every
        row's, by row number) but not their label: an exact conflict, even inside a near
        cluster."""
        members = self.membership.filter(pl.col("cluster") == cluster_id).select("row", "t")
        return bool(
            members.with_columns(label=labels.gather(members["row"]))
            .group_by("t")
            .agg(pl.col("label").drop_nulls().n_unique())
            .filter(pl.col("label") > 1)
            .height
        )

    def drops_for(self, cluster_id: str, keeper: str) -> list[str]:
        """The members that keeping `keeper` drops: its exact copies and the members whose
        own similarity to it reaches the threshold. For the proposed keeper that is every
        other member; another keeper may leave some members kept (no chains).

        Column access and NumPy only: the app calls this on its UI thread.
        """
        c = self.cluster(cluster_id)
        if c["side"] != self.side and self.input is not None:
            return self.input.drops_for(cluster_id, keeper)
        members = c["members"]
        if keeper == c["keeper"] or self.context is None:
            return [k for k in members if k != keeper]
        texts = self.context.frame.get_column("t").gather(c["rows"]).to_list()
        mine = texts[members.index(keeper)]
        a, b = self._pair_ends
        near = {*b[a == mine].tolist(), *a[b == mine].tolist(), mine}
        return [k for k, t in zip(members, texts) if k != keeper and t in near]


@dataclass
class Signatures:
    """The band keys the near-duplicate passes computed over the distinct texts, kept so
    eval matching with the same settings does not sign a million texts a second time."""

    texts: Texts
    settings: NearSettings
    passes: dict[Shingling, Signed]

    def lookup(self, texts: Texts, shingling: Shingling, settings: NearSettings, ids: np.ndarray):
        """The keys of `texts[ids]` under `settings`, if these are they; else None."""
        mine, asked = pass_settings(self.settings, shingling), pass_settings(settings, shingling)
        same_lsh = _bands(asked) == _bands(mine) and (asked.num_perm, asked.seed) == (
            mine.num_perm,
            mine.seed,
        )
        signed = self.passes.get(shingling)
        if not same_lsh or signed is None or not np.array_equal(signed.ids, ids):
            return None
        if texts is not self.texts and not (
            isinstance(texts, pl.Series) and isinstance(self.texts, pl.Series) and texts.equals(self.texts)
        ):
            return None
        return signed


def near_pairs(
    texts: Texts,
    settings: NearSettings,
    progress: Progress = no_progress,
    engine: Engine = LOCAL,
    signed: dict[Shingling, Signed] | None = None,
    across_edge: bool = False,
) -> tuple[pl.DataFrame, list[NearPass]]:
    """Verified near-duplicate pairs among distinct normalised texts (indices into `texts`).

    Two passes: word n-grams for texts of at least `short_words` words, character
    n-grams for texts of fewer than `2 * short_words` words (see NearSettings). Each
    pass: signatures chunk by chunk, LSH candidates, a cheap MinHash estimate to set
    aside candidates far below the threshold, then exact Jaccard verification; the
    engine decides where (see parallel.py). Passes that computed their band keys here
    leave them in `signed`, when given. With `across_edge`, pairs straddling the
    character pass's edge are compared by characters too (see _boundary_pairs).
    """
    plan = _plan(texts, settings)
    edge = _EdgeWindows.of(texts, settings) if across_edge else None
    below_signed: Signed | None = None
    found: list[pl.DataFrame] = []
    passes: list[NearPass] = []
    total = max(1, sum(int(mask.sum()) for _, mask in plan))
    done = 0
    for shingling, mask in plan:
        ids = np.flatnonzero(mask)
        if ids.size < 2:
            continue
        # Normalised texts stay unread until a part of them is wanted (see NormalisedTexts).
        lazily = isinstance(texts, NormalisedTexts) and ids.size != len(texts)
        subset = texts if ids.size == len(texts) else texts.subset(ids) if lazily else texts.gather(ids)

        def tick(fraction: float, done: int = done, size: int = ids.size) -> None:
            progress(Stage.NEAR, (done + fraction * size) / total * 0.8)

        # Only the character pass's estimate columns are wanted after it (by the boundary pass).
        for_edge = edge is not None and shingling.unit == "char"
        lsh = pass_settings(settings, shingling)
        bands, rows = _bands(lsh)
        result = near_pass(subset, shingling, lsh, bands, rows, tick, engine, keep_estimate=for_edge)
        if for_edge and result.signed is not None:
            below_signed = edge.below_of(replace(result.signed, ids=ids))
        if signed is not None and result.signed is not None:
            # Eval matching recomputes the estimate columns of the few texts it needs:
            # holding them for every text until then would cost 128 MB per million.
            signed[shingling] = replace(result.signed, ids=ids, estimate=None)
        done += ids.size
        # Back from positions in this pass to positions in `texts`.
        lookup = pl.Series(ids.astype(np.uint32))
        verified = result.verified
        found.append(verified.with_columns(a=lookup.gather(verified["a"]), b=lookup.gather(verified["b"])))
        passes.append(
            NearPass(
                shingling=shingling.describe(),
                texts=int(ids.size),
                bands=bands,
                rows_per_band=rows,
                candidates=result.candidates,
                estimated=result.estimated,
                verified=verified.height,
                oversized_buckets=result.oversized,
                sampled=result.sampled,
            )
        )
        # The pass's keys and estimate columns (~200 MB per million texts) go now, not
        # when the next pass or the boundary pass has made its own beside them.
        del result
    boundary = _boundary_pairs(texts, settings, edge, below_signed, engine) if edge is not None else None
    if boundary is not None:
        found.append(boundary[0])
        passes.append(boundary[1])
    progress(Stage.NEAR, 1.0)
    if not found:
        return pl.DataFrame(schema=PAIR_SCHEMA), passes
    # A pair found by both passes keeps its higher similarity.
    pairs = (
        pl.concat(found).sort("jaccard", descending=True).unique(["a", "b"], keep="first").sort(["a", "b"])
    )
    return pairs.select(list(PAIR_SCHEMA)).cast(PAIR_SCHEMA), passes


@dataclass
class _EdgeWindows:
    """The texts either side of the character pass's edge (`2 * short_words` words) whose
    word counts allow a pair across it: `below` under the edge, `above` at or over it."""

    edge: int
    low: int
    high: int
    below: np.ndarray
    above: np.ndarray
    words: np.ndarray  # of every text

    @classmethod
    def of(cls, texts: Texts, settings: NearSettings) -> _EdgeWindows:
        words, nonempty = text_shape(texts)
        edge = 2 * settings.short_words
        low = math.floor(edge * settings.threshold) - 1
        high = math.ceil(edge / settings.threshold) + 1
        below = np.flatnonzero(nonempty & (words >= low) & (words < edge))
        above = np.flatnonzero(nonempty & (words >= edge) & (words <= high))
        return cls(edge, low, high, below, above, words)

    def below_of(self, char_pass: Signed) -> Signed | None:
        """The character pass's keys and estimate columns of the texts below the edge."""
        if char_pass.estimate is None or not self.below.size:
            return None
        at = np.searchsorted(char_pass.ids, self.below)
        if at.max() >= char_pass.ids.size or not np.array_equal(char_pass.ids[at], self.below):
            return None
        return Signed(self.below, char_pass.keys[at], char_pass.estimate[at])


def _boundary_pairs(
    texts: Texts,
    settings: NearSettings,
    windows: _EdgeWindows,
    below_signed: Signed | None = None,
    engine: Engine = LOCAL,
) -> tuple[pl.DataFrame, NearPass] | None:
    """Character pairs across the word pass's lower edge: a text of fewer than
    `2 * short_words` words against one of at least that many.

    The character pass covers texts below the edge only, so a 23-word and a 24-word
    text that differ by a typo in a word (character J 0.97, word J far lower) were
    never compared by characters. Only pairs whose word counts are within the ratio
    the threshold allows are compared (the lengths of two texts at Jaccard J differ by
    at most that factor, here with a word to spare), as a cross between the two sides:
    pairs within one side are never formed, and those above the edge stay judged by
    their words. The same LSH as the character pass, so the texts below the edge come
    with the keys and estimate columns that pass made (`below_signed`); only the texts
    above it are signed.
    """
    below, above = windows.below, windows.above
    if not below.size or not above.size:
        return None
    shingling = Shingling("char", settings.char_ngram)
    chars_only = replace(pass_settings(settings, shingling), short_words=1 << 30)
    bands, rows = _bands(chars_only)
    words = windows.words
    # The smaller side is indexed whole and looked up; the larger runs in chunks.
    below_is_right = above.size >= below.size
    left, right = (above, below) if below_is_right else (below, above)
    # The right side is indexed whole; the left is read a part at a time, so it stays
    # unnormalised until then (at 5M rows' inputs, most of a million texts).
    left_texts = texts.subset(left) if isinstance(texts, NormalisedTexts) else texts.gather(left)
    right_texts = texts.gather(right)
    right_known = below_signed if below_is_right else None
    left_known = None
    if below_signed is not None and not below_is_right:
        left_known = Signatures(
            left_texts, chars_only, {shingling: replace(below_signed, ids=np.arange(left.size))}
        )
    found = cross_pairs(
        left_texts,
        right_texts,
        chars_only,
        engine=engine,
        signatures=left_known,
        right_known=right_known,
        lengths=(words[left], words[right], settings.threshold),
    )
    a = left[found["a"].to_numpy().astype(np.int64)]
    b = right[found["b"].to_numpy().astype(np.int64)]
    pairs = pl.DataFrame(
        {
            "a": np.minimum(a, b).astype(np.uint32),
            "b": np.maximum(a, b).astype(np.uint32),
            "jaccard": found["jaccard"],
            "shingles": [shingling.describe()] * found.height,
        },
        schema=PAIR_SCHEMA,
    )
    edge, low, high = windows.edge, windows.low, windows.high
    described = f"{shingling.describe()} across {edge} words ({low}-{edge - 1} x {edge}-{high})"
    return pairs, NearPass(described, int(below.size + above.size), bands, rows, None, None, pairs.height, 0)


def _plan(texts: Texts, settings: NearSettings) -> list[tuple[Shingling, np.ndarray]]:
    """Which texts each pass covers: character n-grams for short ones, word n-grams for long."""
    words, nonempty = text_shape(texts)
    return [
        (Shingling("char", settings.char_ngram), nonempty & (words < 2 * settings.short_words)),
        (Shingling("word", settings.word_ngram), nonempty & (words >= settings.short_words)),
    ]


def _bands(settings: NearSettings) -> tuple[int, int]:
    if settings.bands and settings.rows_per_band:
        return settings.bands, settings.rows_per_band
    return lsh_params(settings.threshold, settings.num_perm)


def pass_settings(settings: NearSettings, shingling: Shingling) -> NearSettings:
    """The LSH settings one pass signs and searches with: the character pass's own
    (`char_lsh`) where it has them, else `settings`. The result names no `char_lsh`, so
    asking again gives the same."""
    if shingling.unit != "char" or settings.char_lsh is None:
        return settings
    perms, bands, rows = settings.char_lsh
    return replace(settings, num_perm=perms, bands=bands, rows_per_band=rows, char_lsh=None)


def cross_pairs(
    left: Texts,
    right: pl.Series,
    settings: NearSettings,
    progress: Progress = no_progress,
    engine: Engine = LOCAL,
    signatures: Signatures | None = None,
    right_known: Signed | None = None,
    lengths: tuple[np.ndarray, np.ndarray, float] | None = None,
) -> pl.DataFrame:
    """Verified near pairs between two sets of texts (a in `left`, b in `right`), never within one.

    For a large `left` against a small `right` (a training set against an eval set):
    the right side's band keys are sorted once, the left side's are computed chunk by
    chunk and looked up in them, so no pair inside the large side is ever formed. Same
    shingling, bands, estimate filter and exact verification as `near_pairs`; buckets
    holding more than `max_bucket`**2 left x right pairs are left out, where
    `near_pairs` chains them. The engine runs the left side's chunks. `signatures`
    from the duplicate analysis of `left` are used instead of signing it again when
    they were made with the same LSH settings; `right_known` (keys and estimate columns
    of every text of `right`, in order) likewise for the right side. With `lengths`
    (word counts of left and right, and a threshold), only pairs whose word counts are
    within that ratio are compared (see kernels.cross_candidates).
    """
    found: list[pl.DataFrame] = []
    left_plan, right_plan = _plan(left, settings), _plan(right, settings)
    for (shingling, lmask), (_, rmask) in zip(left_plan, right_plan):
        lids, rids = np.flatnonzero(lmask), np.flatnonzero(rmask)
        if lids.size == 0 or rids.size == 0:
            continue
        lsh = pass_settings(settings, shingling)
        bands, rows = _bands(lsh)
        known_right = None
        if right_known is not None and right_known.estimate is not None:
            known_right = Signed(rids, right_known.keys[rids], right_known.estimate[rids])
        side = _RightSide.of(right.gather(rids), shingling, lsh, bands, rows, known_right)
        left_words = None
        if lengths is not None:
            left_words, side.words = _narrow(lengths[0][lids], lengths[1][rids])
            side.ratio = lengths[2]
        if lids.size == len(left):
            lsub = left  # no copy when all take part
        else:
            lsub = left.subset(lids) if isinstance(left, NormalisedTexts) else left.gather(lids)
        # Parts are whole numbers of signature chunks, so the bucket cap below sees the
        # same chunks whichever engine runs them; a multiple of THREADS of them, since a
        # part's chunks run side by side (5 chunks on 2 threads left a core idle a third
        # of the time: at 5M rows' inputs the boundary cross took 9.9-10.1 s, not 9.0).
        most = min(engine.rows_per_task(lids.size), getattr(lsub, "part_rows", lids.size))
        chunks = most // SIG_CHUNK
        step = SIG_CHUNK * max(1, chunks - chunks % THREADS if chunks >= THREADS else chunks)
        known = signatures.lookup(left, shingling, lsh, lids) if signatures else None
        bounds = list(iter_chunks(lids.size, step))

        def part(
            k: int, lsub: Texts = lsub, known: Signed | None = known, bounds: list = bounds, words=left_words
        ) -> tuple:
            lo, hi = bounds[k]
            if known is None:
                return lsub.slice(lo, hi - lo), lo, None, None if words is None else words[lo:hi]
            # With the keys known only candidates' texts are read: they stay unnormalised.
            texts = lsub.part(lo, hi - lo) if isinstance(lsub, NormalisedTexts) else lsub.slice(lo, hi - lo)
            return texts, lo, known.keys[lo:hi], None if words is None else words[lo:hi]

        parts = Lazy(len(bounds), part)
        results = engine.map(
            _cross_part,
            parts,
            side,
            shingling,
            lsh,
            progress=lambda f: progress(Stage.NEAR, f),
        )
        for verified in results:
            if verified.height:
                found.append(
                    verified.select(
                        a=pl.Series(lids.astype(np.uint32)).gather(verified["a"]),
                        b=pl.Series(rids.astype(np.uint32)).gather(verified["b"]),
                        jaccard="jaccard",
                    )
                )
    if not found:
        return pl.DataFrame(schema={"a": pl.UInt32, "b": pl.UInt32, "jaccard": pl.Float64})
    # A pair found by both passes keeps its higher similarity.
    return pl.concat(found).sort("jaccard", descending=True).unique(["a", "b"], keep="first").sort(["a", "b"])


def _narrow(*counts: np.ndarray) -> tuple[np.ndarray, ...]:
    """Word counts in the smallest type that holds them all (uint8, uint16, else int64):
    the cross kernel reads a right text's at random for every partner it visits, and at
    a byte each a 5M-row side's stay in the core's cache."""
    top = max((int(c.max()) for c in counts if c.size), default=0)
    dtype = np.uint8 if top < 1 << 8 else np.uint16 if top < 1 << 16 else np.int64
    return tuple(c.astype(dtype) for c in counts)


def _band_codes(keys: np.ndarray) -> np.ndarray:
    """A texts x bands key matrix as one uint64 per (text, band): the band above the key,
    so equal codes mean the same bucket of the same band. Laid out text by text."""
    codes = keys.astype(np.uint64)
    codes |= np.arange(keys.shape[1], dtype=np.uint64)[None, :] << np.uint64(32)  # in place: no second copy
    return codes.reshape(-1)


@dataclass
class _RightSide:
    """The small side of `cross_pairs`, computed once and shared with every chunk: its
    band codes sorted (see lookup.SortedIndex), so a chunk's lookups cost chunk x log
    of its size, not a hash table of it built again for every chunk."""

    texts: pl.Series
    estimate: np.ndarray
    sketch: np.ndarray  # kernels.nibbles of the estimate, made once for every chunk
    buckets: SortedIndex  # band code -> positions of the texts in that bucket
    bands: int
    rows: int
    words: np.ndarray | None = None  # with `ratio`: pairs compared only within it (cross_pairs)
    ratio: float = 0.0

    @classmethod
    def of(
        cls,
        texts: pl.Series,
        shingling: Shingling,
        settings: NearSettings,
        bands: int,
        rows: int,
        known: Signed | None = None,  # keys and estimate columns already made, in order
    ):
        if known is not None:
            keys, estimate = known.keys, known.estimate
        else:
            keys, estimate = signature_keys(texts, shingling, settings, bands, rows)
        from ..text import kernels  # compiled on first use: not at import

        return cls(
            texts,
            estimate,
            kernels.nibbles(estimate),
            SortedIndex.of(_band_codes(keys), per=bands),
            bands,
            rows,
        )


def _cross_part(
    part: tuple[pl.Series, int, np.ndarray | None, np.ndarray | None],
    right: _RightSide,
    shingling: Shingling,
    settings: NearSettings,
) -> pl.DataFrame:
    """Verified pairs between one part of the left side (starting at `start`, with its
    band keys when already known, and its texts' word counts when pairs are compared
    only within a ratio of them) and the right side."""
    from ..text import kernels  # compiled on first use: not at import

    lsub, start, known, words = part
    cap = settings.max_bucket * settings.max_bucket
    bounds = list(iter_chunks(len(lsub), SIG_CHUNK))
    alone = len(bounds) < 2 or THREADS == 1  # else chunks run side by side, each signing on one core

    def chunk_pairs(span: tuple[int, int]) -> pl.DataFrame | None:
        lo, hi = span
        if known is None:
            chunk = lsub.slice(lo, hi - lo)
            keys, lestimate = signature_keys(
                chunk, shingling, settings, right.bands, right.rows, threads=None if alone else 1
            )
        else:
            keys, lestimate = known[lo:hi], None
        hit, bucket = right.buckets.find(_band_codes(keys))
        # A bucket that joins thousands of rows on both sides is shared boilerplate
        # (one system prompt in every chat): joining it would cost left x right rows
        # for no information, since true pairs share many other bands. Like the
        # chained buckets of near_pairs, it is left out.
        _, inverse = dense_ranks(bucket)
        on_left = np.bincount(inverse)
        fits = on_left[inverse].astype(np.uint64) * right.buckets.count[bucket].astype(np.uint64) <= cap
        hit, bucket = hit[fits], bucket[fits]
        lwords, rwords = (
            (words[lo:hi], right.words) if words is not None and right.words is not None else _NO_WORDS
        )
        floor = settings.threshold - ESTIMATE_SLACK

        def judged(rows_a: np.ndarray, rows_b: np.ndarray, sketch_b: np.ndarray) -> np.ndarray:
            # Each left text's partners once, within the word ratio and, given estimate
            # rows, at or above the estimate floor.
            index = right.buckets
            return kernels.cross_candidates(
                hit, bucket, index.start, index.count, index.items, right.bands, lwords, rwords, right.ratio,
                rows_a, rows_b, kernels.nibbles(rows_a), sketch_b, floor,
            )  # fmt: skip

        if lestimate is None:
            candidates = judged(_NO_ROWS, _NO_ROWS, _NO_SKETCH)
            if candidates.size == 0:
                return None
            # Known keys come without estimate columns: only candidates' texts need them,
            # so only theirs are read (normalised), once, for the estimates and the check.
            wanted, at_a = dense_ranks(candidates >> np.uint64(32))
            candidates = (at_a.astype(np.uint64) << np.uint64(32)) | (candidates & np.uint64(0xFFFFFFFF))
            chunk = lsub.gather(lo + wanted.astype(np.int64))
            lestimate = estimates_of(chunk, shingling, settings)
            first = wanted.astype(np.uint32)  # a chunk position of each text in `chunk`
            likely = likely_pairs(candidates, lestimate, right.estimate, floor)
        else:
            first = None
            likely = judged(lestimate, right.estimate, right.sketch)
        if likely.size == 0:
            return None
        # One text list for verification: this chunk, then the right side's texts that
        # are in a pair (not all of them: two chunks are in flight at once).
        partners, at = dense_ranks(likely & np.uint64(0xFFFFFFFF))
        likely = (likely & ~np.uint64(0xFFFFFFFF)) | (at.astype(np.uint64) + np.uint64(len(chunk)))
        texts = pl.concat([chunk, right.texts.gather(partners.astype(np.int64))])
        verified = verify_pairs(likely, texts, shingling, settings.threshold)
        a = verified["a"] if first is None else pl.Series(first).gather(verified["a"])
        b = pl.Series(partners.astype(np.uint32)).gather(verified["b"] - len(chunk))
        return verified.select(a=a + (start + lo), b=b, jaccard="jaccard")

    found = [pairs for pairs in threaded_map(chunk_pairs, bounds) if pairs is not None]
    if not found:
        return pl.DataFrame(schema={"a": pl.UInt32, "b": pl.UInt32, "jaccard": pl.Float64})
    return pl.concat(found)


# Stand-ins for "no word counts" and "no estimate rows" (see kernels.cross_candidates).
_NO_WORDS = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
_NO_ROWS = np.empty((0, 0), dtype=np.uint16)
_NO_SKETCH = np.empty((0, 0), dtype=np.uint64)


# Words of a normalised text (its spaces + 1), and 0 for an empty one.
_WORDS = pl.when(pl.col("t").str.len_bytes() > 0).then(pl.col("t").str.count_matches(" ") + 1).otherwise(0)


def text_shape(texts: Texts) -> tuple[np.ndarray, np.ndarray]:
    """Words of each text (spaces + 1) and whether it is non-empty."""
    words = (
        texts.words
        if isinstance(texts, NormalisedTexts)
        else texts.to_frame("t").select(_WORDS).to_series().to_numpy()
    )
    return np.maximum(words, 1), words > 0


_NORM_SLICE = 200_000  # texts normalised at once while grouping them
_KEY_SCHEMA = {"hash": pl.UInt64(), "words": pl.UInt32()}
_TEXT_SEED = 0x7E47


def _text_key(texts: pl.Series, normalize: NormalizeSettings | None) -> pl.DataFrame:
    """A hash of each text's normal form and its words (0 when it is empty)."""
    return (
        pl.DataFrame({"t": normalize_texts(texts, normalize)})
        .select(hash=pl.col("t").hash(_TEXT_SEED), words=_WORDS)
        .cast(_KEY_SCHEMA)
    )


@dataclass
class DistinctTexts:
    """Rows' normalised texts, each distinct one once: what exact duplicates are
    grouped by and near duplicates and eval matches are searched among."""

    texts: NormalisedTexts  # the distinct normalised texts, in order of first appearance
    of_row: pl.Series  # UInt32: each row's position in `texts` (its `t`)
    hashes: np.ndarray  # UInt64: each distinct text's hash (_text_key), for exact lookups

    def find(self, norm: pl.Series) -> pl.DataFrame:
        """(i, j): the distinct texts (i) equal to each of the normalised texts `norm` (j,
        normalised with these texts' settings); an empty text matches nothing. Looked up
        by hash, so only the few texts a hash points at are normalised again, to compare."""
        want = (
            pl.DataFrame({"norm": norm})
            .with_row_index("j")
            .filter(pl.col("norm") != "")
            .with_columns(hash=pl.col("norm").hash(_TEXT_SEED))
        )
        found = pl.DataFrame({"hash": self.hashes}).with_row_index("i").join(want, on="hash")
        same = self.texts.gather(found["i"]) == found["norm"]  # a shared hash is not yet equal
        return found.filter(same).select("i", "j")

    @property
    def first_row(self) -> pl.Series:
        """UInt32: the first row of each distinct text."""
        return self.texts.first_row

    @classmethod
    def of(
        cls, texts: RowTexts | InputTexts, normalize: NormalizeSettings | None = None, engine: Engine = LOCAL
    ) -> DistinctTexts:
        """From every row's text (rows numbered from 0).

        Rows are grouped by a 64-bit hash of their normalised text, normalised a slice at
        a time, so no column of every normalised text is ever held. Rows whose hash
        another row shares (the duplicates, and any collision) are then grouped again by
        the normalised texts themselves, so the grouping is exact.
        """
        step = min(engine.rows_per_task(len(texts)), _NORM_SLICE)
        bounds = list(iter_chunks(len(texts), step))
        # Made as they are used: a slice of the input side is a new column of prompts,
        # and all of them at once were every prompt again (5M chat rows: the input
        # stage's peak).
        parts = Lazy(len(bounds), lambda k: texts.slice(bounds[k][0], bounds[k][1] - bounds[k][0]))
        keys = (
            pl.concat(engine.map(_text_key, parts, normalize)) if bounds else pl.DataFrame(schema=_KEY_SCHEMA)
        )
        first = engine.first_of_equal(keys["hash"]).to_numpy().astype(np.int64)
        at = np.arange(first.size)
        shared = np.flatnonzero(np.isin(first, first[first != at]))
        if shared.size:
            norm = normalize_texts(texts.gather(shared), normalize)
            exact = pl.DataFrame({"v": norm, "r": shared}).select(pl.col("r").min().over("v")).to_series()
            first[shared] = exact.to_numpy()
        first_rows = np.flatnonzero(first == at)
        words = keys["words"].to_numpy()[first_rows]
        return cls(
            texts=NormalisedTexts(
                texts, pl.Series(first_rows, dtype=pl.UInt32), normalize, words.astype(np.uint32)
            ),
            of_row=pl.Series(np.searchsorted(first_rows, first), dtype=pl.UInt32),
            hashes=keys["hash"].to_numpy()[first_rows],
        )


@dataclass
class _Context:
    """What clusters are assembled from, kept so the threshold can change without a rescan."""

    frame: pl.DataFrame  # row, key, text, label, t
    distinct: DistinctTexts
    pairs: pl.DataFrame  # verified pairs (a, b as t) at or above `floor`
    floor: float
    keep: str
    side: str = "example"


def _response_hashes(
    rows: pl.DataFrame, texts: RowTexts, ctx: _Context, normalize: NormalizeSettings | None
) -> pl.DataFrame:
    """The normalised response's hash of each row whose input has an exact copy or a
    verified pair: the rows an input cluster can hold (few, so few are normalised)."""
    shared = ctx.frame.group_by("t").len().filter(pl.col("len") > 1)["t"]
    paired = pl.concat([ctx.pairs["a"], ctx.pairs["b"], shared.cast(ctx.pairs["a"].dtype)]).unique()
    wanted = ctx.frame.filter(pl.col("t").is_in(paired.implode()))["row"]
    text = pl.col("text")
    picked = with_texts(rows[wanted], texts)
    responses = picked.select(text.str.slice(text.str.len_chars() - pl.col("reply"))).to_series()
    return pl.DataFrame({"row": wanted, "response": normalize_texts(responses, normalize).hash()})


def _lengths(rows: pl.DataFrame, texts: RowTexts, side: str) -> pl.Series:
    """Characters of each row's example (or input), read a slice of texts at a time."""
    length = pl.col("text").str.len_chars() if side == "example" else PROMPT_CHARS
    return in_slices(rows, texts, lambda part: part.select(length)).to_series()


def has_input_side(rows: pl.DataFrame) -> bool:
    """Whether any row's input differs from its whole example (chat, Alpaca and
    prompt/completion data; for plain text and classification data they are one)."""
    return bool(rows.height) and bool(rows["prompt"].null_count() < rows.height or (rows["reply"] > 0).any())


def find_duplicates(
    rows: pl.DataFrame,
    normalize: NormalizeSettings | None = None,
    near: NearSettings | None = None,
    keep: str = "first",
    progress: Progress = no_progress,
    explore_floor: float | None = None,
    engine: Engine = LOCAL,
    side: str = "example",
    texts: RowTexts | None = None,
    keep_keys: bool = True,
) -> Duplicates:
    """Exact and near-duplicate clusters over the rows of a loaded dataset, matched on
    their whole example (`side="example"`) or on their input alone (`side="input"`).
    `texts` are every row's texts where `rows` holds none (Dataset.text_source).
    `keep_keys`: the passes' band keys are kept (`Duplicates.signatures`) for eval
    matching to reuse; without an eval set each pass's go when it is done.

    With `explore_floor` below the threshold, pairs are verified down to that floor and
    kept, so `Duplicates.at_threshold` can rebuild clusters for another threshold at
    once (the app's threshold slider); the clusters returned are at the threshold.
    """
    near = near or NearSettings()
    stage = (Stage.EXACT, Stage.NEAR) if side == "example" else (Stage.INPUT, Stage.INPUT)
    clock = time.perf_counter()
    timings: dict[str, float] = {}
    progress(stage[0], 0.0)
    texts = rows["text"] if texts is None else texts
    source: RowTexts | InputTexts = texts if side == "example" else InputTexts(rows, texts)
    # Only the distinct normalised texts are kept (each row points at its own): every
    # later stage works on them, and a per-row copy would be most of the input again.
    distinct = DistinctTexts.of(source, normalize, engine)
    distinct_norm = distinct.texts
    frame = rows.select("row", "key", "label").with_columns(t=distinct.of_row)
    if keep == "longest":
        frame = frame.with_columns(length=_lengths(rows, texts, side))
    progress(stage[0], 0.2 if side == "input" else 1.0)
    timings["exact"] = time.perf_counter() - clock

    clock = time.perf_counter()
    notes: list[str] = []
    floor = min(explore_floor, near.threshold) if explore_floor is not None else near.threshold
    if near.enabled:
        signed: dict[Shingling, Signed] | None = {} if keep_keys else None
        # The input side is signed with half the permutations (bands for recall 0.9995 at
        # the threshold): every candidate is verified exactly, and it is a second pass.
        # Its character pass keeps the full count where that buys a row more per band: at
        # 5M rows' short inputs 64 made 89M candidates where 128 make 34M, in less time.
        # Where it does not (floors near 0.3 and 0.5), more bands only add candidates.
        lsh = replace(near, threshold=floor)
        if side == "input":
            bands, rows_per_band = lsh_params(floor, _INPUT_PERMS, target=0.9995)
            char_bands, char_rows = lsh_params(floor, _CHAR_PERMS, target=0.9995)
            char = (_CHAR_PERMS, char_bands, char_rows) if char_rows > rows_per_band else None
            lsh = replace(lsh, num_perm=_INPUT_PERMS, bands=bands, rows_per_band=rows_per_band, char_lsh=char)
        pairs, passes = near_pairs(
            distinct_norm,
            lsh,
            progress if side == "example" else (lambda _s, f: progress(Stage.INPUT, 0.2 + 0.8 * f)),
            engine,
            signed,
            across_edge=True,
        )
        signatures = None if signed is None else Signatures(distinct_norm, lsh, signed)
    else:
        pairs, passes = pl.DataFrame(schema=PAIR_SCHEMA), []
        signatures = None
        notes.append("near-duplicate detection was switched off")
    timings["near"] = time.perf_counter() - clock
    clock = time.perf_counter()
    context = _Context(frame, distinct, pairs, floor, keep, side)
    result = _assemble(context, near.threshold)
    result.passes, result.notes, result.signatures = passes, notes, signatures
    result.side = side
    if side == "input":
        result.responses = _response_hashes(rows, texts, context, normalize)
    timings["clusters"] = time.perf_counter() - clock
    result.timings = timings
    progress(stage[1], 1.0)
    return result


def leaders(
    rank: np.ndarray, a: np.ndarray, b: np.ndarray, jaccard: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Leader clustering of texts joined by verified pairs (a, b, jaccard): for each text,
    the text it is a duplicate of (itself for a leader) and their similarity.

    Texts are taken in order of `rank` (lower first): a text is a leader unless a pair
    joins it to an earlier leader, and then it follows the earliest such leader. This
    is the greedy pass "take the next keeper, drop its neighbours at or above the
    threshold, repeat on what is left", so every follower is itself within the threshold
    of its leader (connected components chain far past it) and no two leaders are.

    Run in rounds over all texts at once: a text is decided once every earlier neighbour
    is; each round decides at least the earliest undecided text of every group.
    """
    n = rank.size
    leader = np.arange(n, dtype=np.int64)
    similarity = np.ones(n, dtype=np.float64)
    early = rank[a] < rank[b]
    lo, hi = np.where(early, a, b).astype(np.int64), np.where(early, b, a).astype(np.int64)
    sim = jaccard.astype(np.float64)
    undecided = np.zeros(n, dtype=bool)
    undecided[hi] = True  # a text with no earlier neighbour leads
    is_leader = np.ones(n, dtype=bool)
    is_leader[hi] = False
    while lo.size:
        blocked = np.zeros(n, dtype=bool)
        blocked[hi[undecided[lo]]] = True
        ready = undecided & ~blocked
        # Ready texts joined to a leader follow the earliest one; the others lead.
        joins = ready[hi] & is_leader[lo]
        jl, jh, js = lo[joins], hi[joins], sim[joins]
        order = np.lexsort((rank[jl], jh))
        jl, jh, js = jl[order], jh[order], js[order]
        first = np.ones(jh.size, dtype=bool)
        first[1:] = jh[1:] != jh[:-1]
        leader[jh[first]], similarity[jh[first]] = jl[first], js[first]
        follows = np.zeros(n, dtype=bool)
        follows[jh] = True
        is_leader[ready & ~follows] = True
        undecided[ready] = False
        # A pair matters while its later text is undecided and its earlier one may lead.
        live = undecided[hi] & (undecided[lo] | is_leader[lo])
        lo, hi, sim = lo[live], hi[live], sim[live]
    return leader, similarity


def _numbered_as_met(t: pl.Series, n: int) -> bool:
    """Whether the texts `t` of the rows, in order, are numbered 0 .. n - 1 as they are
    first met: each new highest number is one more than the last. In Polars, whose
    allocator has the pages earlier stages freed: at 5M rows the same check in NumPy
    took fresh pages and raised the input stage's peak by 50-90 MB."""
    if t.len() == 0 or t[0] != 0 or t.max() != n - 1:
        return False
    return bool(t.to_frame("t").select((pl.col("t").cum_max().diff() <= 1).all()).item())


def _text_rank(frame: pl.DataFrame, n_texts: int, keep: str) -> np.ndarray:
    """Each distinct text's place in keeper order: by its first row ("first"), or by its
    longest row, longer first ("longest")."""
    if keep == "first":
        if frame["row"].is_sorted() and _numbered_as_met(frame["t"], n_texts):
            # DistinctTexts numbers texts as the rows first meet them: the order is theirs
            # (a group-by and a sort of every row saved, 0.1 s per million).
            return np.arange(n_texts, dtype=np.int64)
        best = frame.group_by("t").agg(pl.col("row").min())
        order = best.sort("row")["t"]
    else:
        best = frame.group_by("t").agg(pl.col("length").max(), row=pl.col("row").min())
        order = best.sort([pl.col("length"), pl.col("row")], descending=[True, False])["t"]
    rank = np.full(n_texts, n_texts, dtype=np.int64)
    rank[order.to_numpy().astype(np.int64)] = np.arange(order.len())
    return rank


def _assemble(ctx: _Context, threshold: float) -> Duplicates:
    """Clusters from the exact groups and the verified pairs at or above `threshold`.

    A cluster is a leader text with its exact copies and the texts that follow it (see
    `leaders`): every member is within the threshold of the keeper it would be dropped
    for. The connected component of a cluster (`component`) may join several clusters;
    it is what a split keeps together (see split.units), which is the conservative side.
    """
    frame, keep = ctx.frame, ctx.keep
    pairs = ctx.pairs.filter(pl.col("jaccard") >= threshold - 1e-12)
    n_texts = len(ctx.distinct.texts)
    a, b = pairs["a"].to_numpy().astype(np.int64), pairs["b"].to_numpy().astype(np.int64)
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n_texts, n_texts))
    _, component = connected_components(graph, directed=False)
    leader, to_leader = leaders(_text_rank(frame, n_texts, keep), a, b, pairs["jaccard"].to_numpy())
    t = frame["t"].to_numpy().astype(np.int64)
    lead = leader[t]
    # Rows and distinct texts per leader, counted over dense text numbers: a group-by
    # over every row's leader (most lead only themselves) took 0.48 s a side at 5M rows,
    # 6x its time at 1M, where these counts take a pass each.
    size = np.bincount(lead, minlength=n_texts)
    present = np.zeros(n_texts, dtype=bool)
    present[t] = True
    texts_of = np.bincount(leader[present], minlength=n_texts)
    frame = frame.with_columns(
        lead=pl.Series(lead, dtype=pl.UInt32),
        comp=pl.Series(component[t], dtype=pl.UInt32),
        to_keeper=pl.Series(to_leader[t]),
    )
    multi = size[lead] > 1
    held = lead[multi]  # the leaders of the rows kept: each count gathered once, for them
    clustered = (
        frame.filter(pl.Series(multi))
        .with_columns(
            size=pl.Series(size[held], dtype=pl.UInt32), texts=pl.Series(texts_of[held], dtype=pl.UInt32)
        )
        .sort("row")
    )
    keeper_order = [pl.col("row")] if keep == "first" else [-pl.col("length").cast(pl.Int64), pl.col("row")]
    clusters = (
        clustered.group_by("lead", maintain_order=True)
        .agg(
            comp=pl.col("comp").first(),
            size=pl.len(),
            texts=pl.col("texts").first(),
            members=pl.col("key"),
            rows=pl.col("row"),
            similarities=pl.col("to_keeper"),
            keeper=pl.col("key").sort_by(keeper_order).first(),
            keeper_row=pl.col("row").sort_by(keeper_order).first(),
            # Each member's own similarity to the keeper (1.0 for exact copies).
            similarity=pl.col("to_keeper").sort_by(keeper_order).slice(1).min(),
            max_similarity=pl.col("to_keeper").sort_by(keeper_order).slice(1).max(),
            labels=pl.col("label").drop_nulls().unique().sort(),
        )
        .with_columns(
            kind=pl.when(pl.col("texts") == 1).then(pl.lit("exact")).otherwise(pl.lit("near")),
            similarity=pl.col("similarity").fill_null(1.0),
            max_similarity=pl.col("max_similarity").fill_null(1.0),
            conflict=pl.col("labels").list.len() > 1,
            removable=pl.col("size") - 1,
        )
    )
    texts = ctx.distinct.texts
    # Input-side ids start with "i": an input can equal another row's whole example.
    prefix = "c" if ctx.side == "example" else "i"
    ids = [stable_id(text, prefix) for text in texts.gather(clusters["lead"]).to_list()]
    clusters = clusters.with_columns(id=pl.Series(ids, dtype=pl.String))
    # A component is named by its first cluster (in row order), so a component that is
    # one cluster carries that cluster's id. Every component of two or more rows holds
    # a cluster: its earliest text leads, and its neighbours follow it or an earlier one.
    components = clusters.group_by("comp", maintain_order=True).agg(component=pl.col("id").first())
    clusters = clusters.join(components, on="comp")
    # Rows of a component that no cluster holds (they follow nobody: their neighbours
    # followed another keeper) still share near duplicates with it, so splits keep them.
    units = frame.join(components, on="comp").select("row", "component", "t").sort("row")
    membership = clustered.join(clusters.select("lead", "id", "keeper_row", "component"), on="lead").select(
        "row",
        "key",
        "t",
        cluster="id",
        keeper=pl.col("row") == pl.col("keeper_row"),
        similarity="to_keeper",
        component="component",
    )
    # Largest first; ties in order of first appearance so the listing is stable.
    clusters = clusters.sort(["size", "keeper_row"], descending=[True, False]).select(
        "id",
        "kind",
        "size",
        "members",
        "rows",
        "similarities",
        "keeper",
        "keeper_row",
        "similarity",
        "max_similarity",
        "labels",
        "conflict",
        "removable",
        "component",
    )
    key_of = frame["key"]
    text_pairs = pairs.with_columns(
        a=key_of.gather(ctx.distinct.first_row.gather(pairs["a"])),
        b=key_of.gather(ctx.distinct.first_row.gather(pairs["b"])),
    )
    return Duplicates(
        # same_response: for the input side's clusters, filled in by with_input_side.
        clusters=clusters.with_columns(side=pl.lit(ctx.side), same_response=pl.lit(None, dtype=pl.Boolean)),
        membership=membership.with_columns(side=pl.lit(ctx.side)),
        pairs=text_pairs,
        text_pairs=pairs.select("a", "b", "jaccard"),
        units=units,
        linked=units.select("row", "component"),
        threshold=threshold,
        context=ctx,
        side=ctx.side,
    )


def with_input_side(example: Duplicates, inputs: Duplicates) -> Duplicates:
    """The example side's result with the input side's findings merged in.

    An input cluster is a finding of its own ("same input, different response") unless
    one example cluster already holds all its rows; those are listed beside the example
    clusters (side "input"), with their label conflicts, which are judged on the input.
    Rows joined on either side stay together in splits (`linked`).
    """
    in_example = example.membership.select("row", ex="cluster")
    covered = (
        inputs.membership.join(in_example, on="row", how="left")
        .group_by("cluster")
        .agg(covered=pl.col("ex").is_not_null().all() & (pl.col("ex").n_unique() == 1))
    )
    listed = covered.filter(~pl.col("covered"))["cluster"]
    own = inputs.clusters.filter(pl.col("id").is_in(listed.implode()))
    if inputs.responses is not None:
        # Near inputs and one response: the same example, which the example side's word
        # n-grams did not join (a reworded long prompt); not "responses differ".
        same = (
            inputs.membership.select("row", "cluster")
            .join(inputs.responses, on="row", how="left")
            .group_by("cluster")
            .agg(same=pl.col("response").is_not_null().all() & (pl.col("response").n_unique() == 1))
        )
        own = (
            own.join(same, left_on="id", right_on="cluster", how="left")
            .with_columns(same_response=pl.col("same").fill_null(False))
            .drop("same")
        )
    clusters = pl.concat([example.clusters, own])
    clusters = clusters.sort(["size", "keeper_row", "side"], descending=[True, False, False])
    membership = pl.concat(
        [example.membership, inputs.membership.filter(pl.col("cluster").is_in(listed.implode()))]
    )
    return replace(
        example,
        clusters=clusters,
        membership=membership,
        linked=_linked(example.linked, inputs.linked),
        input=inputs,
    )


def _linked(*sides: pl.DataFrame) -> pl.DataFrame:
    """Rows joined by either side's components, as one component each (named by the
    component of its first row on the first side that has one)."""
    frames = [f.with_columns(side=pl.lit(i, dtype=pl.UInt8)) for i, f in enumerate(sides) if f.height]
    if not frames:
        return pl.DataFrame(schema={"row": pl.UInt32, "component": pl.String})
    edges = pl.concat(frames)
    rows = edges["row"].unique().sort()
    names = edges.select(pl.struct("side", "component")).to_series().rank("dense").cast(pl.Int64) - 1
    n = rows.len()
    node = edges["row"].to_frame().join(rows.to_frame().with_row_index("i"), on="row", how="left")["i"]
    a = node.to_numpy().astype(np.int64)
    b = n + names.to_numpy()
    size = n + int(names.max()) + 1
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(size, size))
    _, comp = connected_components(graph, directed=False)
    first = (
        edges.with_columns(comp=pl.Series(comp[a]))
        .sort("row", "side")
        .group_by("comp", maintain_order=True)
        .agg(name=pl.col("component").first())
    )
    return (
        pl.DataFrame({"row": rows, "comp": comp[:n]})
        .join(first, on="comp")
        .select("row", component="name")
        .sort("row")
    )
