"""Outliers: rows unlike the rest of their dataset, each with its reason and a score.

Every rule compares a row with the dataset it sits in, so a Chinese dataset's Chinese
rows or a code dataset's code are never outliers:

- script: the row's letters are mostly in another script than most rows' (Cyrillic in
  a Latin dataset); score = 2 x the share of its letters in that script;
- vocabulary: almost none of the row's words (at least 12) are common in the dataset (in
  1% of its rows or more, the 1,000 most widespread) while most rows' are: another
  language in the same script, or hashtag soup; score = 1.5 x the share not common;
- length: the prompt's length in characters is far from the rest's on a log scale (more than 4
  robust standard deviations, by median and MAD; an empty prompt is a structure problem,
  not a length); score = that distance / 4;
- few words: one or two words where the median row has about eight or more (40
  characters);
- symbols: more than half the characters are neither letters, digits nor spaces;
- code in prose: the row has a sign only code has (see _CODE_SIGN) while under 5% of
  rows do.

Rows get one line per reason, listed by score (at most 1 is the threshold, higher is
further out). All column-wise Polars over the prompt side (its first 1,000 characters
for the word rules, which is plenty to tell a language; ASCII rows' words are counted by
one compiled pass, see _word_counts); the main script and the common
words are learnt from a seeded sample of 20,000 rows, every row is then measured a slice
at a time, and the costly counts run only on the rows the cheap ones point at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ..findings import many
from ..io.load import PROMPT_SIDE, Dataset
from ..io.texts import with_texts
from ..text.lookup import offsets
from ..text.minhash import iter_chunks, threaded_map, utf8_bytes
from .labelmodel import sample_positions
from .quality import tally

LISTED = 500
SCRIPTS = (
    "Latin",
    "Cyrillic",
    "Greek",
    "Arabic",
    "Hebrew",
    "Han",
    "Hiragana",
    "Katakana",
    "Hangul",
    "Devanagari",
    "Thai",
)
REASONS = {
    "script": "letters in another script than the rest",
    "vocabulary": "hardly any of the dataset's common words (another language?)",
    "length": "a prompt length far from the rest",
    "few-words": "one or two words where rows have many",
    "symbols": "mostly symbols",
    "code": "code in a prose dataset",
}
_TOP_WORDS = 1_000
_WORD_CHARS = 1_000
_MIN_ROWS = 50  # fewer rows say too little about "the rest"
_SAMPLE = 20_000  # rows the main script and the common words are learnt from
OUTLIER_SCHEMA = {
    "row": pl.UInt32(),
    "key": pl.String(),
    "reason": pl.String(),
    "score": pl.Float64(),
    "detail": pl.String(),
}

_FOUND_SCHEMA = {k: v for k, v in OUTLIER_SCHEMA.items() if k != "key"}  # keys are added last
_SLICE = 100_000  # rows whose prompt side is made at once (see _measure)
_HEAD = pl.col("p").str.slice(0, _WORD_CHARS).str.to_lowercase()  # what the word rules read


@dataclass
class Outliers:
    ran: bool
    reason: str
    rows: pl.DataFrame  # OUTLIER_SCHEMA, highest score first

    @property
    def count(self) -> int:
        return self.rows["row"].n_unique()

    def counts(self) -> dict[str, int]:
        return tally(self.rows["reason"], REASONS)

    def summary(self) -> str:
        if not self.ran:
            return f"not checked: {self.reason}"
        if not self.rows.height:
            return "no row stands apart from the rest"
        parts = [f"{n:,} {name}" for name, n in self.counts().items() if n]
        return f"{many(self.count, 'row')} unlike the rest: " + ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ran": self.ran,
            "reason": self.reason,
            "rows": self.count,
            "counts": self.counts(),
            "listed": self.rows.head(LISTED)
            .with_columns(pl.col("score").round(4))
            .select("key", "reason", "score", "detail")
            .to_dicts(),
        }


def find_outliers(dataset: Dataset) -> Outliers:
    rows = dataset.rows
    if rows.height < _MIN_ROWS:
        return Outliers(False, f"fewer than {_MIN_ROWS} rows", pl.DataFrame(schema=OUTLIER_SCHEMA))
    # What "the rest" is, learnt from the sample; then every row measured against it a
    # slice at a time (see _measure).
    sampled = rows[sample_positions(rows.height, _SAMPLE, 0)] if rows.height > _SAMPLE else rows
    sample = with_texts(sampled, dataset.texts).select("row", p=PROMPT_SIDE)
    main = _main_script(sample)
    top = _common_words(sample)
    slices = iter_chunks(rows.height, _SLICE)
    # One chunk per column: Polars 2.1's pl.format panics ("i < self.len()") on a column
    # whose chunks a filter left partly empty, as the rules' filters do.
    measured, script_hits, short = (
        pl.concat(parts, rechunk=True)
        for parts in zip(
            *(_measure(with_texts(rows.slice(lo, hi - lo), dataset.texts), main, top) for lo, hi in slices)
        )
    )
    found = [
        script_hits,
        _vocabulary(measured),
        _length(measured, short),
        _symbols(measured),
        _code(measured),
    ]
    listed = pl.concat([_found(f) for f in found])
    keys = rows.filter(pl.col("row").is_in(listed["row"].implode())).select("row", "key").unique("row")
    listed = listed.join(keys, on="row", how="left", maintain_order="left").select(list(OUTLIER_SCHEMA))
    listed = listed.sort(["score", "row"], descending=[True, False])
    return Outliers(True, "", listed)


def _found(frame: pl.DataFrame) -> pl.DataFrame:
    """A rule's rows as (row, reason, score, detail). A rule that found nothing returns
    its input's empty frame, without those columns: it becomes an empty frame of them."""
    if not frame.height:
        return pl.DataFrame(schema=_FOUND_SCHEMA)
    return frame.select(list(_FOUND_SCHEMA)).cast(_FOUND_SCHEMA)  # type: ignore[arg-type]


def _measure(part: pl.DataFrame, main: int | None, top: list[str]) -> tuple[pl.DataFrame, ...]:
    """A slice of rows measured: (row, chars, symbols, code, n, common) for every row, the
    rows in another script than `main`, and (row, letter_words) of the short rows.

    The prompt side of every row at once is a copy of most of the texts (239 MB for 1M
    chat rows) and the rules' work on it doubled that: the quality stage was the run's
    first high (+490 MB over the loaded rows); a slice holds a tenth of a million rows.
    """
    p = pl.col("p")
    frame = part.select("row", p=PROMPT_SIDE).with_columns(
        chars=p.str.len_chars(),
        symbols=p.str.count_matches(r"[^\p{L}\p{N}\s]"),
        code=_looks_like_code(p),
    )
    script = _found(_script(frame, main))
    if top:
        counts = _word_counts(frame, _HEAD, top)
    else:
        counts = frame.select("row", n=pl.lit(None, pl.UInt32), common=pl.lit(None, pl.UInt32))
    short = frame.filter((pl.col("chars") > 0) & (pl.col("chars") < 40)).select(
        "row", letter_words=p.str.count_matches(r"\p{L}+")
    )
    measured = frame.drop("p").join(counts, on="row", how="left", maintain_order="left")
    return measured, script, short


def _script_counts(frame: pl.DataFrame) -> np.ndarray:
    p = pl.col("p")
    return frame.select([p.str.count_matches(rf"\p{{{s}}}").alias(s) for s in SCRIPTS]).to_numpy()


def _main_script(sample: pl.DataFrame) -> int | None:
    """The script most of the sampled rows' letters are in; None when rows have no letters
    or under 80% of them share one script (a mixed-script dataset has no "rest")."""
    counts = _script_counts(sample)
    has = counts.sum(axis=1) > 0
    if not has.any():
        return None
    main = counts.argmax(axis=1)[has]
    dataset_main = int(np.bincount(main, minlength=len(SCRIPTS)).argmax())
    return dataset_main if (main == dataset_main).mean() >= 0.8 else None


def _script(frame: pl.DataFrame, main: int | None) -> pl.DataFrame:
    if main is None:
        return frame.clear()
    # Letters outside the main script: rare, so counting them is quick; only rows with
    # a few are looked at script by script. ASCII letters are all Latin, so in a Latin
    # dataset only rows with another character are counted (this rule at 1M chat rows:
    # 0.31 -> 0.14 s).
    p = pl.col("p")
    latin = SCRIPTS[main] == "Latin"
    counted = frame.filter(p.str.len_bytes() != p.str.len_chars()) if latin else frame
    other = counted.filter(p.str.count_matches(rf"[\p{{L}}--\p{{{SCRIPTS[main]}}}]") >= 3)
    if not other.height:
        return frame.clear()
    counts = _script_counts(other)
    letters = counts.sum(axis=1)
    top = counts.argmax(axis=1)
    share = counts[np.arange(len(top)), top] / np.maximum(letters, 1)
    pick = (top != main) & (share >= 0.5)
    return other.filter(pl.Series(pick)).with_columns(
        reason=pl.lit("script"),
        score=pl.Series(share[pick] * 2),
        detail=pl.Series([f"{SCRIPTS[m]} in a {SCRIPTS[main]} dataset" for m in top[pick]], dtype=pl.String),
    )


def _common_words(sample: pl.DataFrame) -> list[str]:
    """Words in at least 1% of the sampled rows (and 3), at most the 1,000 most widespread."""
    words = sample.select("row", w=_HEAD.str.extract_all(r"\p{L}+")).explode("w").drop_nulls("w")
    if not words.height:
        return []
    spread = words.unique(["row", "w"])["w"].value_counts(sort=True)
    least = max(3, words["row"].n_unique() // 100)
    return spread.filter(pl.col("count") >= least).head(_TOP_WORDS)["w"].to_list()


def _vocabulary(measured: pl.DataFrame) -> pl.DataFrame:
    if measured["n"].null_count() == measured.height:  # no common words were learnt
        return measured.clear()
    # Under a dozen words, rare words alone can leave none common.
    shares = measured.filter(pl.col("n") >= 12).with_columns(share=pl.col("common") / pl.col("n"))
    if shares.height < _MIN_ROWS or float(shares["share"].median() or 0) < 0.5:
        return measured.clear()
    return shares.filter(pl.col("share") < 0.1).with_columns(
        reason=pl.lit("vocabulary"),
        score=(1 - pl.col("share")) * 1.5,
        detail=pl.format(
            "{}% of its {} words are common here",
            (pl.col("share") * 100).round(0).cast(pl.Int64),
            pl.col("n"),
        ),
    )


_ASCII_SLICE = 50_000  # texts joined at once for the compiled count, slices side by side


def _word_counts(frame: pl.DataFrame, head: pl.Expr, top: list[str]) -> pl.DataFrame:
    """(row, n, common): the letter runs of each row's head, and how many of its words are
    `top` words (whole words, as r"\b(?:top...)\b" counts them).

    As regexes these cost a search per word (1.3 s at 1M rows); for ASCII rows, nearly
    all of most datasets, one compiled pass over the bytes counts both. The other rows
    keep the regexes, which define the counts.
    """
    from ..text import kernels  # compiled on first use: not at import

    p = pl.col("p")
    ascii_rows = frame.select(p.str.len_bytes() == p.str.len_chars()).to_series().fill_null(False)
    common = r"\b(?:" + "|".join(re.escape(w) for w in sorted(top, key=len, reverse=True)) + r")\b"
    # Lazy, so the lowercased head both counts read is made once.
    parts = [
        frame.filter(~ascii_rows)
        .lazy()
        .select("row", n=head.str.count_matches(r"\p{L}+"), common=head.str.count_matches(common))
        .collect()
    ]
    encoded = [w.encode("utf-8") for w in top]
    words = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    word_lengths = np.array([len(w) for w in encoded], dtype=np.int64)
    plain = frame if ascii_rows.all() else frame.filter(ascii_rows)  # no copy of every prompt

    def count(bounds: tuple[int, int]) -> pl.DataFrame:
        part = plain.slice(bounds[0], bounds[1] - bounds[0])
        texts = part["p"]  # no nulls: a row without a prompt side is not ASCII above
        lengths = texts.str.len_bytes().to_numpy().astype(np.int64)
        utf8 = utf8_bytes(texts)
        runs = np.empty(part.height, dtype=np.uint32)
        found = np.empty(part.height, dtype=np.uint32)
        kernels.ascii_vocabulary(
            utf8,
            offsets(lengths),
            lengths,
            _WORD_CHARS,
            words,
            offsets(word_lengths),
            word_lengths,
            runs,
            found,
        )
        return pl.DataFrame({"row": part["row"], "n": runs, "common": found})

    parts += threaded_map(count, iter_chunks(plain.height, _ASCII_SLICE))
    return pl.concat(parts).sort("row")


def _many(count: pl.Expr, noun: str) -> pl.Expr:
    """A row's count and its noun, agreeing ("1 word", "2 words"), as findings.many writes
    them outside a frame."""
    return (
        pl.when(count == 1)
        .then(pl.format("{} " + noun, count))
        .otherwise(pl.format("{} " + noun + "s", count))
    )


def _length(frame: pl.DataFrame, short: pl.DataFrame) -> pl.DataFrame:
    """Prompts far from the rest's length; `short` holds (row, letter_words) of the rows
    under 40 characters."""
    frame = frame.filter(pl.col("chars") > 0)  # no prompt at all is a structure problem
    logs = np.log1p(frame["chars"].to_numpy().astype(np.float64))
    median = float(np.median(logs))
    mad = float(np.median(np.abs(logs - median))) * 1.4826
    out = []
    if mad > 0:
        z = (logs - median) / mad
        far = np.abs(z) > 4
        typical = round(float(np.expm1(median)))
        out.append(
            frame.filter(pl.Series(far)).with_columns(
                reason=pl.lit("length"),
                score=pl.Series(np.abs(z[far]) / 4),
                detail=pl.format(
                    "{}; most rows about " + f"{typical:,}", _many(pl.col("chars"), "character")
                ),
            )
        )
    if np.expm1(median) >= 40:  # about eight words
        few = short.filter((pl.col("letter_words") <= 2) & (pl.col("letter_words") > 0)).with_columns(
            reason=pl.lit("few-words"),
            score=pl.lit(1.0),
            detail=_many(pl.col("letter_words"), "word"),
        )
        out.append(few.drop("letter_words"))
    return pl.concat(out, how="diagonal") if out else frame.clear()


def _symbols(frame: pl.DataFrame) -> pl.DataFrame:
    share = pl.col("symbols") / pl.col("chars").clip(lower_bound=1)
    typical = float(frame.select(share.median()).item() or 0)
    if typical > 0.25:  # a dataset of symbols (math, markup): nothing stands out by them
        return frame.clear()
    return frame.filter((share > 0.5) & (pl.col("chars") >= 4)).with_columns(
        reason=pl.lit("symbols"),
        score=share * 2,
        detail=pl.format("{}% of its characters are symbols", (share * 100).round(0).cast(pl.Int64)),
    )


# What code has and prose does not: a sign alone is enough. The quality stage's wider
# CODE_SYNTAX (any line starting "let", "public" or "<X", any line ending in ";") fired
# on prose in every TweetEval and SST-2 file checked by hand: "let 's see", "lie.;",
# "&gt;", "<ILLEGAL ALIENS>" (49 rows, none code). Here a keyword needs what follows it
# in code, a tag must be HTML's, and lines ending in ";" (HTML entities taken out)
# count from two.
_CODE_SIGN = (
    r"(?m)```|^#!|^\s*#include\b|console\.log\(|\bprint\(|\$\{|\\begin\{|<!DOCTYPE|<html\b|=>|\)\s*\{"
    r"|^\s*def \w+\s*\(|^\s*class \w+\s*[:({]|^\s*(?:const|let|var) \w+\s*=|^\s*function\b\s*\w*\s*\("
    r"|^\s*import [\w.]+\s*$|^\s*from [\w.]+ import \w|^\s*(?:SELECT|CREATE TABLE|INSERT INTO) "
    r"|^\s*</?(?:code|pre|div|span|p|html|head|body|script|style|table|tr|td|ul|ol|li|a|img|br|h[1-6])\b[^>\n]*>"
)
_ENTITY = r"&(?:[A-Za-z]{2,8}|#\d{1,7}|#x[0-9A-Fa-f]{1,6});"


def _looks_like_code(p: pl.Expr) -> pl.Expr:
    statements = p.str.replace_all(_ENTITY, "").str.count_matches(r"(?m);\s*$")
    return p.str.contains(_CODE_SIGN) | (statements >= 2)


def _code(frame: pl.DataFrame) -> pl.DataFrame:
    if float(frame["code"].mean() or 0) >= 0.05:
        return frame.clear()
    return frame.filter(pl.col("code")).with_columns(
        reason=pl.lit("code"), score=pl.lit(1.0), detail=pl.lit("looks like code; most rows are prose")
    )
