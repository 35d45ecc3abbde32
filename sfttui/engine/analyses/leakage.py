"""Leakage: the same, near-same or same-group example on both sides of a split, and
overlap with evaluation or gold sets (exact, near, long n-gram).

Between splits, hits come from exact copies and verified near pairs (found over every
row of every file, so they already span splits) and from shared group values. A row
with a twin in an earlier split (train, then validation, then test) is one hit naming
its own most similar twin there and their measured similarity. For a group value
present in more than one split, the row in the earliest split (then input order) is
the anchor, and every row in another split is one hit against it.

Against eval sets, the n-gram check is the decontamination rule used for large
language model evaluation: a training row that shares any 13-word sequence with an
eval item (its prompt or its full text) is contaminated, wherever that sequence sits,
so an eval question pasted into a longer training prompt is caught. Eval items
shorter than 13 words (but at least `min_words`) are matched whole, as one k-gram.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl

from ..io.load import PROMPT_SIDE, Dataset
from ..io.texts import RowTexts
from ..runtime.parallel import LOCAL, Engine
from ..settings import SPLITS, LeakageSettings, NearSettings, NormalizeSettings
from ..text.lookup import SortedIndex
from ..text.minhash import (
    Shingling,
    iter_chunks,
    shingle_hashes,
    shingles_of_tokens,
    threaded_map,
    token_hashes,
)
from ..text.normalize import normalize_texts
from .dedup import DistinctTexts, Duplicates, Signatures, Texts, cross_pairs, has_input_side
from .lsh_pass import InputTexts

_ORDER = {name: i for i, name in enumerate(SPLITS)}
_CHUNK = 20_000

SPLIT_HIT_SCHEMA = {
    "kind": pl.String(),
    "side": pl.String(),  # "example", "input" (only the inputs match) or null for groups
    "split_a": pl.String(),
    "key_a": pl.String(),
    "split_b": pl.String(),
    "key_b": pl.String(),
    "similarity": pl.Float64(),
    "detail": pl.String(),
}
EVAL_HIT_SCHEMA = {
    "kind": pl.String(),
    "side": pl.String(),  # input | example | answer (the eval item's reference answer)
    "eval_file": pl.String(),
    "eval_key": pl.String(),
    "key": pl.String(),
    "split": pl.String(),
    "similarity": pl.Float64(),
    "shared_ngrams": pl.UInt32(),
    "coverage": pl.Float64(),  # share of the eval item's n-grams the training text holds
}


@dataclass
class Leakage:
    between_splits: pl.DataFrame
    eval_hits: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    eval_set: Dataset | None = field(default=None, repr=False)  # the eval items, to show them
    # Every eval hit found, near ones down to the explored floor, before one per (row,
    # eval item) is kept: `eval_hits` again at another threshold (see eval_hits_at).
    eval_found: pl.DataFrame | None = field(default=None, repr=False)

    def at_threshold(self, threshold: float, between_splits: pl.DataFrame) -> Leakage:
        """The hits of the clusters at `threshold`: `between_splits` (made from them) and
        the eval hits near at or above it."""
        eval_hits = self.eval_hits if self.eval_found is None else eval_hits_at(self.eval_found, threshold)
        return replace(self, between_splits=between_splits, eval_hits=eval_hits)

    @property
    def eval_inputs(self) -> list[dict[str, Any]]:
        """The eval files as read, for the report (their InputFiles: `eval_set.inputs`)."""
        return [i.to_dict() for i in self.eval_set.inputs] if self.eval_set is not None else []

    @property
    def total(self) -> int:
        return self.between_splits.height + self.eval_hits.height

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for kind, n in self.between_splits.group_by("kind").len().iter_rows():
            out[f"split-{kind}"] = n
        for kind, side, n in self.eval_hits.group_by("kind", "side").len().iter_rows():
            # The eval item's reference answer found in training is reported on its own.
            name = f"eval-answer-{kind}" if side == "answer" else f"eval-{kind}"
            out[name] = out.get(name, 0) + n
        return dict(sorted(out.items()))


def _anchored(frame: pl.DataFrame, by: str) -> pl.DataFrame:
    """For each `by` value seen in several splits: anchor (earliest split, first row) vs the others."""
    frame = frame.with_columns(rank=pl.col("split").replace_strict(_ORDER, default=3, return_dtype=pl.Int8))
    spread = frame.group_by(by).agg(pl.col("split").n_unique().alias("n")).filter(pl.col("n") > 1)
    frame = frame.join(spread.select(by), on=by).sort([by, "rank", "row"])
    anchors = frame.group_by(by, maintain_order=True).first()
    return frame.join(anchors.select(by, a_row="row", a_key="key", a_split="split"), on=by).filter(
        pl.col("split") != pl.col("a_split")
    )


def _twins(rows: pl.DataFrame, duplicates: Duplicates) -> pl.DataFrame:
    """For each row with an exact copy or a verified near duplicate in an earlier split
    (train, then validation, then test), that row's most similar twin there: the pair's
    own measured similarity, 1.0 and `exact` when their normal forms are equal. Ties go
    to the earlier split, then the earlier row.

    Rows are matched through their distinct texts: per text and split only its first row
    can be a twin, so the work is texts x splits, not rows x rows.
    """
    linked = duplicates.units.join(rows, on="row")
    first = linked.group_by("t", "rank").agg(
        a_row=pl.col("row").min(), a_key=pl.col("key").sort_by("row").first(), a_split=pl.col("split").first()
    )
    exact = (
        linked.join(first, on="t")
        .filter(pl.col("rank_right") < pl.col("rank"))
        .with_columns(jaccard=pl.lit(1.0), rank_a=pl.col("rank_right"))
    )
    direct = duplicates.text_pairs.filter(pl.col("jaccard") >= duplicates.threshold - 1e-12)
    both = pl.concat([direct, direct.select(a="b", b="a", jaccard="jaccard")])
    near = (
        linked.join(both, left_on="t", right_on="b")
        .join(first, left_on="a", right_on="t")
        .filter(pl.col("rank_right") < pl.col("rank"))
        .with_columns(rank_a=pl.col("rank_right"))
    )
    columns = ["row", "key", "split", "t", "component", "jaccard", "rank_a", "a_row", "a_key", "a_split"]
    candidates = pl.concat([exact.select(columns), near.select(columns)])
    return candidates.sort(
        ["row", "jaccard", "rank_a", "a_row"], descending=[False, True, False, False]
    ).unique("row", keep="first", maintain_order=True)


def _side_hits(base: pl.DataFrame, duplicates: Duplicates) -> pl.DataFrame:
    """One side's twins across splits as hits (without their detail)."""
    twins = _twins(base, duplicates)
    # Exact means equal normal forms: a near pair can reach 1.0 by its shingles alone.
    return twins.join(duplicates.units.select(a_row="row", a_t="t"), on="a_row").select(
        "row",
        kind=pl.when(pl.col("t") == pl.col("a_t")).then(pl.lit("exact")).otherwise(pl.lit("near")),
        side=pl.lit(duplicates.side),
        split_a="a_split",
        key_a="a_key",
        split_b="split",
        key_b="key",
        similarity="jaccard",
    )


def _rank(splits: pl.Series) -> pl.Series:
    """Int8: train 0, validation 1, test 2, any other 3; null for a row without a split.
    Read from an enum's codes when every split is one of the three (a cast, not a
    lookup of every value: 0.025 s for 5M rows against 0.06 s)."""
    known = splits.cast(pl.Enum(SPLITS), strict=False)
    if known.null_count() == splits.null_count():
        return known.to_physical().cast(pl.Int8)
    rank = splits.replace_strict(_ORDER, default=3, return_dtype=pl.Int8)
    return rank.set(splits.is_null(), None) if splits.null_count() else rank


def _maybe_spread(groups: pl.Series, rank: pl.Series) -> pl.Series:
    """Boolean per row: it holds a group value whose hash is seen in more than one split
    (`rank`, see _rank).

    Every row of a group that spans splits is marked (equal values hash equally), so
    comparing the marked rows' own values finds the same groups as comparing all rows;
    a hash shared by chance only marks a few rows more. Exploding and grouping every
    row's strings took 1.2 s at 5M rows, where hashes and split numbers take 0.3 s."""
    hashed = (
        pl.DataFrame({"group": groups, "rank": rank})
        .with_row_index("i")
        .drop_nulls("rank")
        .select(
            "i",
            "rank",
            h=pl.col("group").list.eval(pl.when(pl.element().is_not_null()).then(pl.element().hash())),
        )
        .explode("h")
        .drop_nulls("h")
    )
    spread = hashed.group_by("h").agg(lo=pl.col("rank").min(), hi=pl.col("rank").max())
    spread = spread.filter(pl.col("lo") != pl.col("hi"))["h"]
    mark = np.zeros(groups.len(), dtype=bool)
    mark[hashed.filter(pl.col("h").is_in(spread.implode()))["i"].to_numpy()] = True
    return pl.Series(mark)


def given_split_leakage(dataset: Dataset, duplicates: Duplicates) -> pl.DataFrame:
    """The hits between the splits the rows came with (none when they came with none)."""
    if not dataset.has_splits:
        return pl.DataFrame(schema=SPLIT_HIT_SCHEMA)
    return split_leakage(dataset.rows, dataset.rows["split"], duplicates)


def split_leakage(rows: pl.DataFrame, splits: pl.Series, duplicates: Duplicates) -> pl.DataFrame:
    """Exact, near and same-group hits between splits (one per row that leaks).

    A duplicate hit names the leaking row's own most similar twin in an earlier split and
    the measured similarity of that pair (see `_twins`), on the whole example, or else on
    the input alone (`side`: a test prompt seen in training with another answer is a
    leak); `detail` is the group of duplicates both belong to (Duplicates.linked), which
    is what a move takes along.
    """
    ranked = rows.select("row", "key").with_columns(split=splits, rank=_rank(splits))
    base = ranked.filter(pl.col("split").is_not_null())
    hits: list[pl.DataFrame] = []
    sides = [duplicates] + ([duplicates.input] if duplicates.input is not None else [])
    found = [_side_hits(base, side) for side in sides if side.units.height]
    if found:
        one_each = pl.concat(found).unique("row", keep="first", maintain_order=True)
        linked = duplicates.linked.select("row", detail="component")
        hits.append(one_each.join(linked, on="row").drop("row"))
    if "groups" in rows.columns and rows["groups"].null_count() < rows.height:
        grouped = (
            rows.filter(_maybe_spread(rows["groups"], ranked["rank"]))
            .select("row", "key", group="groups")
            .explode("group")
            .drop_nulls("group")
            .join(base.select("row", "split"), on="row")
        )
        pairs = _anchored(grouped, "group")
        if pairs.height:
            hits.append(
                pairs.select(
                    kind=pl.lit("group"),
                    side=pl.lit(None, dtype=pl.String),
                    split_a="a_split",
                    key_a="a_key",
                    split_b="split",
                    key_b="key",
                    similarity=pl.lit(None, dtype=pl.Float64),
                    detail=pl.col("group"),
                )
            )
    if not hits:
        return pl.DataFrame(schema=SPLIT_HIT_SCHEMA)
    return pl.concat([h.select(list(SPLIT_HIT_SCHEMA)).cast(SPLIT_HIT_SCHEMA) for h in hits]).sort(
        ["kind", "split_b", *in_line_order("key_b"), "detail"]
    )


def in_line_order(key: str) -> list[pl.Expr]:
    """Sort keys for row keys: `file:12` before `file:3` as text, after it as lines (a
    key that is a record's id sorts as itself)."""
    parts = pl.col(key).str.extract_groups(r"^(?<file>.*):(?<line>\d{1,9})$")
    return [
        pl.coalesce(parts.struct.field("file"), pl.col(key)),
        parts.struct.field("line").cast(pl.UInt32, strict=False),
        pl.col(key),
    ]


def _ngram_chunks(texts: pl.Series, n: int, start: int = 0) -> Iterator[pl.DataFrame]:
    """(i, h): every word n-gram hash of each text (numbered from `start`), a chunk at a time."""
    for lo, hi in iter_chunks(len(texts), _CHUNK):
        shingles, counts = shingle_hashes(texts.slice(lo, hi - lo), Shingling("word", n))
        owner = np.repeat(np.arange(start + lo, start + hi, dtype=np.uint32), counts)
        yield pl.DataFrame({"i": owner, "h": shingles})


def _ngram_sets(texts: pl.Series, n: int) -> pl.DataFrame:
    """(i, h): distinct word n-gram hashes of each text."""
    parts = list(_ngram_chunks(texts, n))
    return pl.concat(parts).unique() if parts else pl.DataFrame(schema={"i": pl.UInt32, "h": pl.UInt64})


def _ngram_hits(
    train_norm: pl.Series, evals: dict[str, pl.Series], settings: LeakageSettings, engine: Engine = LOCAL
) -> tuple[dict[str, pl.DataFrame], int]:
    """Per eval side, (i train, j eval, shared, coverage): training texts sharing an n-gram
    with an eval text, and how many distinct eval n-grams were left out as boilerplate.

    Eval texts of `ngram` words or more contribute their n-grams; shorter ones (at least
    `min_words`) contribute themselves whole, matched against training k-grams of
    their own length k. The eval sides' n-grams are gathered first (the eval set is
    small); then one pass over the training texts, part by part on the engine, finds
    which training texts hold which of them. An n-gram held by more than
    `boilerplate_rows` training texts is boilerplate (a template answer, a disclaimer):
    it says nothing about one eval item and is left out, as decontamination reports do;
    so is one held by more than `boilerplate_rows` eval items (the eval set's own idiom).
    `coverage` is the share of the eval item's n-grams the training text holds.
    """
    wanted_by_k: dict[int, list[pl.DataFrame]] = {}
    for side, eval_norm in evals.items():
        words = eval_norm.str.count_matches(" ").to_numpy() + 1
        words[eval_norm.str.len_bytes().to_numpy() == 0] = 0
        # Answers are matched by full-length n-grams only. Matched whole, with punctuation
        # gone, a short code answer is a prefix of other programs ("for i in range 1 11
        # print i" of `print(i * i)`): 11 of 32 such hits on new_codealpaca were noise,
        # and `split --eval` drops what is hit. Short answers ("Thanks, I have opened a
        # case") say little about one item anyway.
        short = {int(k) for k in words if settings.min_words <= k < settings.ngram}
        lengths = [settings.ngram, *sorted(short if side != "answer" else set(), reverse=True)]
        for k in lengths:
            pick = np.flatnonzero(words >= k) if k == settings.ngram else np.flatnonzero(words == k)
            if pick.size == 0:
                continue
            sets = _ngram_sets(eval_norm.gather(pick), k)
            wanted_by_k.setdefault(k, []).append(
                pl.DataFrame(
                    {
                        "side": pl.Series([side] * sets.height, dtype=pl.String),
                        "j": pl.Series(pick.astype(np.uint32)).gather(sets["i"]),
                        "h": sets["h"],
                    }
                )
            )
    wanted = {}
    totals: list[pl.DataFrame] = []
    eval_common = 0
    for k, frames in wanted_by_k.items():
        want = pl.concat(frames)
        totals.append(want.group_by("side", "j").agg(total=pl.len()))
        # Held by many eval items, an n-gram is the eval set's own idiom (61 answers of one
        # code set share a factorial's 13 words): it says nothing about one item either.
        spread = want.unique(["side", "j", "h"]).group_by("h").len()
        common = spread.filter(pl.col("len") > settings.boilerplate_rows)["h"]
        if common.len():
            want = want.filter(~pl.col("h").is_in(common.implode()))
            eval_common += common.len()
        wanted[k] = (want.select("side", "j"), SortedIndex.of(want["h"].to_numpy()))
    found = [f for part in engine.map(_ngram_part, engine.parts(train_norm), wanted) for f in part]
    empty = pl.DataFrame(schema=_NGRAM_HIT_SCHEMA)
    if not found:
        return dict.fromkeys(evals, empty), eval_common
    every = pl.concat(found)  # (k, at, i): training text i holds eval n-gram `at` of length k
    spread = every.group_by("k", "at").agg(n=pl.len())
    boiler = spread.filter(pl.col("n") > settings.boilerplate_rows).select("k", "at")
    held = every.join(boiler, on=["k", "at"], how="anti")
    total = pl.concat(totals).group_by("side", "j").agg(pl.col("total").sum())
    shared = _of_eval_items(held, wanted, "i")
    merged = (
        pl.concat(shared).group_by("side", "i", "j").agg(shared=pl.len().cast(pl.UInt32))
        if shared
        else pl.DataFrame(schema={"side": pl.String, "i": pl.UInt32, "j": pl.UInt32, "shared": pl.UInt32})
    )
    merged = pl.concat([merged, _held_whole(every, boiler, wanted, total)])
    merged = merged.join(total, on=["side", "j"]).with_columns(coverage=pl.col("shared") / pl.col("total"))
    by_side = {side: merged.filter(pl.col("side") == side).select(list(_NGRAM_HIT_SCHEMA)) for side in evals}
    return by_side, boiler.height + eval_common


_NGRAM_HIT_SCHEMA = {"i": pl.UInt32(), "j": pl.UInt32(), "shared": pl.UInt32(), "coverage": pl.Float64()}


def _of_eval_items(
    grams: pl.DataFrame, wanted: dict[int, tuple[pl.DataFrame, SortedIndex]], *keep: str
) -> list[pl.DataFrame]:
    """(side, j, *keep) for each eval item that has each of `grams`' n-grams (k, at: its
    place among the sorted hashes of length k), with the columns `keep` of `grams`."""
    found = []
    for (k,), part in grams.partition_by("k", as_dict=True).items():
        want, index = wanted[int(k)]
        which, rows = index.pairs(np.arange(part.height), part["at"].to_numpy())
        found.append(want[rows].with_columns(**{c: part[c].gather(which) for c in keep}))
    return found


def _held_whole(
    every: pl.DataFrame,
    boiler: pl.DataFrame,
    wanted: dict[int, tuple[pl.DataFrame, SortedIndex]],
    total: pl.DataFrame,
) -> pl.DataFrame:
    """(side, i, j, shared): training texts holding every n-gram of an eval input all of
    whose n-grams are boilerplate. The boilerplate rule is for phrases many texts share
    (a prompt template); an eval question pasted into 21 training prompts made every one
    of its n-grams "boilerplate", and more contamination turned a FAIL into "ok"."""
    parts = _of_eval_items(boiler, wanted, "k", "at")
    empty = pl.DataFrame(schema={"side": pl.String, "i": pl.UInt32, "j": pl.UInt32, "shared": pl.UInt32})
    grams = pl.concat(parts).filter(pl.col("side") == "input") if parts else None
    if grams is None or grams.is_empty():
        return empty
    # Inputs whose n-grams are all boilerplate (an answer's stays boilerplate: a canned
    # reply many training responses give says nothing about one item).
    whole = (
        grams.group_by("side", "j")
        .agg(n=pl.len())
        .join(total, on=["side", "j"])
        .filter(pl.col("n") == pl.col("total"))
        .select("side", "j")
    )
    if whole.is_empty():
        return empty
    holders = grams.join(whole, on=["side", "j"]).join(every, on=["k", "at"])
    return (
        holders.group_by("side", "i", "j")
        .agg(shared=pl.len().cast(pl.UInt32))
        .join(total, on=["side", "j"])
        .filter(pl.col("shared") == pl.col("total"))
        .select(list(empty.columns))
        .cast(empty.schema)
    )


def _ngram_part(
    part: tuple[pl.Series, int], wanted: dict[int, tuple[pl.DataFrame, SortedIndex]]
) -> list[pl.DataFrame]:
    """(k, at, i) for the training texts of one part (starting at row `start`): which of
    the eval sides' distinct n-grams (`at`, their place among the sorted hashes of length
    k) each training text holds. Lookups cost chunk x log of the eval side, whatever its
    size; only the n-grams some eval text has are kept, so the training side's n-grams
    never pile up.
    """
    texts, start = part

    def chunk(task: tuple[int, int]) -> list[pl.DataFrame]:
        lo, hi = task
        # The words are split and hashed once for every length sought.
        tokens, words = token_hashes(texts.slice(lo, hi - lo), "word")
        found = []
        for k, (_, index) in wanted.items():
            shingles, counts = shingles_of_tokens(tokens, words, k)
            hit, at = index.find(shingles)
            if not hit.size:
                continue
            owner = np.repeat(np.arange(start + lo, start + hi, dtype=np.uint32), counts)
            # Each text's distinct n-grams count once.
            found.append(
                pl.DataFrame(
                    {"k": np.full(hit.size, k, dtype=np.uint16), "at": at.astype(np.int64), "i": owner[hit]}
                ).unique()
            )
        return found

    # Hashing the n-grams is most of the work, and NumPy's: chunks run side by side.
    return [f for part in threaded_map(chunk, iter_chunks(len(texts), _CHUNK)) for f in part]


def _rows_of(distinct: DistinctTexts) -> pl.DataFrame:
    """(i, d): each row and its distinct text. A match of a distinct text is a match of
    every row holding it."""
    return pl.DataFrame(
        {"i": pl.int_range(len(distinct.of_row), dtype=pl.UInt32, eager=True), "d": distinct.of_row}
    )


def eval_near_pairs(
    train_texts: Texts,
    eval_norm: pl.Series,
    near: NearSettings,
    engine: Engine = LOCAL,
    signatures: Signatures | None = None,
) -> pl.DataFrame:
    """(i, j, similarity): near pairs of a distinct training text (i) and an eval item (j,
    by its normalised text `eval_norm`). Only pairs that cross from training to eval are
    searched, between the distinct texts of each side (a distinct text stands for every
    row or item with that text); `signatures` of the training texts save signing them."""
    distinct_eval = eval_norm.unique(maintain_order=True)
    eval_distinct = distinct_eval.filter(distinct_eval != "")
    pairs = cross_pairs(train_texts, eval_distinct, near, engine=engine, signatures=signatures)
    to_eval = pl.DataFrame({"en": eval_norm}).with_row_index("j")
    matched = pairs.select(i="a", en=eval_distinct.gather(pairs["b"]), similarity="jaccard")
    return matched.join(to_eval, on="en").select("i", "j", "similarity")


def eval_leakage(
    rows: pl.DataFrame,
    splits: pl.Series | None,
    eval_set: Dataset,
    normalize: NormalizeSettings | None = None,
    near: NearSettings | None = None,
    settings: LeakageSettings | None = None,
    **more: Any,
) -> pl.DataFrame:
    """The eval hits at the near threshold: one per training row and eval item, the
    strongest kind (find_eval_hits says what is matched, and takes the other arguments)."""
    near = near or NearSettings()
    found = find_eval_hits(rows, splits, eval_set, normalize, near, settings, **more)
    return eval_hits_at(found, near.threshold)


def find_eval_hits(
    rows: pl.DataFrame,
    splits: pl.Series | None,
    eval_set: Dataset,
    normalize: NormalizeSettings | None = None,
    near: NearSettings | None = None,
    settings: LeakageSettings | None = None,
    engine: Engine = LOCAL,
    distinct: DistinctTexts | None = None,
    signatures: Signatures | None = None,
    inputs: DistinctTexts | None = None,
    notes: list[str] | None = None,
    input_signatures: Signatures | None = None,
    example_near: pl.DataFrame | None = None,
    texts: RowTexts | None = None,
) -> pl.DataFrame:
    """Every match of a training row and an eval item: exact, near (at or above
    `near.threshold`, the explored floor in the app) or by a shared long n-gram. A pair
    matched several ways is there once per way: eval_hits_at keeps the strongest.

    Contamination means the eval item's input appears in training: exact and near on
    the input and on the whole example, and long n-grams of the eval input found in
    any training text (so a question pasted into a longer prompt is caught). The eval
    item's reference answer is matched by n-grams too, and reported on its own side
    (`answer`). N-grams shared by many training texts are boilerplate and left out;
    `notes` (when given) says how many. The rows' texts are compared as their distinct
    normalised forms (`distinct`, and `inputs` for their input side, from the duplicate
    analysis with the same settings, or worked out here); `signatures` of those save
    signing them again. `example_near` is what eval_near_pairs gave for the whole
    examples, when it ran earlier (see registry: before the input side's pass). `texts`
    are the rows' texts where `rows` holds none (Dataset.text_source).
    """
    settings = settings or LeakageSettings()
    near = near or NearSettings()
    ev = eval_set.rows
    split_col = splits if splits is not None else pl.Series([None] * rows.height, dtype=pl.String)
    train = rows.select("key").with_columns(split=split_col)
    texts = rows["text"] if texts is None else texts
    if distinct is None:
        distinct = DistinctTexts.of(texts, normalize, engine)
    rows_of = _rows_of(distinct)
    eval_text = normalize_texts(ev["text"], normalize)
    eval_prompt = normalize_texts(ev.select(PROMPT_SIDE).to_series(), normalize)
    eval_answer = normalize_texts(ev.select(_ANSWER).to_series(), normalize)
    # An eval item without a response is all input: a match of the whole of it is said
    # as one of its input, whichever pass found it (exact and n-gram hits were "input",
    # near ones "example", on the same text).
    all_input = ev["reply"] == 0
    hits: list[pl.DataFrame] = []

    def emit(kind: str, side: str, pairs: pl.DataFrame, of: pl.DataFrame = rows_of) -> None:
        pairs = pairs.rename({"i": "d"}).join(of, on="d").drop("d")
        if pairs.height == 0:
            return
        said = pl.lit(side)
        if side == "example":
            said = pl.when(all_input.gather(pairs["j"])).then(pl.lit("input")).otherwise(said)
        hits.append(
            pairs.select(
                kind=pl.lit(kind),
                side=said,
                eval_file=ev["file"].gather(pairs["j"]),
                eval_key=ev["key"].gather(pairs["j"]),
                key=train["key"].gather(pairs["i"]),
                split=train["split"].gather(pairs["i"]),
                similarity=pairs["similarity"] if "similarity" in pairs.columns else pl.lit(None),
                shared_ngrams=pairs["shared"] if "shared" in pairs.columns else pl.lit(None),
                coverage=pairs["coverage"] if "coverage" in pairs.columns else pl.lit(None),
            ).cast(EVAL_HIT_SCHEMA)
        )

    # Near first: the band keys it reuses are released after it (117 MB per million texts).
    if example_near is None:
        example_near = eval_near_pairs(distinct.texts, eval_text, near, engine, signatures)
    emit("near", "example", example_near)
    signatures = None  # the caller hands them over (see Duplicates.take_signatures)
    prompts, prompts_of = distinct, rows_of  # plain text rows: a row's input is its text
    if inputs is not None:
        prompts, prompts_of = inputs, _rows_of(inputs)
        # With the input side's own LSH settings its band keys are reused, not signed again.
        lsh = replace(input_signatures.settings, threshold=near.threshold) if input_signatures else near
        near_inputs = eval_near_pairs(inputs.texts, eval_prompt, lsh, engine, input_signatures)
        emit("near", "input", near_inputs, of=prompts_of)
    elif has_input_side(rows):  # no input analysis handed over: its distinct prompts, here
        prompts = DistinctTexts.of(InputTexts(rows, texts), normalize, engine)
        prompts_of = _rows_of(prompts)
    # Exact: by the distinct texts' hashes, never normalising every training text again.
    emit("exact", "example", distinct.find(eval_text).with_columns(similarity=pl.lit(1.0)))
    emit("exact", "input", prompts.find(eval_prompt).with_columns(similarity=pl.lit(1.0)), of=prompts_of)
    ngrams, boilerplate = _ngram_hits(
        distinct.texts, {"input": eval_prompt, "answer": eval_answer}, settings, engine
    )
    if boilerplate and notes is not None:
        notes.append(
            f"eval contamination: {boilerplate:,} n-grams of the eval set were left out as boilerplate "
            f"(each in more than {settings.boilerplate_rows:,} training texts or eval items)"
        )
    emit("ngram", "input", ngrams["input"])
    emit("ngram", "answer", ngrams["answer"])
    return pl.concat(hits) if hits else pl.DataFrame(schema=EVAL_HIT_SCHEMA)


def eval_hits_at(found: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """The eval hits at a near threshold, from every hit find_eval_hits found (near ones
    down to the floor it searched): one per (training row, eval item), the strongest
    kind, the input side first."""
    order = {"exact": 0, "near": 1, "ngram": 2}
    sides = {"input": 0, "example": 1, "answer": 2}
    merged = found.filter((pl.col("kind") != "near") | (pl.col("similarity") >= threshold - 1e-12))
    return (
        merged.with_columns(
            o=pl.col("kind").replace_strict(order, return_dtype=pl.Int8),
            s=pl.col("side").replace_strict(sides, return_dtype=pl.Int8),
        )
        .sort(["o", "s"])
        .unique(["key", "eval_file", "eval_key"], keep="first", maintain_order=True)
        .drop("o", "s")
        .sort(["eval_file", *in_line_order("eval_key"), *in_line_order("key")])
    )


# An eval item's reference answer: the response its text ends with ("" when it has none).
_ANSWER = (
    pl.when(pl.col("reply") > 0)
    .then(pl.col("text").str.slice(pl.col("text").str.len_chars() - pl.col("reply")))
    .otherwise(pl.lit(""))
)
