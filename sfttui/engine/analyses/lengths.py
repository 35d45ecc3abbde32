"""Lengths in tokens: each row's prompt, response and total, with the model's own tokenizer.

`--tokenizer PATH` names a local `tokenizer.json` (Hugging Face `tokenizers`, the optional
`tokens` extra; nothing is downloaded). Without one, lengths are approximate: ASCII
characters / 4, and a character beyond ASCII by its UTF-8 bytes / 3, each rounded up: a
Chinese, Japanese, Korean or Thai character (3 bytes) is one token, an emoji (4) one
and a third, an accented letter (2) two thirds. BPE tokenizers give such characters a
token or more each, so characters / 4 undercounted that text fourfold and passed it
under `--max-tokens`. Labelled approximate everywhere they show.

Counting a million chats with `encode_batch` takes about a minute on two cores, most of
it spent building encodings nobody reads. The tokenizers sfttui is used with split text
at spaces before their model runs (byte-level BPE, SentencePiece's metaspace, WordPiece),
so a text's count is the sum of its pieces' counts, a piece being a run of white space
and the word after it. Pieces repeat endlessly: each distinct one is encoded once. That this holds
for the tokenizer given is checked on a sample of whole texts; when it does not, whole
texts are encoded. Rows at or near `--max-tokens` are always recounted whole, so which
rows are over the limit is exact either way.

The total is the system prompts plus every other turn, as the model reads them; chat
template tokens (role markers, separators) are not counted: a few per turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import InputError
from ..io.load import PROMPT_SIDE, Dataset
from ..io.texts import RowTexts, with_texts
from ..runtime.progress import Progress, Stage, no_progress
from ..settings import LengthSettings
from ..text.minhash import THREADS, iter_chunks, threaded_map

CHARS_PER_TOKEN = 4  # the approximation's rule of thumb for ASCII (English, code)
BYTES_PER_TOKEN = 3  # ... and for the UTF-8 bytes of characters beyond it
APPROXIMATION = (
    f"ASCII characters / {CHARS_PER_TOKEN}, others by UTF-8 bytes / {BYTES_PER_TOKEN} "
    "(a Chinese, Japanese, Korean or Thai character one token)"
)
PARTS = ("prompt", "response", "total")
EDGES = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)  # histogram bin edges
QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
LISTED = 500
_CHUNK = 50_000  # texts split into pieces at once (two chunks in flight: ~150 MB of pieces)
_BLOCK = 200_000  # rows whose prompts and replies are cut out at once
_SAMPLE = 1_000  # whole texts the per-piece count is checked against
_NEAR_LIMIT = 0.9  # rows above this share of --max-tokens are recounted whole
# A piece: the white space before a run of other characters, and that run (or the text's
# trailing white space): a tokenizer that splits before spaces sees the same pieces in
# the whole text.
_PIECE = r"\s*\S+|\s+$"
_SEED = 0x70CE5  # of the pieces' hashes
_STRING = 512  # pieces strung into one string to encode
_STRING_CHECK = 256  # strung pieces checked against encoding each alone, once
TOKEN_SCHEMA = {"row": pl.UInt32(), "prompt": pl.UInt32(), "response": pl.UInt32(), "total": pl.UInt32()}
OVER_SCHEMA = {"row": pl.UInt32(), "key": pl.String(), **{p: pl.UInt32() for p in PARTS}}


@dataclass
class Lengths:
    """Token counts of every row, and the rows over the model's context."""

    exact: bool  # counted with the model's tokenizer, not approximated
    tokenizer: str | None
    detail: str  # how they were counted, as the person reads it
    max_tokens: int | None
    tokens: pl.DataFrame  # TOKEN_SCHEMA, in row order
    over: pl.DataFrame  # OVER_SCHEMA: rows whose total passes max_tokens, longest first

    @property
    def label(self) -> str:
        return "tokens" if self.exact else "tokens (approx.)"

    def quantiles(self) -> dict[str, dict[str, float]]:
        if not self.tokens.height:
            return {part: {} for part in PARTS}
        out: dict[str, dict[str, float]] = {}
        for part in PARTS:
            col = self.tokens[part]
            stats = {name: float(col.quantile(q, "nearest") or 0) for name, q in QUANTILES}
            out[part] = {**stats, "max": float(col.max() or 0), "mean": round(float(col.mean() or 0), 1)}
        return out

    def histogram(self) -> list[tuple[int, int | None, int]]:
        """(low, high or None for the last, rows) of the totals, over EDGES."""
        totals = self.tokens["total"].to_numpy()
        bounds = [0, *EDGES]
        counts = np.bincount(np.searchsorted(EDGES, totals, side="right"), minlength=len(bounds))
        bins = [(lo, hi, int(n)) for lo, hi, n in zip(bounds, [*EDGES, None], counts)]
        # From the first bin with rows to the last: the rest is empty either way.
        used = [i for i, (_, _, n) in enumerate(bins) if n]
        return bins[used[0] : used[-1] + 1] if used else []

    def summary(self) -> str:
        if not self.tokens.height:
            return "no rows"
        q = self.quantiles()["total"]
        limit = (
            f"; {self.over.height:,} over --max-tokens {self.max_tokens:,}"
            if self.max_tokens is not None
            else "; no --max-tokens given"
        )
        return f"total {self.label}: median {q['p50']:,.0f}, p99 {q['p99']:,.0f}, max {q['max']:,.0f}{limit}"

    def brief(self) -> str:
        """The median in a few words (the app's Overview); "~" marks the approximation."""
        if not self.tokens.height:
            return "no rows"
        median = self.quantiles()["total"]["p50"]
        return f"median {'' if self.exact else '~'}{median:,.0f} tokens"

    def to_dict(self) -> dict[str, Any]:
        return {
            "exact": self.exact,
            "tokenizer": self.tokenizer,
            "detail": self.detail,
            "max_tokens": self.max_tokens,
            "quantiles": self.quantiles(),
            "histogram": [{"low": lo, "high": hi, "rows": n} for lo, hi, n in self.histogram()],
            "over": {
                "count": self.over.height,
                "listed": self.over.head(LISTED).drop("row").to_dicts(),
            },
        }


def open_tokenizer(path: str) -> Any:
    """The `tokenizers.Tokenizer` in a local tokenizer.json (or a folder holding one)."""
    where = Path(path)
    try:
        file = where / "tokenizer.json" if where.is_dir() else where
        found = file.is_file()
    except OSError as exc:  # a name too long: is_dir() raises that one
        raise InputError(f"--tokenizer {path}: {exc.strerror or exc}") from None
    if not found:
        raise InputError(f"--tokenizer {path}: no tokenizer.json there")
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise InputError("--tokenizer needs the tokenizers package: pip install 'sfttui[tokens]'") from exc
    try:
        return Tokenizer.from_file(str(file))
    except Exception as exc:  # the library raises a bare Exception with the parse error
        raise InputError(
            f"--tokenizer {file}: not a tokenizer.json the tokenizers library reads ({exc})"
        ) from exc


def _encoded(tokenizer: Any, texts: list[str]) -> list[Any]:
    """The texts encoded, or InputError when the tokenizer cannot encode them: a WordLevel
    tokenizer without an unknown token fails on the first word it does not hold (with a
    bare Exception, as the library raises)."""
    try:
        return tokenizer.encode_batch(texts, add_special_tokens=False)
    except Exception as exc:
        raise InputError(f"--tokenizer cannot encode the texts ({exc})") from None


def measure_lengths(
    dataset: Dataset,
    settings: LengthSettings | None = None,
    progress: Progress = no_progress,
    tokenizer: Any = None,
) -> Lengths:
    """Prompt, response and total tokens of every row; the rows over settings.max_tokens.
    `tokenizer`: settings.tokenizer already opened (the scan opens it before loading)."""
    settings = settings or LengthSettings()
    rows = dataset.rows
    if tokenizer is None and settings.tokenizer is not None:
        tokenizer = open_tokenizer(settings.tokenizer)
    counter = _PieceCounter(tokenizer) if tokenizer is not None else None
    if counter is None:
        detail = f"approximate: {APPROXIMATION}, rounded up (no --tokenizer given)"
    else:
        # The same seeded sample of distinct texts, wherever they are held.
        by_piece = counter.agrees(rows["text"] if dataset.texts is None else dataset.texts.to_series())
        how = (
            "per word with the white space before it (checked against whole texts)"
            if by_piece
            else "whole texts"
        )
        detail = f"{Path(str(settings.tokenizer)).name}, {how}; chat-template tokens not counted"
        counter.by_piece = by_piece
    counted = []
    # A block of rows at a time: the prompts and replies cut out of the texts are copies.
    for lo, hi in iter_chunks(rows.height, _BLOCK):
        counted.append(_count_block(with_texts(rows.slice(lo, hi - lo), dataset.texts), counter))
        progress(Stage.LENGTHS, hi / max(rows.height, 1))
    tokens = pl.concat(counted) if counted else pl.DataFrame(schema=TOKEN_SCHEMA)
    if counter is not None and settings.max_tokens is not None:
        tokens = _recount_near_limit(rows, tokens, counter, settings.max_tokens, dataset.texts)
    over = _over(rows, tokens, settings.max_tokens)
    return Lengths(counter is not None, settings.tokenizer, detail, settings.max_tokens, tokens, over)


def _parts(rows: pl.DataFrame) -> pl.DataFrame:
    text = pl.col("text")
    return rows.select(
        "row",
        "system",
        "reply",
        derived=pl.col("prompt").is_null(),
        prompt=PROMPT_SIDE,
        response=text.str.slice(text.str.len_chars() - pl.col("reply")),
        text=text,
    )


def _count_block(rows: pl.DataFrame, counter: _PieceCounter | None) -> pl.DataFrame:
    parts = _parts(rows)
    count = _approximate if counter is None else counter.count
    prompt = count(parts["prompt"])
    response = count(parts["response"])
    if counter is None or not counter.by_piece:
        text = count(parts["text"])
    else:
        text = _text_tokens(parts, prompt, response, counter)
    total = text + _system_tokens(parts["system"], count)
    return pl.DataFrame(
        {"row": parts["row"], "prompt": prompt, "response": response, "total": total}, schema=TOKEN_SCHEMA
    )


def _text_tokens(
    parts: pl.DataFrame, prompt: np.ndarray, response: np.ndarray, counter: _PieceCounter
) -> np.ndarray:
    """Tokens of each whole text, mostly from its prompt's and reply's counts.

    Where the prompt is the text before the reply (single-turn chats, Alpaca), the text is
    prompt + newline + reply, and every piece is the prompt's or the reply's but one: the
    prompt's trailing white space, the newline and the reply's first piece join. So the
    text's count is the two counts with those pieces taken out and the joined one put in,
    which costs three small pieces a row instead of counting the text again. Without a
    reply the text is the prompt; other rows (multi-turn) are counted whole."""
    text = prompt.copy()
    derived = parts["derived"].to_numpy()
    joined = np.flatnonzero(derived & (parts["reply"].to_numpy() > 0))
    others = np.flatnonzero(~derived)
    if joined.size:
        picked = parts[joined]
        tail = picked["prompt"].str.extract(r"(\s*)$", 1).fill_null("")
        head = picked["response"].str.extract(r"^(\s*\S+|\s+$)", 1).fill_null("")
        seam = tail + "\n" + head
        each = counter.count_pieces
        text[joined] += response[joined] - each(tail) - each(head) + each(seam)
    if others.size:
        text[others] = counter.count(parts["text"].gather(others))
    return text


def _approximate(texts: pl.Series) -> np.ndarray:
    texts = texts.fill_null("")
    chars = texts.str.len_chars().to_numpy().astype(np.int64)
    size = texts.str.len_bytes().to_numpy().astype(np.int64)
    # Only a text with more bytes than characters has any beyond ASCII to count.
    wide = np.flatnonzero(size > chars)
    beyond = np.zeros_like(chars)
    if wide.size:
        beyond[wide] = texts.gather(wide).str.count_matches(r"[^\x00-\x7f]").to_numpy()
    ascii = chars - beyond
    return -(-ascii // CHARS_PER_TOKEN) - (-(size - ascii) // BYTES_PER_TOKEN)


def _system_tokens(system: pl.Series, count: Any) -> np.ndarray:
    """Each row's system prompt tokens: every distinct prompt counted once."""
    if system.null_count() == system.len():
        return np.zeros(system.len(), dtype=np.int64)
    distinct = system.drop_nulls().unique().cast(pl.String)
    counted = pl.DataFrame({"system": distinct, "n": count(distinct)})
    looked = (
        system.cast(pl.String)
        .to_frame("system")
        .join(counted, on="system", how="left", maintain_order="left")
    )
    return looked["n"].fill_null(0).to_numpy().astype(np.int64)


def _over(rows: pl.DataFrame, tokens: pl.DataFrame, limit: int | None) -> pl.DataFrame:
    if limit is None:
        return pl.DataFrame(schema=OVER_SCHEMA)
    over = tokens.filter(pl.col("total") > limit)
    return (
        over.with_columns(key=rows["key"].gather(over["row"]))
        .select(list(OVER_SCHEMA))
        .sort(["total", "row"], descending=[True, False])
        .cast(OVER_SCHEMA)  # type: ignore[arg-type]
    )


def _recount_near_limit(
    rows: pl.DataFrame,
    tokens: pl.DataFrame,
    counter: _PieceCounter,
    limit: int,
    texts: RowTexts | None = None,
) -> pl.DataFrame:
    """The rows at or near the limit counted as whole texts, so the verdict is exact."""
    near = np.flatnonzero(tokens["total"].to_numpy() > math.floor(limit * _NEAR_LIMIT))
    if near.size:
        whole = counter.whole
        picked = _parts(with_texts(rows[near], texts))
        fixed = {
            "prompt": whole(picked["prompt"]),
            "response": whole(picked["response"]),
            "total": whole(picked["text"]) + _system_tokens(picked["system"], whole),
        }
        updated = {name: tokens[name].to_numpy().astype(np.int64) for name in PARTS}
        for name in PARTS:
            updated[name][near] = fixed[name]
        tokens = pl.DataFrame({"row": tokens["row"], **updated}, schema=TOKEN_SCHEMA)
    return tokens


class _PieceCounter:
    """Token counts of texts as the sum of their pieces' counts, each distinct piece
    encoded once (see the module docstring). Pieces are matched by a 64-bit hash: a
    collision would need two distinct pieces among a few million to share one."""

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer
        self.by_piece = True  # False: the tokenizer's counts do not add up by pieces
        self.strings_checked = False
        self.strings_ok = True  # pieces strung together are counted by token offsets
        self.known = pl.DataFrame(schema={"h": pl.UInt64(), "n": pl.UInt32()})

    def whole(self, texts: pl.Series) -> np.ndarray:
        encoded = _encoded(self.tokenizer, texts.fill_null("").to_list())
        return np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))

    def agrees(self, texts: pl.Series) -> bool:
        """Whether counting by pieces gives the whole-text count on a seeded sample."""
        sample = texts.drop_nulls().unique(maintain_order=True)
        if sample.len() > _SAMPLE:
            sample = sample.sample(_SAMPLE, seed=0)
        return bool(np.array_equal(self.count(sample), self.whole(sample)))

    def count(self, texts: pl.Series) -> np.ndarray:
        if not self.by_piece:
            return self.whole(texts)
        out = np.zeros(texts.len(), dtype=np.int64)
        spans = list(iter_chunks(texts.len(), _CHUNK))
        # Chunks go side by side (Polars releases the GIL); between rounds the pieces no
        # chunk of the round had seen are encoded, at once, on every core.
        for at in range(0, len(spans), THREADS):
            round_ = spans[at : at + THREADS]
            pieces = threaded_map(lambda span: _pieces(texts.slice(span[0], span[1] - span[0])), round_)
            self._learn(pl.concat([p.select("h", "piece").unique("h") for p in pieces]))
            sums = threaded_map(self._sums, pieces)
            for (lo, _), (i, n) in zip(round_, sums):
                out[lo + i] = n  # a text with no piece has no token
        return out

    def count_pieces(self, pieces: pl.Series) -> np.ndarray:
        """Token counts of strings that are one piece each (or empty), looked up by hash."""
        if not self.by_piece:
            return self.whole(pieces)
        frame = pieces.to_frame("piece").with_columns(h=pl.col("piece").hash(_SEED))
        self._learn(frame)
        return (
            frame.join(self.known, on="h", how="left", maintain_order="left")["n"].to_numpy().astype(np.int64)
        )

    def _learn(self, frame: pl.DataFrame) -> None:
        """Encode the pieces of `frame` (piece, h) not counted yet, all at once."""
        new = frame.select("h", "piece").unique("h").join(self.known, on="h", how="anti")
        if new.height:
            counted = new.select("h", n=pl.Series(self._encode_pieces(new["piece"]), dtype=pl.UInt32))
            self.known = pl.concat([self.known, counted])

    def _encode_pieces(self, pieces: pl.Series) -> np.ndarray:
        """Token counts of distinct pieces. Encoding each alone costs ~9 µs of overhead a
        piece; pieces of white space and a word are strung together _STRING at a time
        (they add up, as checked) and each token goes to the piece its offset starts in:
        2.2x faster. The first time, a sample is checked against encoding alone."""
        counts = np.zeros(pieces.len(), dtype=np.int64)
        # White space then a word: the shape of every piece after a text's first, which
        # ends where the next piece's white space starts, so strung they read as in a text.
        led = pieces.str.contains(r"^\s+\S").to_numpy()
        alone = np.flatnonzero(~led)
        counts[alone] = self.whole(pieces.gather(alone))
        strung = np.flatnonzero(led)
        if strung.size:
            counts[strung] = self._strung(pieces.gather(strung))
            if not self.strings_checked:
                sample = strung[:_STRING_CHECK]
                self.strings_checked = True
                if not np.array_equal(counts[sample], self.whole(pieces.gather(sample))):
                    self.strings_ok = False
            if not self.strings_ok:
                counts[strung] = self.whole(pieces.gather(strung))
        return counts

    def _strung(self, pieces: pl.Series) -> np.ndarray:
        if not self.strings_ok:
            return self.whole(pieces)
        values = pieces.to_list()
        lengths = pieces.str.len_chars().to_numpy().astype(np.int64)
        strings = ["".join(values[lo : lo + _STRING]) for lo in range(0, len(values), _STRING)]
        encoded = _encoded(self.tokenizer, strings)
        counts = np.zeros(len(values), dtype=np.int64)
        for at, enc in zip(range(0, len(values), _STRING), encoded):
            span = lengths[at : at + _STRING]
            starts = np.cumsum(span) - span
            first = np.fromiter((o[0] for o in enc.offsets), dtype=np.int64, count=len(enc))
            counts[at : at + span.size] = np.bincount(
                np.searchsorted(starts, first, side="right") - 1, minlength=span.size
            )
        return counts

    def _sums(self, pieces: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        summed = pieces.join(self.known, on="h", how="inner").group_by("i").agg(pl.col("n").sum())
        return summed["i"].to_numpy().astype(np.int64), summed["n"].to_numpy()


def _pieces(texts: pl.Series) -> pl.DataFrame:
    """(i: the text, piece, h: its hash) for every piece of every text, in order."""
    frame = texts.fill_null("").str.extract_all(_PIECE).to_frame("piece").with_row_index("i").explode("piece")
    return frame.with_columns(h=pl.col("piece").hash(_SEED)).filter(pl.col("piece").is_not_null())
