"""Load dataset files into one Polars frame with stable row keys and bad-line records.

Every record of every input ends up either as a row of `Dataset.rows` (with where its
line is, so it can be written out byte for byte: see rawlines.py) or as a record in
`Dataset.bad_lines` (file, line, reason, the line itself): nothing is dropped silently.
A file that cannot be read at all raises `InputError`.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import datetime
import gzip
import hashlib
import io
import itertools
import json
import math
import os
import re
import stat
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl

from ..errors import InputError
from ..findings import many
from ..runtime.memory import collector_paused
from ..runtime.parallel import LOCAL, Engine
from ..runtime.processes import WorkerError, cores, map_on_workers
from ..runtime.progress import Progress, Stage, no_progress
from ..settings import FORMATS, SPLITS, LoadSettings
from .formats import (
    EXTRACTORS,
    MEDIA_PARTS,
    TURN_FIELDS,
    BadRecord,
    Extracted,
    chat_shape,
    custom_extractor,
    detect_format,
    get_path,
    type_name,
)
from .rawlines import RAW_COLUMNS, Source, hash_lines, read_few_lines, read_lines
from .texts import RowTexts, SpilledTexts, spill_directory

BOM = b"\xef\xbb\xbf"
_PARSE_CHUNK = 20_000
_READ_BLOCK = 8 << 20  # JSONL is read and hashed this much at a time (see read_blocks)
_DETECT_SAMPLE = 200
# How InputFile.fields names a split read from the rows' own field (not the file name).
SPLIT_FIELD = "field 'split'"
# A file's share of its progress once every line is parsed: the file-wide checks (and the
# worker processes' ending) are the rest, so "done" means done.
_READ_SHARE = 0.95
_INDEXED_LOOKUPS = 256  # at most this many keys are looked up in Dataset's key index
_KEY_SEED = 0x5EED  # Polars' hash seed for that index
# Split names and the aliases datasets use for them (compared case-insensitively).
SPLIT_ALIASES = {
    "train": ("train", "training"),
    "validation": ("validation", "valid", "val", "dev", "development", "eval", "evaluation"),
    "test": ("test", "testing", "holdout", "heldout", "held-out", "held_out"),
}
assert tuple(SPLIT_ALIASES) == SPLITS
_SPLIT_NAMES = {alias: split for split, aliases in SPLIT_ALIASES.items() for alias in aliases}
# A file name sets a split only when it is one: `test.jsonl`, `train.jsonl.gz`, or a
# Hugging Face shard such as `train-00000-of-00003.parquet`. A name that merely contains
# a split word (`customer_test_data.jsonl`) says nothing.
# (The Hub's converted shards end in a hash: `train-00000-of-00001-a09b74b3ef9c3b56`.)
_SPLIT_FILE = re.compile(
    r"^(" + "|".join(map(re.escape, _SPLIT_NAMES)) + r")(?:-\d+-of-\d+(?:-[0-9a-f]+)?)?(?:\.[^.]+)+$"
)

# The Arrow files Hugging Face's `save_to_disk` writes, named in a folder's state.json.
_HF_SHARD = re.compile(r"^data-\d+-of-\d+\.arrow$")

ROW_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.UInt32(),
    "key": pl.String(),
    "file": pl.String(),
    "line": pl.UInt32(),
    "text": pl.String(),
    "prompt": pl.String(),
    "reply": pl.UInt32(),  # characters of the response at the end of `text`; 0 = none
    "turns": pl.UInt16(),  # prompt turns (more than 1 = multi-turn)
    "shape": pl.UInt8(),  # conversation structure problems (bits of formats.SHAPE_PROBLEMS)
    "system": pl.Categorical(),  # the system prompts (most rows share one: stored once)
    "label": pl.String(),
    "groups": pl.List(pl.String()),
    "split": pl.String(),
    # Where the row's original line is (see rawlines.py): offset and length in bytes in
    # an uncompressed JSONL file, else the record itself as compact JSON in `raw`.
    "offset": pl.UInt64(),
    "length": pl.UInt32(),
    "raw": pl.Binary(),
    "line_hash": pl.UInt64(),  # of the line as read, to check whatever is read back
}
# The prompt side of each row (what the model is asked). `prompt` is stored only where
# it cannot be read off `text`: it is null where it is the whole text (classification
# data) or the text before its reply (single-turn chat, Alpaca, prompt/completion),
# which saves a copy of most prompts.
_BEFORE_REPLY = pl.col("text").str.slice(0, pl.col("text").str.len_chars() - pl.col("reply") - 1)
DERIVED_PROMPT = pl.when(pl.col("reply") > 0).then(_BEFORE_REPLY).otherwise(pl.col("text"))
PROMPT_SIDE = pl.coalesce("prompt", DERIVED_PROMPT)
# PROMPT_SIDE.str.len_chars() without making the strings: the slice's length, or the
# whole text where its unsigned arithmetic wraps (as the slice then takes all of it).
_TEXT_CHARS = pl.col("text").str.len_chars()
PROMPT_CHARS = pl.coalesce(
    pl.col("prompt").str.len_chars(),
    pl.when(pl.col("reply") > 0)
    .then(pl.min_horizontal(_TEXT_CHARS - pl.col("reply") - 1, _TEXT_CHARS))
    .otherwise(_TEXT_CHARS),
)
BAD_SCHEMA: dict[str, pl.DataType] = {
    "file": pl.String(),
    "line": pl.UInt32(),
    "reason": pl.String(),
    "excluded": pl.Boolean(),
    "raw": pl.Binary(),  # the line as read, so export can account for it
}
BadLine = tuple[int, str, bool, bytes | None]


BLANK_LINE = "blank line"
# A record that stops the reading of its file (a CSV quote never closed): it and every
# line after it are one bad-line record, and those lines were never read as records.
READING_STOPPED = "not valid CSV from here on"


def mostly_set_aside(rows: int, bad: int, blank: int) -> bool:
    """More records set aside than read, not counting blank lines (a file spaced out with
    them holds nothing in them to check)."""
    return bad - blank > rows


@dataclass
class InputFile:
    """One input file as read: where it came from, what it held, how it was read."""

    path: str
    name: str
    sha256: str
    size: int
    container: str
    compression: str | None
    mtime_ns: int = 0
    format: str = ""
    records: int = 0
    rows: int = 0
    bad: int = 0
    fields: dict[str, str | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def plain_jsonl(cls, path: Path, name: str, found: os.stat_result) -> InputFile:
        """An uncompressed JSONL input as found on disk; its sha256 is filled in once read."""
        return cls(
            path=str(path),
            name=name,
            sha256="",
            size=found.st_size,
            container="jsonl",
            compression=None,
            mtime_ns=found.st_mtime_ns,
        )

    blank: int = 0  # of `bad`, blank lines: set aside, but nothing was in them
    # Lines after the record that stopped the reading (READING_STOPPED), in its bad-line
    # record, and about how many records they hold (at the lines a record the file took
    # before): never read, they weigh as records set aside.
    unread_lines: int = 0
    unread: int = 0

    @property
    def mostly_set_aside(self) -> bool:
        """More of its records set aside than read, blank lines aside: the format or the
        file is likely wrong, and a check of what was left says little about the file."""
        return mostly_set_aside(self.rows, self.bad + self.unread, self.blank)

    @property
    def set_aside(self) -> str:
        """How much of the file was set aside, for the notes that say it was most of it."""
        bad = "is a bad line" if self.bad == 1 else "are bad lines"
        return f"{self.bad:,} of {self.records:,} records {bad}{self.unread_note}"

    @property
    def unread_note(self) -> str:
        """The clause saying what a record that stopped the reading left unread ("and its
        last N lines were not read ..."): `records` counts only what was read, so "1 of 6
        records" alone hid the rest of the file."""
        if not self.unread_lines:
            return ""
        about = f" (about {many(self.unread, 'record')})" if self.unread != self.unread_lines else ""
        stopped = (
            f"{'was' if self.unread_lines == 1 else 'were'} not read (a record there stopped the reading)"
        )
        return f" and its last {many(self.unread_lines, 'line')}{about} {stopped}"

    def count_unread(self, bad: list[BadLine], first_line: int) -> None:
        """Fill in `unread_lines` and `unread` from the record that stopped the reading,
        if one did; records start on `first_line` (2 below a CSV header)."""
        stop = next((b for b in bad if b[1].startswith(READING_STOPPED) and b[3]), None)
        if stop is None:
            return
        self.unread_lines = len(stop[3].splitlines()) - 1  # \n, \r\n or a lone \r
        before = self.rows + sum(1 for b in bad if b[2] and b[0] < stop[0])
        per_line = min(1.0, before / max(stop[0] - first_line, 1))
        self.unread = round(self.unread_lines * per_line)

    @property
    def source(self) -> Source:
        """The file as it was read, for reading its rows' lines back (see rawlines.py)."""
        return Source(self.path, self.size, self.mtime_ns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "sha256": self.sha256,
            "bytes": self.size,
            "container": self.container,
            "compression": self.compression,
            "format": self.format,
            "records": self.records,
            "rows": self.rows,
            "bad_lines": self.bad,
            "fields": self.fields,
        }


@dataclass
class Dataset:
    """All valid rows of all inputs, plus what was set aside and why."""

    rows: pl.DataFrame  # columns as ROW_SCHEMA; `prompt` is null where PROMPT_SIDE derives it
    bad_lines: pl.DataFrame
    inputs: list[InputFile]
    notes: list[str]
    key_source: str
    # The rows' key hashes sorted, and the position of each, for the frame they were
    # taken from: built by rows_of on first use.
    _key_index: tuple[pl.DataFrame, np.ndarray, np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )
    # Every row's text, when it is kept in a file (see texts.py): `rows` then has no
    # `text` column, and what reads texts reads them from `text_source()`.
    texts: SpilledTexts | None = field(default=None, repr=False, compare=False)

    def text_source(self) -> RowTexts:
        """Every row's text, by row number: the column, or the file that holds it."""
        return self.texts if self.texts is not None else self.rows.get_column("text")

    def spill_texts(self, directory: str | os.PathLike[str] | None = None) -> Dataset:
        """This dataset with its texts in files in `directory` (the system's temporary
        folder by default) instead of its rows; where that cannot be written, itself with
        a note saying why."""
        if self.texts is not None or not self.rows.height:
            return self
        folder = directory or spill_directory()
        try:
            texts = SpilledTexts.spill(self.rows.get_column("text"), folder)
        except OSError as exc:  # a full or read-only disk: the texts stay where they are
            why = exc.strerror or str(exc)
            said = f"the texts stay in memory: they cannot be written to {os.fsdecode(folder)} ({why})"
            return replace(self, notes=[*self.notes, said])
        return replace(self, rows=self.rows.drop("text"), texts=texts, _key_index=None)

    def text_of(self, row: int) -> str:
        """The text of one row (by row number)."""
        return self.text_source()[row]

    @property
    def has_labels(self) -> bool:
        return self.rows.height > 0 and self.rows["label"].null_count() < self.rows.height

    @property
    def has_splits(self) -> bool:
        return self.rows.height > 0 and self.rows["split"].null_count() < self.rows.height

    @property
    def sources(self) -> dict[str, Source]:
        """The files the rows' lines are read back from, by display name."""
        return {i.name: i.source for i in self.inputs}

    def columns_of(self, rows: pl.Series | list[int], *names: str) -> pl.DataFrame:
        """Some columns of some rows (by row number), by column access alone: this is what
        the app's UI thread reads, and it must not wait on Polars' thread pool."""
        at = pl.Series(rows, dtype=pl.UInt32)
        return pl.DataFrame([self.rows.get_column(name).gather(at) for name in names])

    def prompt_of(self, row: int) -> str:
        """The prompt side of one row, as PROMPT_SIDE gives it, by column access alone
        (for the UI thread, like `columns_of`)."""
        prompt = self.rows.get_column("prompt")[row]
        if prompt is not None:
            return prompt
        text, reply = self.text_of(row), self.rows.get_column("reply")[row]
        end = len(text) - reply - 1
        # PROMPT_SIDE's unsigned arithmetic wraps when the reply is the whole text: all of it.
        return text[:end] if reply > 0 and end >= 0 else text

    def format_of(self, row: int) -> str:
        """The record format of the file a row came from ("custom" with --text-field)."""
        name = self.rows.get_column("file")[row]
        return next((i.format for i in self.inputs if i.name == name), "text")

    def raw_lines(self, rows: pl.Series | list[int]) -> list[bytes | None]:
        """The original lines of a few rows (by row number); None where the file has changed."""
        return read_few_lines(self.columns_of(rows, *RAW_COLUMNS), self.sources)

    def rows_of(self, keys: Iterable[str]) -> dict[str, int]:
        """The row number of each of these keys that exists.

        A few keys (what one decision names) are found by binary search in the rows' key
        hashes, sorted once (0.1 s at a million rows): a filter over every key took 19 ms a
        decision there. Many keys (a whole journal at start) are found by one filter.
        """
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        column = self.rows.get_column("key")
        if len(wanted) > _INDEXED_LOOKUPS:
            found = self.rows.filter(column.is_in(wanted)).select("key", "row")
            return dict(found.iter_rows())
        if self._key_index is None or self._key_index[0] is not self.rows:
            hashes = column.hash(_KEY_SEED).to_numpy()
            order = np.argsort(hashes, kind="stable")
            self._key_index = (self.rows, hashes[order], order)
        _, sorted_hashes, order = self._key_index
        asked = pl.Series(wanted, dtype=pl.String).hash(_KEY_SEED).to_numpy()
        at = np.searchsorted(sorted_hashes, asked)
        out: dict[str, int] = {}
        # Equal hashes sit side by side: the row is the one whose key is the one asked for.
        for i, h in enumerate(asked.tolist()):
            k = int(at[i])
            while k < sorted_hashes.size and sorted_hashes[k] == h:
                row = int(order[k])
                if column[row] == wanted[i]:
                    out[wanted[i]] = int(self.rows.get_column("row")[row])
                    break
                k += 1
        return out

    def row_of(self, key: str) -> int | None:
        """The row number of the row with this key; None if there is none."""
        hit = np.flatnonzero((self.rows.get_column("key") == key).to_numpy())
        return int(hit[0]) if hit.size else None

    def find(self, key: str) -> tuple[str, bytes | None] | None:
        """Text and original line of the row with this key; None if there is none."""
        row = self.row_of(key)
        if row is None:
            return None
        return self.text_of(row), self.raw_lines([row])[0]


@dataclass
class _Records:
    """Parsed records of one file before field extraction."""

    lines: list[int] = field(default_factory=list)
    raws: list[bytes] = field(default_factory=list)
    objs: list[Any] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    offsets: list[int] | None = None  # byte offset of each line, when read from a file


def split_from_name(name: str) -> str | None:
    """`train.jsonl` -> train, `dev.jsonl.gz` -> validation; None unless the file's name is a
    split's name (with its extensions), or it is a Hugging Face `save_to_disk` shard
    (`data-00000-of-00001.arrow`) in a folder named after a split (a DatasetDict's)."""
    path = Path(name)
    if _HF_SHARD.match(path.name):
        folder = path.parent.name
        if folder.lower() in _SPLIT_NAMES:
            return _SPLIT_NAMES[folder.lower()]
        if (path.parent.parent / "dataset_dict.json").is_file():
            # A DatasetDict's own split name (train_sft, test_sft): kept as given, so it is
            # named among the split values export cannot write, not dropped unseen.
            return folder
    match = _SPLIT_FILE.match(path.name.lower())
    return _SPLIT_NAMES[match.group(1)] if match else None


def split_value(value: object) -> str | None:
    """A record's `split` field as a split name: aliases mapped, other strings kept as given
    (export refuses names it cannot write, see split.unknown_splits)."""
    if not isinstance(value, str) or not value.strip():  # a blank cell names no split
        return None
    return _SPLIT_NAMES.get(value.strip().lower(), value.strip())


def _split_of(value: object, name_split: str | None) -> str | None:
    """A record's split: its field's value, or the file name's where the field is missing
    or blank. Any other value is written out as text (1, true, ["test"]), so it is named
    among the split values export cannot write, never quietly taken for the file's."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return name_split
    return split_value(value if isinstance(value, str) else _scalar(value))


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """OSErrors while reading `path` as one-line InputErrors."""
    try:
        yield
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a data file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _compression(path: Path, head: bytes) -> str | None:
    """gzip, zstd or None, from a file's first bytes; a .gz or .zst name without them is an error."""
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if path.suffix.lower() in _COMPRESSED:
        raise InputError(f"{path}: named {path.suffix} but not compressed that way")
    return None


def plain_jsonl(path: Path, head: bytes) -> bool:
    """Whether a file starting with `head` is uncompressed JSONL, which can be read in
    blocks; raises InputError for a file that cannot be read at all."""
    _refuse_other_encodings(path, head)
    return _compression(path, head) is None and _container(path, head) == "jsonl"


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read into one small buffer over and over: nothing to hand on,
    so no fresh block per read (read_blocks' 32 MiB blocks, as they were, cost twice the
    hashing itself in page faults: 516 MB, 0.71 s against 0.34 s)."""
    digest = hashlib.sha256()
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as handle:
        while size := handle.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


def _read_bytes(path: Path, settings: LoadSettings) -> tuple[bytes, bytes, str | None]:
    """File bytes as stored and as decompressed, and the compression found."""
    with _reading(path):
        stored = path.read_bytes()
    compression = _compression(path, stored)
    if compression is None:
        return stored, stored, None
    try:
        if compression == "gzip":
            reader: Any = gzip.GzipFile(fileobj=io.BytesIO(stored))
        else:
            import zstandard

            # The stream reader stops quietly where a cut-off file ends (gzip says so):
            # the frames are walked first, so a truncated file is refused, not half read.
            cut = zstd_cut(stored)
            if cut:
                raise InputError(f"{path}: compressed data is corrupt ({cut})")
            # Every frame: zstd files made by concatenating compressed parts hold several.
            reader = zstandard.ZstdDecompressor().stream_reader(stored, read_across_frames=True)
        return stored, _bounded(path, reader, len(stored), settings), compression
    except InputError:
        raise
    except (OSError, EOFError, ValueError) as exc:
        raise InputError(f"{path}: compressed data is corrupt ({exc})") from None
    except Exception as exc:  # zstandard.ZstdError does not derive from OSError
        raise InputError(f"{path}: compressed data is corrupt ({exc})") from None


_ZSTD_MAGIC = 0xFD2FB528
_FCS_BYTES = (0, 2, 4, 8)  # Frame_Content_Size field sizes by flag (RFC 8878 3.1.1.1.1)
_DICT_BYTES = (0, 1, 2, 4)


def zstd_cut(data: bytes) -> str | None:
    """Why `data` is not whole zstd frames (RFC 8878), from their headers alone: a frame
    cut off, or bytes that start no frame; None when every frame is complete."""
    at, end = 0, len(data)
    while at < end:
        if end - at < 4:
            return f"{end - at} stray bytes at the end"
        magic = int.from_bytes(data[at : at + 4], "little")
        if 0x184D2A50 <= magic <= 0x184D2A5F:  # a skippable frame: its size, then its bytes
            if end - at < 8:
                return "cut off in a skippable frame"
            at += 8 + int.from_bytes(data[at + 4 : at + 8], "little")
            if at > end:
                return "cut off in a skippable frame"
            continue
        if magic != _ZSTD_MAGIC:
            return f"no zstd frame starts at byte {at:,}"
        if end - at < 5:
            return "cut off in a frame header"
        descriptor = data[at + 4]
        single = descriptor >> 5 & 1
        fcs = _FCS_BYTES[descriptor >> 6] or single
        at += 5 + (0 if single else 1) + _DICT_BYTES[descriptor & 3] + fcs
        last = False
        while not last:
            if at + 3 > end:
                return "cut off: the file ends inside a frame"
            header = int.from_bytes(data[at : at + 3], "little")
            last, kind, size = bool(header & 1), header >> 1 & 3, header >> 3
            if kind == 3:
                return f"a reserved block type at byte {at:,}"
            at += 3 + (1 if kind == 1 else size)
        at += 4 if descriptor >> 2 & 1 else 0  # the content checksum
        if at > end:
            return "cut off: the file ends inside a frame"
    return None


_INFLATE_STEP = 16 << 20  # decompressed a step at a time, so a cap stops it early
_INFLATE_FREE = 64 << 20  # expanding to this much is allowed whatever the ratio


def _bounded(path: Path, reader: Any, stored: int, settings: LoadSettings) -> bytes:
    """All of a decompressing reader, refused as soon as it passes the size or ratio cap:
    a 180 KB zstd file can expand to 2 GB, and memory would grow until the process died."""
    # The ratio cap spares small files (a few KB of repetitive JSONL may expand 500x):
    # under 64 MiB, expanding costs little whatever the ratio.
    cap = int(min(settings.max_decompressed_bytes, max(_INFLATE_FREE, stored * settings.max_expansion)))
    parts: list[bytes] = []
    total = 0
    while chunk := reader.read(_INFLATE_STEP):
        total += len(chunk)
        if total > cap:
            # A cap below the file's own size has no ratio worth naming ("over 0x").
            ratio = f"over {cap // stored:,}x its " if stored and cap >= stored else "from "
            raise InputError(
                f"{path}: decompresses to more than {cap:,} bytes ({ratio}"
                f"{stored:,} bytes; caps: --max-decompressed {settings.max_decompressed_bytes:,}, "
                f"--max-expansion {settings.max_expansion:g}); raise them if the file is genuine"
            )
        parts.append(chunk)
    return b"".join(parts)


def regular_file(path: Path) -> None:
    """Refuse what is not a regular file (after symlinks) before anything reads it: a FIFO
    would block for ever, and /dev/zero never ends."""
    with _reading(path):
        mode = path.stat().st_mode
    if stat.S_ISDIR(mode):
        raise InputError(f"{path}: is a directory, expected a data file")
    if not stat.S_ISREG(mode):
        kind = next(
            (name for test, name in _SPECIAL if test(mode)),
            "special file",
        )
        raise InputError(f"{path}: is a {kind}, not a regular file; sfttui reads data files only")


_SPECIAL = (
    (stat.S_ISFIFO, "named pipe (FIFO)"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISSOCK, "socket"),
)


# The names a data file's kind is read from (see _container), and its compression's.
_COMPRESSED = (".gz", ".zst")
_JSONL, _PARQUET = (".jsonl", ".ndjson", ".jsonlines"), (".parquet", ".pq")
_DATA_SUFFIXES = (*_JSONL, ".json", ".csv", ".tsv", *_PARQUET, ".arrow")


def data_stem(name: str) -> str:
    """A data file's name without its compression and data suffixes, and only those:
    `v1.2.jsonl.gz` -> `v1.2` (cut at the first dot, v1.2 and v1.3 were both `v1`)."""
    for suffixes in (_COMPRESSED, _DATA_SUFFIXES):
        ext = os.path.splitext(name)[1]
        if ext.lower() in suffixes and len(ext) < len(name):
            name = name[: -len(ext)]
    return name


def _container(path: Path, data: bytes) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in _COMPRESSED]
    ext = suffixes[-1] if suffixes else ""
    head = data.lstrip(BOM + b" \t\r\n")[:1]
    if ext in _JSONL:
        return "jsonl"
    if ext == ".json":
        return "json" if head == b"[" else "jsonl"
    if ext in (".csv", ".tsv"):
        return ext[1:]
    if ext in _PARQUET or data[:4] == b"PAR1":
        return "parquet"
    if ext == ".arrow" or data[:6] == b"ARROW1":
        return "arrow"
    if head == b"{":
        return "jsonl"
    if head == b"[":
        return "json"
    raise InputError(
        f"{path}: unknown file type (expected .jsonl, .json, .csv, .tsv, .parquet or .arrow, "
        "optionally .gz or .zst)"
    )


def _oversized(size: int, limit: int) -> str:
    return f"row is {size:,} bytes, over the {limit:,} limit"


def _parse_jsonl(
    data: bytes, max_row_bytes: int, offsets: bool = False, file_start: bool = True
) -> Iterator[_Records]:
    """Records of JSONL bytes held in memory (see _parse_jsonl_stream)."""
    return _parse_jsonl_stream(iter([data]), max_row_bytes, offsets, file_start)


def _parse_jsonl_stream(
    blocks: Iterator[bytes], max_row_bytes: int, offsets: bool = False, file_start: bool = True
) -> Iterator[_Records]:
    """Records of a JSONL file read as consecutive blocks of bytes, `_PARSE_CHUNK` lines
    at a time, so neither the file's lines nor its parsed objects ever pile up. With
    `offsets`, each record also gets its line's byte offset from the start of the blocks.
    A byte order mark is removed only at the start of a file (`file_start`): elsewhere it
    is part of a line, which is then no JSON."""
    notice: list[BadLine] = []
    pos = [0]  # byte offset of the next line

    def without_bom() -> Iterator[bytes]:
        first = file_start
        for block in blocks:
            if first and block:
                first = False
                if block.startswith(BOM):
                    block = block[len(BOM) :]
                    pos[0] = len(BOM)
                    notice.append(
                        (1, "UTF-8 byte order mark at start of file (removed; row kept)", False, None)
                    )
            yield block

    def window(lines: list[bytes], start: int) -> _Records:
        at = None
        if offsets and lines:
            sizes = np.fromiter(map(len, lines), np.int64, len(lines)) + 1  # with the newline
            ends = pos[0] + np.cumsum(sizes)
            at, pos[0] = (ends - sizes).tolist(), int(ends[-1])
        return _parse_window(lines, start, max_row_bytes, notice if start == 0 else [], at)

    pending: list[bytes] = []
    start = 0  # line index of pending[0]
    for lines in split_lines(without_bom()):
        pending += lines
        del lines  # each line is freed once its window is parsed
        while len(pending) >= _PARSE_CHUNK:
            yield window(pending[:_PARSE_CHUNK], start)
            del pending[:_PARSE_CHUNK]
            start += _PARSE_CHUNK
    if pending or start == 0:
        yield window(pending, start)


def read_blocks(path: Path, size: int = _READ_BLOCK) -> Iterator[bytes]:
    """A file's bytes, `size` at a time: by default 8 MiB, not 32, as a block of 32 MiB
    is a fresh mapping of memory each time, its pages faulted in again (reading back 516
    MB of written lines: 0.81 s -> 0.45 s)."""
    with path.open("rb") as handle:
        while block := handle.read(size):
            yield block


def split_lines(blocks: Iterable[bytes]) -> Iterator[list[bytes]]:
    """The lines of consecutive blocks of a file, without their newlines, a list per block:
    a line cut by a block's end comes whole with the next; a last line without a
    newline comes at the end."""
    pending: list[bytes] = []  # the pieces of a line still open at a block's end
    for block in blocks:
        lines = block.split(b"\n")
        last = lines.pop()
        if not lines:  # no newline in this block: the open line goes on
            pending.append(last)
            yield lines
            continue
        if pending:
            # Joined once, where the line ends: joined at every block, a line of many
            # blocks was copied again for each (a 64 MiB line read in 2 MiB blocks: 1 GiB).
            lines[0] = b"".join([*pending, lines[0]])
        pending = [last]
        yield lines
    carry = b"".join(pending)
    if carry:
        yield [carry]


def _parse_window(
    window: list[bytes], start: int, max_row_bytes: int, notice: list[BadLine], offsets: list[int] | None
) -> _Records:
    clean = _parse_clean(window, start, max_row_bytes)
    if clean is not None:
        clean.bad, clean.offsets = notice, offsets
        return clean
    return _parse_lines(window, start, max_row_bytes, notice, offsets)


def _parse_clean(window: list[bytes], start: int, max_row_bytes: int) -> _Records | None:
    """A chunk of well-formed object lines, each parsed on its own (one C call per line).

    None when anything is off (an empty or oversized line, invalid JSON, a non-object),
    for `_parse_lines` to sort out. Each line is parsed alone, never joined with the
    others into one array: joined, a line holding two objects and a string broken over
    two lines kept the count of items equal, and rows were paired with other lines.
    """
    if not window or max(map(len, window)) > max_row_bytes or not min(map(len, window)):
        return None
    try:
        parsed = list(map(orjson.loads, window))
    except orjson.JSONDecodeError:
        return None
    if not all(type(o) is dict for o in parsed):
        return None
    return _Records(lines=list(range(start + 1, start + 1 + len(window))), raws=window, objs=parsed)


def _parse_lines(
    window: list[bytes], start: int, max_row_bytes: int, notice: list[BadLine], offsets: list[int] | None
) -> _Records:
    """A chunk line by line, with a bad-line record for each line that is not a record."""
    out = _Records(bad=notice, offsets=[] if offsets is not None else None)
    for i, raw in enumerate(window):
        number = start + 1 + i
        if len(raw) > max_row_bytes:
            out.bad.append((number, _oversized(len(raw), max_row_bytes), True, raw))
            continue
        if not raw.strip():
            out.bad.append((number, BLANK_LINE, True, raw))
            continue
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            out.bad.append((number, _why_invalid(raw, exc), True, raw))
            continue
        if not isinstance(obj, dict):
            out.bad.append((number, f"not a JSON object (got {type_name(obj)})", True, raw))
            continue
        out.lines.append(number)
        out.raws.append(raw)
        out.objs.append(obj)
        if out.offsets is not None and offsets is not None:
            out.offsets.append(offsets[i])
    return out


def _json_default(value: Any) -> Any:
    """What orjson cannot write itself, from Parquet columns: decimals and durations as
    their text, bytes as base64 (a record must become one JSON line)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.timedelta):
        return f"{value.total_seconds():g}s"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


# Digits only, as '0', everything else a space: 19 digits in a row may be an integer
# past 64 bits (-9223372036854775809, 18446744073709551616), which orjson reads as a
# float, changing the value the records of a .json array are written with. A regex
# over the bytes took 0.95 s per 100 MB, this 0.12 s.
_DIGITS = bytes(ord("0") if chr(b).isdigit() and b < 128 else ord(" ") for b in range(256))
_LONG_NUMBER = b"0" * 19


def _long_number(data: bytes) -> bool:
    return data.translate(_DIGITS).find(_LONG_NUMBER) >= 0


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:40]} is infinity when parsed as double")
    return value


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _exact_json(data: bytes) -> Any:
    """JSON read by Python's parser, whose integers have no size limit, as strict as
    orjson otherwise (no NaN or Infinity, no number that overflows a double)."""
    return json.loads(data, parse_float=_finite, parse_constant=_not_a_number)


def _as_json(item: Any) -> tuple[bytes, Any] | str:
    """A record as compact JSON and as the values that JSON holds (the record itself
    unless a value had to be converted), or why it cannot be written as JSON."""
    converted = [False]

    def default(value: Any) -> Any:
        converted[0] = True
        return _json_default(value)

    try:
        raw = orjson.dumps(item, option=orjson.OPT_NON_STR_KEYS, default=default)
    except orjson.JSONEncodeError as exc:
        if "64-bit" not in str(exc):
            return f"cannot be written as JSON ({exc})"
        # An integer past 64 bits (see _exact_json): written by Python, digit for digit.
        try:
            raw = json.dumps(item, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as again:
            return f"cannot be written as JSON ({again})"
    return raw, orjson.loads(raw) if converted[0] else item


def _why_invalid(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    """The reason a line is not JSON, in the person's terms: a line that is not UTF-8
    says which byte (orjson's own words are "surrogates not allowed")."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return (
            f"not valid UTF-8 (byte 0x{raw[bad.start]:02x} at column {bad.start + 1}); the file must be UTF-8"
        )
    return f"invalid JSON: {exc}"


# Byte order marks of encodings other than UTF-8, longest first (UTF-32 LE starts like UTF-16 LE).
_OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32LE"),
    (b"\x00\x00\xfe\xff", "UTF-32BE"),
    (b"\xff\xfe", "UTF-16LE"),
    (b"\xfe\xff", "UTF-16BE"),
)


def _refuse_other_encodings(path: Path, head: bytes) -> None:
    """A file that starts with a UTF-16 or UTF-32 byte order mark, in one line (else every
    line would be a bad line saying it is not JSON)."""
    for bom, encoding in _OTHER_BOMS:
        if head.startswith(bom):
            raise InputError(
                f"{path}: is {encoding} (byte order mark {bom.hex(' ').upper()}), not UTF-8; convert it "
                f"first, for example with iconv -f {encoding} -t UTF-8"
            )
    encoding = _wide_without_bom(head[:32])
    if encoding:
        raise InputError(
            f"{path}: looks like {encoding} without a byte order mark (NUL bytes between its "
            f"characters), not UTF-8; convert it first, for example with iconv -f {encoding} -t UTF-8"
        )


def _wide_without_bom(head: bytes) -> str | None:
    """UTF-16 or UTF-32 text without a byte order mark, told by where its NUL bytes fall
    among ASCII characters (UTF-8 JSON holds no NUL byte: the file's every line would
    be "not JSON" otherwise)."""
    if len(head) < 8 or b"\x00" not in head:
        return None
    size = len(head) // 4 * 4
    nul = [b == 0 for b in head[:size]]
    for encoding, width, zeros in (
        ("UTF-32LE", 4, (1, 2, 3)),
        ("UTF-32BE", 4, (0, 1, 2)),
        ("UTF-16LE", 2, (1,)),
        ("UTF-16BE", 2, (0,)),
    ):
        other = [i for i in range(width) if i not in zeros]
        if all(nul[i] for i in range(size) if i % width in zeros) and not any(
            nul[i] for i in range(size) if i % width in other
        ):
            return encoding
    return None


def _records_from_items(
    items: list[Any],
    first_line: int,
    max_row_bytes: int,
    lines: list[int] | None = None,
    repeated: dict[int, tuple[str, bytes]] | None = None,
    source: Callable[[int], bytes] | None = None,
) -> Iterator[_Records]:
    """Records from already-parsed items (JSON arrays, CSV, Parquet); raw = compact JSON.
    Item i is on line `first_line + i`, or on `lines[i]` when given (CSV records that
    span lines). Items in `repeated` are set aside with the reason and text it gives.
    `source` gives item i's text as in the file, for one that cannot be written again."""
    repeated = repeated or {}
    for start in range(0, max(len(items), 1), _PARSE_CHUNK):
        out = _Records()
        chunk = items[start : start + _PARSE_CHUNK]
        numbers = lines[start : start + _PARSE_CHUNK] if lines is not None else None
        for at, item in enumerate(chunk):
            number = numbers[at] if numbers is not None else first_line + start + at
            written = _as_json(item)
            if isinstance(written, str):
                shown = source(start + at) if source is not None else _shown_record(item)
                out.bad.append((number, f"record {written}", True, shown[:max_row_bytes]))
                continue
            raw, obj = written
            if start + at in repeated:
                # As in the file: written back as parsed it would hold one value of the two.
                why, record = repeated[start + at]
                out.bad.append((number, why, True, record))
                continue
            if not isinstance(obj, dict):
                out.bad.append((number, f"not a JSON object (got {type_name(obj)})", True, raw))
                continue
            if len(raw) > max_row_bytes:
                out.bad.append((number, _oversized(len(raw), max_row_bytes), True, raw))
                continue
            out.lines.append(number)
            out.raws.append(raw)
            out.objs.append(obj)
        yield out


def _shown_record(item: Any) -> bytes:
    """A record that cannot be written as JSON, as Python shows it (for its bad line)."""
    try:
        return repr(item).encode()
    except RecursionError:  # nested past what repr walks
        return f"({type_name(item)} nested too deeply to show)".encode()


def _non_finite(frame: pl.DataFrame, name: str) -> list[str]:
    """A note naming the float columns holding NaN or infinity, which JSON cannot hold:
    the records as JSON (what is kept and written) have null there."""
    counts = {
        c: n
        for c, dtype in frame.schema.items()
        if dtype.is_float() and (n := int((frame[c].is_nan() | frame[c].is_infinite()).sum()))
    }
    if not counts:
        return []
    where = ", ".join(f"{c} ({n:,})" for c, n in counts.items())
    return [f"{name}: NaN or infinite values become null in JSON, as written: {where}"]


def _parse(
    path: Path, container: str, data: bytes, max_row_bytes: int, notes: list[str] | None = None
) -> Iterator[_Records]:
    if container == "jsonl":
        return _parse_jsonl(data, max_row_bytes)
    if container == "json":
        body = data.removeprefix(BOM)
        try:
            items = orjson.loads(body)
            if _long_number(body):
                with contextlib.suppress(RecursionError):  # nested past Python's parser: as read
                    items = _exact_json(body)
        except (orjson.JSONDecodeError, ValueError) as exc:
            raise InputError(f"{path}: invalid JSON ({exc})") from None
        if not isinstance(items, list):
            raise InputError(f"{path}: a .json file must hold an array of records")
        return _records_from_items(
            items, 1, max_row_bytes, repeated=_array_repeats(body, items), source=_ArrayTexts(body)
        )
    if container in ("parquet", "arrow"):
        frame = _parquet_frame(path, data) if container == "parquet" else _arrow_frame(path, data)
        if notes is not None:
            notes += _non_finite(frame, path.name)
        return _records_from_items(frame.to_dicts(), 1, max_row_bytes)
    items, lines, bad = _csv_records(path, data, "\t" if container == "tsv" else ",")
    records = _records_from_items(items, 2, max_row_bytes, lines)
    first = next(records)
    first.bad = bad + first.bad
    return itertools.chain([first], records)


def _parquet_frame(path: Path, data: bytes) -> pl.DataFrame:
    try:
        return pl.read_parquet(data)
    except Exception as exc:  # polars raises several error types for unreadable input
        raise InputError(f"{path}: cannot read as parquet ({str(exc).splitlines()[0]})") from None


def _arrow_frame(path: Path, data: bytes) -> pl.DataFrame:
    """An Arrow IPC file: the stream format `save_to_disk` writes, or the file format."""
    try:
        return pl.read_ipc(data) if data[:6] == b"ARROW1" else pl.read_ipc_stream(data)
    except Exception as exc:  # polars raises several error types for unreadable input
        raise InputError(f"{path}: cannot read as Arrow ({str(exc).splitlines()[0]})") from None


def _csv_records(path: Path, data: bytes, separator: str) -> tuple[list[dict], list[int], list[BadLine]]:
    """A CSV or TSV file's records as dicts of strings keyed by the header, each with the
    physical line its record starts on (a quoted field may span lines), and a bad-line
    record for each row whose fields do not match the header or that is not valid CSV."""
    # Python's csv stops at a field over 128 KiB ("field larger than field limit"), and
    # strict reading then set the rest of the file aside; a record's size is judged
    # afterwards, by --max-row-bytes, as in every other format.
    limit = csv.field_size_limit(_CSV_FIELD_LIMIT)
    try:
        return _csv_read(path, data, separator)
    finally:
        csv.field_size_limit(limit)


_CSV_FIELD_LIMIT = (1 << 31) - 1


def _csv_read(path: Path, data: bytes, separator: str) -> tuple[list[dict], list[int], list[BadLine]]:
    try:
        text = data.removeprefix(BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}: line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x})") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path}: empty file (no header row)") from None
    except csv.Error as exc:
        raise InputError(f"{path}: line 1: the header is not valid CSV ({exc})") from None
    seen: dict[str, int] = {}
    for column, name in enumerate(header, 1):
        if name in seen:
            # Read into dicts, the last column of a name would silently win.
            raise InputError(
                f"{path}: line 1: the header names column {name!r} twice "
                f"(columns {seen[name]} and {column}); rename one"
            )
        seen[name] = column
    items: list[dict] = []
    lines: list[int] = []
    bad: list[BadLine] = []
    physical: list[str] = []  # the file's lines, split only once a record is set aside
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # strict mode stops at the first malformed record (an unterminated quote runs
            # to the end of the file): it and what follows are set aside, not guessed at.
            physical = physical or _csv_lines(text)
            rest = _record_text(physical, start, len(physical)).encode()
            bad.append((start, f"{READING_STOPPED} ({exc})", True, rest))
            break
        if not row:
            continue
        if len(row) != len(header):
            # The record as it stands in the file (its quotes, and every line of it),
            # not its fields joined again: what dropped.jsonl keeps must be the input.
            physical = physical or _csv_lines(text)
            raw = _record_text(physical, start, reader.line_num).encode()
            bad.append((start, f"{len(row)} fields where the header has {len(header)}", True, raw))
            continue
        items.append(dict(zip(header, row)))
        lines.append(start)
    return items, lines, bad


def _csv_lines(text: str) -> list[str]:
    """A CSV file's lines as its reader counts them (ended by \\n, \\r\\n or a lone \\r),
    each with its ending: split at \\n alone, a file with \\r endings was one line."""
    return io.StringIO(text, newline="").readlines()


def _record_text(lines: list[str], first: int, last: int) -> str:
    """Lines `first` to `last` (1-based) as they stand in the file, without the last
    one's \\n (or its lone \\r): a record of a CRLF file keeps its \\r, as a JSONL line does."""
    text = "".join(lines[first - 1 : last])
    return text[:-1] if text.endswith("\n") or text.endswith("\r") else text


def _label(value: Any) -> tuple[str | None, str | None]:
    """(label, kind) where kind is "str" or "int"; raises BadRecord for other types."""
    if isinstance(value, str):
        if not value.strip():
            raise BadRecord("label is empty")
        return value, "str"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value), "int"
    if isinstance(value, float):
        # pandas writes an integer class column holding a gap as floats (1.0, NaN).
        if value != value:
            raise BadRecord("label is NaN (a missing value)")
        if value.is_integer():
            return str(int(value)), "int"
        raise BadRecord(f"label is the number {value!r}, expected a class name or a whole number")
    raise BadRecord(f"label is {type_name(value)}, expected a string")


def _values(objs: list[dict], path: str) -> list[Any]:
    """One field of every record (None where it is missing): a plain key is read with one
    dict lookup per record, a dotted path walked."""
    if "." not in path:
        return [o.get(path) for o in objs]
    return [get_path(o, path, None) for o in objs]


def _strings(objs: list[dict], path: str) -> list[str | None]:
    """One field of every record as a string (see _scalar); strings pass as they are."""
    return [v if type(v) is str else _scalar(v) for v in _values(objs, path)]


def _scalar(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:  # nested past orjson's writing depth (it read deeper)
        return f"({type_name(value)} nested too deeply to show)"


@dataclass
class _FileSchema:
    """Which fields of one file hold what, decided from its first records."""

    fmt: str
    extract: Callable[[dict], Extracted] | None  # None only on its way to a worker
    label_field: str
    has_label: bool
    id_field: str
    has_id: bool
    group_fields: tuple[str, ...]
    has_split_field: bool
    name_split: str | None
    read_keys: tuple[bytes, ...] = ()  # top-level keys the row is read from, as '"key"'
    # Dotted label and text fields (`meta.label`), split: a key repeated inside them
    # changes what the row says as a top-level one does.
    read_paths: tuple[tuple[str, ...], ...] = ()


_FORMAT_KEYS = {
    "chat": ("messages",),
    "sharegpt": ("conversations",),
    "alpaca": ("instruction", "input", "output"),
    "prompt_completion": ("prompt", "completion"),
    "text": ("text",),
}


def _read_keys(
    fmt: str, settings: LoadSettings, label_field: str | None, sample: list[dict]
) -> tuple[bytes, ...]:
    """The top-level keys a row's label and text are read from, spelt as in JSON: those
    whose repeats would silently change what the row says (checking every key costs a
    scan of the chunk each). Chat turns are read from the list the records hold
    (messages, conversations or conversation: see formats.chat_shape)."""
    turn_lists = [shape[0] for o in sample[:_DETECT_SAMPLE] if (shape := chat_shape(o))]
    format_keys = (
        dict.fromkeys(turn_lists) if fmt in TURN_FIELDS and turn_lists else _FORMAT_KEYS.get(fmt, ())
    )
    fields = [*format_keys, *([label_field] if label_field else [])]
    if settings.text_field:
        fields.append(settings.text_field)
    # A dotted path is read from its first key, or from a key holding the dots (get_path).
    tops = dict.fromkeys(key for f in fields for key in (f.split(".")[0], f))
    return tuple(orjson.dumps(k) for k in tops)


# A letter, digit or underscore spelt as a \u escape: JSON writers never escape these
# (Go's escapes <, > and &, which stay out), so a key spelt so ("\u006cabel") may repeat
# one the byte counts see under its plain spelling.
_ESCAPED_ASCII = re.compile(rb"\\u00(?:3[0-9]|4[1-9a-fA-F]|5[0-9aAfF]|6[1-9a-fA-F]|7[0-9aA])")


def _differ(a: Any, b: Any) -> bool:
    """Two values differ as JSON: 1, 1.0 and true are three (Python's == holds them equal,
    and the one kept would be written for the other)."""
    if a != b:
        return True
    try:
        return orjson.dumps(a) != orjson.dumps(b)
    except TypeError:  # an integer past 64 bits
        return json.dumps(a) != json.dumps(b)


class _Object(dict):
    """A JSON object as parsed for `_duplicate_keys`, with the keys it held twice with
    different values (and the two values)."""

    repeated: dict[str, tuple[Any, Any]]


def _duplicate_keys(raw: bytes, nested: bool = False, paths: tuple[tuple[str, ...], ...] = ()) -> str | None:
    """Why a record whose keys repeat cannot be trusted: the first top-level key given
    twice with different values (JSON parsers keep the last one silently), or a key of
    one of `paths` (a dotted label or text field) inside it. Keys of the other objects
    inside (chat turns, metadata) are judged only with `nested`: a JSONL line is written
    as read, so its repeats lose nothing, and which lines are parsed here depends on
    counts, so a nested repeat must not count in some lines only."""
    inner: list[str] = []

    def said(key: str, values: tuple[Any, Any]) -> str:
        return f"duplicate key '{key}' with different values ({values[0]!r}, then {values[1]!r})"

    def pairs(items: list[tuple[str, Any]]) -> dict:
        seen = _Object()
        seen.repeated = {}
        for key, value in items:
            if key in seen and _differ(seen[key], value) and key not in seen.repeated:
                seen.repeated[key] = (seen[key], value)
            seen[key] = value
        if nested and seen.repeated and not inner:
            inner.append(said(*next(iter(seen.repeated.items()))))
        return seen

    try:
        top = json.loads(raw, object_pairs_hook=pairs)
    except ValueError:
        return None
    except RecursionError:  # valid JSON (orjson read it), nested past Python's parser
        return "nested too deeply to check its keys for repeats"
    if not isinstance(top, _Object):
        return None
    if top.repeated:
        return said(*next(iter(top.repeated.items())))
    for path in paths:
        value: Any = top
        for depth, part in enumerate(path):
            if not isinstance(value, _Object):
                break
            if part in value.repeated:
                return said(".".join(path[: depth + 1]), value.repeated[part])
            value = value.get(part)
    if inner:
        return f"{inner[0]} inside the record"
    return None


def _spellings(name: str) -> tuple[bytes, ...]:
    """A key as JSON writers spell it: in UTF-8 and, for one that is not ASCII, in \\u
    escapes too (Python's json.dump writes "cat\\u00e9gorie" by default)."""
    plain = orjson.dumps(name)
    escaped = json.dumps(name).encode()
    return (plain,) if escaped == plain else (plain, escaped)


# Counted beside '":' (see _key_ends): a key's end with whitespace before its colon, and a
# quote or a colon spelt as a \u escape (two searches: one of either is 2-3x slower).
_SPACED_KEY_END = re.compile(rb'"[ \t\r\n]+:')
_ESCAPED_QUOTE_OR_COLON = re.compile(rb"\\u00(?:22|3[aA])")


def _key_ends(data: bytes) -> int:
    """How many keys `data` spells, plus at least how many times its strings hold a quote
    just before a colon. A key ends with a quote and a colon, whitespace allowed between;
    inside a string such a pair is spelt \\": (counted as a key's end is) or with a \\u
    escape for either character (each escape counted once: never fewer than the pairs)."""
    return data.count(b'":') + sum(
        1 for pattern in (_SPACED_KEY_END, _ESCAPED_QUOTE_OR_COLON) for _ in pattern.finditer(data)
    )


_VALUE_MARK = re.compile(r'["\\\[\]{}]')


def _value_end(text: str, pos: int) -> int:
    """Where the JSON array or object starting at `pos` ends, by its brackets outside
    strings (for one nested past what Python's parser reads)."""
    depth, in_string, at = 0, False, pos
    while match := _VALUE_MARK.search(text, at):
        mark, at = match.group(), match.end()
        if in_string:
            if mark == "\\":
                at += 1  # the escaped character, whatever it is
            elif mark == '"':
                in_string = False
        elif mark == '"':
            in_string = True
        elif mark in "[{":
            depth += 1
        elif mark in "]}":
            depth -= 1
            if depth == 0:
                return at
    return len(text)


class _ArrayTexts:
    """The items of a JSON array as its file spells them, by index: walked once, on the
    first call (only a record that cannot be written as JSON again asks)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.texts: list[bytes] | None = None

    def __call__(self, i: int) -> bytes:
        if self.texts is None:
            self.texts = [record for record, _ in _array_items(self.data)]
        return self.texts[i]


def _array_items(data: bytes) -> Iterator[tuple[bytes, bool]]:
    """Each item of a JSON array (`data`, without its byte order mark; orjson read it, so
    it is valid) as the file spells it, and whether it is nested past Python's parser (its
    end then found by its brackets)."""
    text = data.decode()
    decoder, gap = json.JSONDecoder(), re.compile(r"[\s,]*")
    pos = text.index("[") + 1
    while (pos := gap.match(text, pos).end()) < len(text) and text[pos] != "]":  # type: ignore[union-attr]
        try:
            end, deep = decoder.raw_decode(text, pos)[1], False
        except RecursionError:
            end, deep = _value_end(text, pos), True
        yield text[pos:end].encode(), deep
        pos = end


def _array_repeats(data: bytes, items: list[Any]) -> dict[int, tuple[str, bytes]]:
    """The records of a JSON array (`data`, without its byte order mark) whose keys repeat
    with different values, at any depth, by index: the reason (`_duplicate_keys`) and
    the record's text as in the file.

    A parser keeps the last value silently, and the records are written as parsed, so
    this is the one chance to see it, and to set the record aside whole. Written back
    compactly, the parsed records hold every key they kept once; when the file has no
    more key ends (`_key_ends`) than that, no key was dropped, at no depth (0.5 s per
    100 MB of chat records). Else the array is walked record by record (2.5 s per 100 MB).
    """
    try:
        # orjson spells each key's end and each quote-colon pair in a string '":'.
        if _key_ends(data) <= orjson.dumps(items).count(b'":'):
            return {}
    except TypeError:  # an integer past 64 bits (see _exact_json): walked
        pass
    found: dict[int, tuple[str, bytes]] = {}
    for i, ((record, deep), item) in enumerate(zip(_array_items(data), items)):
        if deep:
            found[i] = ("nested too deeply to check its keys for repeats", record)
        elif type(item) is dict and (why := _duplicate_keys(record, nested=True)):
            found[i] = (why, record)
    return found


def _extractor(fmt: str, settings: LoadSettings) -> Callable[[dict], Extracted]:
    """How records of this format give their text (the field --text-field names, for "custom")."""
    return custom_extractor(settings.text_field) if settings.text_field else EXTRACTORS[fmt]


def _schema(info: InputFile, sample: list[dict], settings: LoadSettings) -> _FileSchema:
    fmt = "custom" if settings.text_field else settings.format or detect_format(sample[:_DETECT_SAMPLE]) or ""
    if not fmt:
        keys = sorted({k for obj in sample[:_DETECT_SAMPLE] for k in obj})[:12]
        raise InputError(
            f"{info.path}: cannot tell the format (keys: {', '.join(keys) or 'none'}); "
            f"expected one of {', '.join(FORMATS)}, or pass --text-field"
        )
    label_field = settings.label_field or "label"
    id_field = settings.id_field or "id"
    schema = _FileSchema(
        fmt=fmt,
        extract=_extractor(fmt, settings),
        label_field=label_field,
        has_label=settings.labels and any(get_path(o, label_field, None) is not None for o in sample),
        id_field=id_field,
        has_id=any(get_path(o, id_field, None) is not None for o in sample[:_DETECT_SAMPLE]),
        group_fields=settings.group_fields,
        has_split_field=any("split" in o for o in sample),
        name_split=split_from_name(info.path),
        read_keys=_read_keys(fmt, settings, label_field if settings.labels else None, sample),
        read_paths=tuple(
            tuple(f.split("."))
            for f in dict.fromkeys([label_field if settings.labels else "", settings.text_field or ""])
            if "." in f
        ),
    )
    info.format = fmt
    info.fields = {
        "text": settings.text_field or fmt,
        "label": label_field if schema.has_label else None,
        "id": id_field if schema.has_id else None,
        "group": ", ".join(settings.group_fields) or None,
        "split": SPLIT_FIELD
        if schema.has_split_field
        else (f"file name: {schema.name_split}" if schema.name_split else None),
    }
    return schema


def _frame(
    sch: _FileSchema,
    lines: list[int],
    raws: list[bytes],
    objs: list[dict],
    extracted: list[Extracted],
    labels: list[Any],
    kinds: list[str | None],
    offsets: list[int] | None,
) -> pl.DataFrame:
    """One chunk's frame from its good records, a column at a time."""
    n = len(objs)
    raw = pl.Series(raws, dtype=pl.Binary)
    # Transposed in one pass: a list per field of Extracted.
    text, prompt, reply, turns, shape, system = map(list, zip(*extracted)) if n else ([],) * 6
    cols: dict[str, Any] = {
        "line": lines,
        "text": text,
        "prompt": [None if p is t else p for p, t in zip(prompt, text)],  # see PROMPT_SIDE
        "reply": reply,
        "turns": turns if max(turns, default=0) <= 65535 else [min(t, 65535) for t in turns],
        "shape": shape,
        "system": system,
        "label": labels,
        "kind": kinds,
        "id": _strings(objs, sch.id_field) if sch.has_id else [None] * n,
        "groups": [None] * n,
        "split": [_split_of(o.get("split"), sch.name_split) for o in objs]
        if sch.has_split_field
        else [sch.name_split] * n,
        # A line in a file is read back from there; only other records are kept here.
        "offset": offsets if offsets is not None else [None] * n,
        "length": raw.bin.size(),
        "raw": [None] * n if offsets is not None else raw,
        "line_hash": hash_lines(raw),
    }
    frame = pl.DataFrame(cols, schema=_CHUNK_SCHEMA)
    derived = {"prompt": pl.when(pl.col("prompt") != DERIVED_PROMPT).then("prompt")}
    if sch.group_fields:
        # One string column per group field, joined into lists by Polars: building a
        # list per row in Python costs a Series construction each.
        values = [_group_values(objs, f) for f in sch.group_fields]
        # "field=value", so equal values of different fields never join two groups.
        groups = pl.concat_list(
            [
                pl.lit(v).list.eval(pl.lit(f"{f}=") + pl.element())
                if v.dtype == pl.List(pl.String)
                else pl.lit(f"{f}=") + pl.lit(v)
                for f, v in zip(sch.group_fields, values)
            ]
        )
        # A row without a value has a null there. Dropping nulls from every list costs
        # 8x building them (20k rows: 4.3 ms), so it is done only when there are some.
        derived["groups"] = groups.list.drop_nulls() if any(v.has_nulls() for v in values) else groups
    return frame.with_columns(**derived)


def _set_aside_duplicate_keys(recs: _Records, sch: _FileSchema) -> list[BadLine]:
    """Lines where the label or text key appears twice with different values: set aside
    (which value is meant?). A key's occurrences are counted over the whole chunk at
    once; only when there are more than the rows holding it are lines looked at one by
    one, and only those where the name appears twice are parsed again, as are lines
    with a key spelt in escapes (which the counts cannot see). A chat turn's own keys
    are not counted: a count each for role and content made a block's load a sixth
    slower (docs/BENCHMARKS.md, tenth); a repeated one keeps its last value, as
    training libraries read it."""
    joined = b"\n".join(recs.raws)
    suspects: set[int] = set()
    for key in sch.read_keys:
        name = orjson.loads(key)
        spelt = _spellings(name)
        if sum(joined.count(s) for s in spelt) > sum(name in o for o in recs.objs):
            suspects.update(i for i, raw in enumerate(recs.raws) if sum(raw.count(s) for s in spelt) > 1)
    for path in sch.read_paths:
        # Inside an object a chunk-wide count cannot say which lines hold the key once (a
        # record without it hid another's repeat): each line is counted, in C.
        spelt = _spellings(path[-1])
        suspects.update(i for i, raw in enumerate(recs.raws) if sum(raw.count(s) for s in spelt) > 1)
    if _ESCAPED_ASCII.search(joined):
        suspects.update(i for i, raw in enumerate(recs.raws) if _ESCAPED_ASCII.search(raw))
    dropped = {
        i: why for i in sorted(suspects) if (why := _duplicate_keys(recs.raws[i], paths=sch.read_paths))
    }
    if not dropped:
        return []
    bad = [(recs.lines[i], why, True, recs.raws[i]) for i, why in dropped.items()]
    keep = [i for i in range(len(recs.objs)) if i not in dropped]
    recs.lines = [recs.lines[i] for i in keep]
    recs.raws = [recs.raws[i] for i in keep]
    recs.objs = [recs.objs[i] for i in keep]
    if recs.offsets is not None:
        recs.offsets = [recs.offsets[i] for i in keep]
    return bad


def _group_values(objs: list[dict], path: str) -> pl.Series:
    """One group field of every record: a string each; or, where some record holds a
    list there (a row of two users), a list each, so that `["u1"]` is the group "u1" and
    a row of ["u1", "u2"] joins both groups, not a third group named by its JSON."""
    found = _values(objs, path)
    if not any(type(v) is list for v in found):
        return _no_blank(pl.Series([v if type(v) is str else _scalar(v) for v in found], dtype=pl.String))
    return pl.Series([_group_list(v) for v in found], dtype=pl.List(pl.String))


def _group_list(value: Any) -> list[str]:
    items = value if type(value) is list else [value]
    texts = (e if type(e) is str else _scalar(e) for e in items)
    return [t for t in texts if t is not None and t.strip() not in _BLANK_VALUES]


_BLANK_VALUES = ("", "[]", "{}")


def _no_blank(values: pl.Series) -> pl.Series:
    """Group values with blank ones (an empty CSV cell, "", [], {}) as missing: blank is
    no value, and as a value it joined every such row into one group."""
    blank = values.str.strip_chars().is_in(_BLANK_VALUES).fill_null(False)
    return values.scatter(blank.arg_true(), None) if blank.any() else values


def _extract(recs: _Records, sch: _FileSchema) -> tuple[pl.DataFrame, list[BadLine]]:
    """Text, prompt, label (with its JSON type), id, groups and split of one chunk of records.

    The common chunk, with no bad record and string labels, is handled a column at a
    time (about twice as fast); any surprise sends the chunk through the row loop, which
    sets bad records aside with their reason.
    """
    repeated = _set_aside_duplicate_keys(recs, sch)
    frame, bad = _extract_fields(recs, sch)
    return frame, repeated + bad


def _extract_fields(recs: _Records, sch: _FileSchema) -> tuple[pl.DataFrame, list[BadLine]]:
    objs = recs.objs
    media = MEDIA_PARTS.seen
    try:
        extracted = [sch.extract(o) for o in objs]
        labels: list[Any] = [None] * len(objs)
        if sch.has_label:
            labels = _values(objs, sch.label_field)
        if not sch.has_label or all(type(v) is str and v.strip() for v in labels):
            kinds = ["str" if sch.has_label else None] * len(objs)
            return _frame(sch, recs.lines, recs.raws, objs, extracted, labels, kinds, recs.offsets), []
    except BadRecord:
        pass
    MEDIA_PARTS.seen = media  # the loop below extracts these rows again (and counts their media)
    good: list[int] = []
    extracted, labels, kinds = [], [], []
    bad: list[BadLine] = []
    for i, obj in enumerate(objs):
        try:
            fields = sch.extract(obj)
            label = kind = None
            if sch.has_label:
                value = get_path(obj, sch.label_field, None)
                if value is None:
                    raise BadRecord(f"missing label '{sch.label_field}'")
                label, kind = _label(value)
        except BadRecord as exc:
            bad.append((recs.lines[i], str(exc), True, recs.raws[i]))
            continue
        good.append(i)
        extracted.append(fields)
        labels.append(label)
        kinds.append(kind)
    pick = [recs.lines[i] for i in good], [recs.raws[i] for i in good], [objs[i] for i in good]
    offsets = [recs.offsets[i] for i in good] if recs.offsets is not None else None
    return _frame(sch, *pick, extracted, labels, kinds, offsets), bad


_CHUNK_SCHEMA: dict[str, pl.DataType] = {
    "line": pl.UInt32(),
    "text": pl.String(),
    "prompt": pl.String(),
    "reply": pl.UInt32(),
    "turns": pl.UInt16(),
    "shape": pl.UInt8(),
    "system": pl.Categorical(),
    "label": pl.String(),
    "kind": pl.String(),
    "id": pl.String(),
    "groups": pl.List(pl.String()),
    "split": pl.String(),
    "offset": pl.UInt64(),
    "length": pl.UInt32(),
    "raw": pl.Binary(),
    "line_hash": pl.UInt64(),
}


@dataclass
class _FilePart:
    """Rows and bad lines read from one file, or from one block of it, before the
    file-wide checks (mixed label types, empty texts) run."""

    rows: pl.DataFrame
    bad: list[BadLine]
    late: Counter[str]  # "label"/"split": rows carrying a field the first records do not (_late_fields)
    records: int
    schema: _FileSchema | None
    media: int = 0  # image, audio and file parts left out of chat texts

    # A block read on a worker process comes back pickled. Its rows go as Arrow IPC:
    # Polars' own pickle took 2.2x as long to write and 2.8x as long to read (200k chat
    # rows: 0.15 + 0.09 s against 0.07 + 0.03 s), and the reading is the parent's.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        buffer = io.BytesIO()
        self.rows.write_ipc(buffer, compression="uncompressed")
        state["rows"] = buffer.getvalue()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["rows"] = pl.read_ipc(state["rows"])
        self.__dict__.update(state)


def _read_records(
    info: InputFile,
    chunks: Iterator[_Records],
    settings: LoadSettings,
    tick: Callable[[], None],
    schema: _FileSchema | None = None,
) -> _FilePart:
    """Every chunk's rows and bad lines; the schema comes from the first records unless given."""
    with collector_paused():
        return _read_chunks(info, chunks, settings, tick, schema)


def _read_chunks(
    info: InputFile,
    chunks: Iterator[_Records],
    settings: LoadSettings,
    tick: Callable[[], None],
    schema: _FileSchema | None,
) -> _FilePart:
    bad: list[BadLine] = []
    frames: list[pl.DataFrame] = []
    pending: list[_Records] = []
    late: Counter[str] = Counter()
    records = 0
    media_before = MEDIA_PARTS.seen
    for recs in chunks:
        tick()
        bad += recs.bad
        records += len(recs.objs) + sum(1 for b in recs.bad if b[2])
        if schema is None:
            pending.append(recs)
            if not recs.objs:
                continue
            schema = _schema(info, recs.objs, settings)
        else:
            late.update(_late_fields(recs.objs, schema, settings))
        for part in pending or [recs]:
            frame, extract_bad = _extract(part, schema)
            frames.append(frame)
            bad += extract_bad
        pending = []
    rows = pl.concat(frames, rechunk=False) if frames else pl.DataFrame(schema=_CHUNK_SCHEMA)
    return _FilePart(rows, bad, late, records, schema, MEDIA_PARTS.seen - media_before)


def _late_fields(objs: list[dict], schema: _FileSchema, settings: LoadSettings) -> dict[str, int]:
    """How many of these records carry a label or split field that the file's first
    records do not: the schema came from those, so the field is not read in this file,
    and the person must be told rather than have it ignored without a word."""
    late = {}
    if not schema.has_label and settings.labels:
        late["label"] = sum(1 for o in objs if get_path(o, schema.label_field, None) is not None)
    if not schema.has_split_field:
        # Only values that would name a split: a null or blank one names none.
        late["split"] = sum(1 for o in objs if _split_of(o.get("split"), None) is not None)
    return {kind: n for kind, n in late.items() if n}


def _finish_file(info: InputFile, part: _FilePart) -> tuple[pl.DataFrame, list[BadLine]]:
    """The file-wide checks over all of a file's rows; the rows and bad lines that result."""
    rows, bad, schema = part.rows, part.bad, part.schema
    info.records += part.records
    if part.media:
        info.notes.append(
            f"{info.name}: {part.media:,} image, audio or file content parts were left out of the "
            "texts (their rows are kept and written whole)"
        )
    if schema is None:
        # A notice (a byte order mark) is no problem: name the first line set aside.
        problem = next((b for b in bad if b[2]), None)
        first = f" (first problem, line {problem[0]}: {problem[1]})" if problem else " (it holds none)"
        raise InputError(f"{info.path}: no readable records{first}")
    for kind, n in part.late.items():
        name, use = (
            (schema.label_field, "labels were") if kind == "label" else ("split", "the split field was")
        )
        info.notes.append(
            f"{info.name}: {many(n, 'row')} after the first {_PARSE_CHUNK:,} "
            f"{'carries' if n == 1 else 'carry'} '{name}' but the first "
            f"ones do not; {use} not used for this file"
        )
    # Integer class ids are fine when a file uses them throughout; mixed with strings
    # they are almost always a mistake ("1" vs 1 would become two classes).
    kinds = rows["kind"].value_counts()
    if kinds.drop_nulls().height > 1:
        n = dict(zip(kinds["kind"].to_list(), kinds["count"].to_list()))
        keep = "str" if n.get("str", 0) >= n.get("int", 0) else "int"
        word, other = ("an integer", "strings") if keep == "str" else ("a string", "integers")
        odd = rows.filter(pl.col("kind") != keep)
        reason = f"label is {word} while the file's other labels are {other}"
        bad += [(ln, reason, True, raw) for ln, raw in zip(odd["line"], _lines_of(info, odd))]
        rows = rows.filter(pl.col("kind") == keep)
    # Empty text (possible with --text-field) is found in one vectorised pass that,
    # unlike stripping, does not copy every text.
    empty = rows["text"].str.contains(r"^\s*$")
    if empty.any():
        odd = rows.filter(empty)
        bad += [(ln, "empty text", True, raw) for ln, raw in zip(odd["line"], _lines_of(info, odd))]
        rows = rows.filter(~empty)
    bad.sort(key=lambda b: b[0])
    if not rows.height:
        raise InputError(_nothing_usable(info, schema, bad))
    return rows.drop("kind"), bad


_FORMAT_NAMES = {
    "chat": "chat messages",
    "sharegpt": "ShareGPT",
    "alpaca": "Alpaca",
    "prompt_completion": "prompt/completion",
    "text": "text",
}


def _nothing_usable(info: InputFile, schema: _FileSchema, bad: list[BadLine]) -> str:
    """Why a file that parsed gave no row at all, in one line: an error, not a quiet 0."""
    how = _FORMAT_NAMES.get(schema.fmt, schema.fmt)
    if schema.fmt == "custom":
        how = "the field given by --text-field"
    first = next((b for b in bad if b[2]), None)
    why = f": line {first[0]}: {first[1]}" if first else ""
    return f"{info.path}: 0 of {info.records:,} records usable (read as {how}{why})"


def _lines_of(info: InputFile, rows: pl.DataFrame) -> list[bytes | None]:
    """The lines of some of a file's rows, before they are set aside as bad lines."""
    return read_lines(rows.with_columns(file=pl.lit(info.name)), {info.name: info.source})


def _display_names(paths: list[Path]) -> list[str]:
    """Base names, or the paths as given where two inputs share a base name."""
    names = [p.name for p in paths]
    counts = Counter(names)
    return [n if counts[n] == 1 else str(p) for n, p in zip(names, paths)]


def read_file(
    path: Path, name: str, settings: LoadSettings, tick: Callable[[float], None] | None = None
) -> tuple[InputFile, pl.DataFrame, pl.DataFrame]:
    """One input file read whole: what it is, its rows (without row and key) and its bad lines."""
    regular_file(path)
    with _reading(path), path.open("rb") as handle:
        head = handle.read(_READ_BLOCK)
        found = os.fstat(handle.fileno())
    if not plain_jsonl(path, head):
        return _read_whole(path, name, settings, found, tick)
    size = found.st_size
    info = InputFile.plain_jsonl(path, name, found)
    digest = hashlib.sha256()
    done = [0]
    # sha256 releases the GIL: one worker hashes each block while the next is parsed.
    with ThreadPoolExecutor(max_workers=1) as hasher:

        def blocks() -> Iterator[bytes]:
            with _reading(path):
                for block in read_blocks(path):
                    hasher.submit(digest.update, block)
                    done[0] += len(block)
                    yield block

        def chunk_tick() -> None:
            # Also where a cancelled worker's progress callback can stop the load.
            if tick:
                tick(_READ_SHARE * min(1.0, done[0] / max(size, 1)))

        chunks = _parse_jsonl_stream(blocks(), settings.max_row_bytes, offsets=True)
        frame, bad = _finish_file(info, _read_records(info, chunks, settings, chunk_tick))
    info.sha256 = digest.hexdigest()
    return info, *file_frames(info, frame, bad)


def _read_whole(
    path: Path,
    name: str,
    settings: LoadSettings,
    found: os.stat_result,
    tick: Callable[[float], None] | None = None,
) -> tuple[InputFile, pl.DataFrame, pl.DataFrame]:
    """A compressed or non-JSONL file: read and decompressed whole, then parsed.

    `found` is the file as it was opened: its size and modification time are what export
    checks the file against before it copies the rows (see rawlines.Source.changed).
    """
    stored, data, compression = _read_bytes(path, settings)
    _refuse_other_encodings(path, data[:32])
    info = InputFile(
        path=str(path),
        name=name,
        sha256=hashlib.sha256(stored).hexdigest(),
        size=len(stored),
        container=_container(path, data),
        compression=compression,
        mtime_ns=found.st_mtime_ns,
    )
    del stored
    lines = data.count(b"\n") if info.container == "jsonl" else 1
    counter = itertools.count()

    def chunk_tick() -> None:
        if tick:
            tick(_READ_SHARE * min(1.0, next(counter) * _PARSE_CHUNK / max(lines, 1)))

    chunks = _parse(path, info.container, data, settings.max_row_bytes, info.notes)
    del data  # the parser holds the only reference
    frame, bad = _finish_file(info, _read_records(info, chunks, settings, chunk_tick))
    return info, *file_frames(info, frame, bad)


# --- large files in byte blocks ----------------------------------------------------
# Parsing holds the GIL, so a large JSONL file is read in byte blocks on worker
# processes (here, or on Dask's workers), with the rows and bad lines reading it whole
# gives. Below PROCESS_MIN_BYTES a file loads in about a second, less than starting
# workers costs.
BLOCK_BYTES = 32 << 20
PROCESS_MIN_BYTES = 128 << 20


@dataclass
class FilePlan:
    """How one input is read: whole, or in byte blocks with the schema its first records tell."""

    path: Path
    name: str
    info: InputFile | None = None
    schema: _FileSchema | None = None
    blocks: list[tuple[int, int]] = field(default_factory=list)


def plan_file(path: Path, name: str, settings: LoadSettings, block_bytes: int | None = None) -> FilePlan:
    """Blocks for an uncompressed JSONL file larger than one block whose first records
    tell its schema; otherwise no blocks (the file is read whole, which reports any
    problem)."""
    plan = FilePlan(path, name)
    block_bytes = block_bytes or BLOCK_BYTES
    try:
        found = path.stat()
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
        if found.st_size <= block_bytes or not plain_jsonl(path, head):
            return plan
    except (OSError, InputError):
        return plan
    info = InputFile.plain_jsonl(path, name, found)
    with path.open("rb") as handle:
        first = b"".join(itertools.islice(handle, _PARSE_CHUNK))
    recs = next(_parse_jsonl(first, settings.max_row_bytes), None)
    if recs is None or not recs.objs:
        return plan
    plan.schema = _schema(info, recs.objs, settings)
    plan.info = info
    plan.blocks = byte_blocks(path, found.st_size, block_bytes)
    return plan


def byte_blocks(path: Path, size: int, block_bytes: int) -> list[tuple[int, int]]:
    """Byte ranges of about `block_bytes`, each ending just after a newline (or at the end)."""
    cuts = [0]
    with path.open("rb") as handle:
        while cuts[-1] + block_bytes < size:
            handle.seek(cuts[-1] + block_bytes)
            handle.readline()
            if handle.tell() >= size:
                break
            cuts.append(handle.tell())
    return list(itertools.pairwise([*cuts, size]))


def read_block(
    path: Path, lo: int, hi: int, schema: _FileSchema, settings: LoadSettings
) -> tuple[_FilePart, int]:
    """One block's rows and bad lines (line numbers and byte offsets within the block),
    and its newline count. A schema sent without its extractor (a --text-field one is a
    closure, which does not pickle) gets it back here."""
    if schema.extract is None:
        schema = replace(schema, extract=_extractor(schema.fmt, settings))
    with _reading(path), path.open("rb") as handle:
        handle.seek(lo)
        data = handle.read(hi - lo)
    lines = data.count(b"\n")
    stub = InputFile(path=str(path), name="", sha256="", size=0, container="jsonl", compression=None)
    chunks = _parse_jsonl(data, settings.max_row_bytes, offsets=True, file_start=lo == 0)
    del data
    part = _read_records(stub, chunks, settings, lambda: None, schema)
    part.schema = None  # the caller has it (and a --text-field extractor does not pickle)
    return part, lines


def join_blocks(
    plan: FilePlan, parts: list[tuple[_FilePart, int]], sha256: str | None = None
) -> tuple[InputFile, pl.DataFrame, pl.DataFrame]:
    """A file's blocks as one file: line numbers and byte offsets made file-wide, then
    the file-wide checks. `sha256` is the file's, when the caller hashed it already."""
    info = plan.info
    assert info is not None
    first_lines = np.cumsum([0] + [lines for _, lines in parts[:-1]]).tolist()
    frames, bad = [], []
    late: Counter[str] = Counter()
    records = media = 0
    for (part, _), first, (lo, _) in zip(parts, first_lines, plan.blocks):
        frames.append(part.rows.with_columns(line=pl.col("line") + first, offset=pl.col("offset") + lo))
        bad += [(line + first, *rest) for line, *rest in part.bad]
        late.update(part.late)
        records += part.records
        media += part.media
    joined = _FilePart(pl.concat(frames), bad, late, records, plan.schema, media)
    rows, bad_lines = _finish_file(info, joined)
    info.sha256 = sha256 or file_sha256(plan.path)
    return info, *file_frames(info, rows, bad_lines)


def file_frames(info: InputFile, rows: pl.DataFrame, bad: list[BadLine]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A file's rows tagged with its name, and its bad lines as a frame; counts noted on `info`."""
    bad_frame = pl.DataFrame(
        {
            "file": [info.name] * len(bad),
            "line": [b[0] for b in bad],
            "reason": [b[1] for b in bad],
            "excluded": [b[2] for b in bad],
            "raw": [b[3] for b in bad],
        },
        schema=BAD_SCHEMA,
    )
    info.rows = rows.height
    info.bad = sum(1 for b in bad if b[2])
    info.count_unread(bad, first_line=2)
    info.blank = sum(1 for b in bad if b[2] and b[1] == BLANK_LINE)
    if info.mostly_set_aside:
        info.notes.append(
            f"most of {info.name} was set aside: {info.set_aside} (see the bad lines; is the format right?)"
        )
    return rows.with_columns(file=pl.lit(info.name, dtype=pl.String)), bad_frame


def load(
    paths: list[str | os.PathLike[str]],
    settings: LoadSettings | None = None,
    progress: Progress = no_progress,
    engine: Engine = LOCAL,
) -> Dataset:
    """Read every input into one frame; raise InputError for a file that cannot be read.

    Large plain JSONL files are read in byte blocks side by side: on worker processes
    here, as tasks on a cluster engine (which reads every plain JSONL file so, from a
    path its workers see). The rest is read whole: here, or as one task per file.
    """
    settings = settings or LoadSettings()
    files, names = check_inputs(paths, settings)
    progress(Stage.LOAD, 0.0)
    plans = [_plan(path, name, settings, engine) for path, name in zip(files, names)]
    read: list[Any] = [None] * len(plans)
    blocked = [i for i, plan in enumerate(plans) if plan.blocks]
    share = len(blocked) / len(plans)
    if blocked:
        done = _read_blocked(
            [plans[i] for i in blocked], settings, engine, lambda f: progress(Stage.LOAD, share * f)
        )
        for i, one in zip(blocked, done):
            read[i] = one
    whole = [i for i, plan in enumerate(plans) if not plan.blocks]
    rest = lambda f: progress(Stage.LOAD, share + (1 - share) * f)  # noqa: E731
    if engine.runs_here:
        done = _read_here([plans[i] for i in whole], settings, rest)
    else:
        tasks = [engine.submit(read_file, files[i], names[i], settings, None) for i in whole]
        done = engine.gather(tasks, rest)
    for i, one in zip(whole, done):
        read[i] = one
    progress(Stage.LOAD, 1.0)
    return combine(read, settings)


def _plan(path: Path, name: str, settings: LoadSettings, engine: Engine) -> FilePlan:
    """The file in blocks when reading it side by side pays; else a plan without blocks."""
    if not engine.runs_here:
        return plan_file(path, name, settings, engine.block_bytes)
    try:
        large = path.stat().st_size >= PROCESS_MIN_BYTES
    except OSError:
        large = False  # read_file reports it
    if min(cores(), 4) < 2 or not large:
        return FilePlan(path, name)
    plan = plan_file(path, name, settings)
    return plan if len(plan.blocks) > 1 else FilePlan(path, name)


def _read_here(
    plans: list[FilePlan], settings: LoadSettings, tick: Callable[[float], None]
) -> list[tuple[InputFile, pl.DataFrame, pl.DataFrame]]:
    """The files read whole in this process, one after another, with progress over all."""
    read = []
    for k, plan in enumerate(plans):

        def within(fraction: float, k: int = k) -> None:
            tick((k + fraction) / len(plans))

        read.append(read_file(plan.path, plan.name, settings, within))
    return read


def _read_blocked(
    plans: list[FilePlan], settings: LoadSettings, engine: Engine, tick: Callable[[float], None]
) -> list[tuple[InputFile, pl.DataFrame, pl.DataFrame]]:
    """The planned files' blocks read side by side while this process hashes the files."""
    calls = []
    for plan in plans:
        assert plan.schema is not None
        schema = replace(plan.schema, extract=None)  # made again where it is used (see read_block)
        calls += [(plan.path, lo, hi, schema, settings) for lo, hi in plan.blocks]

    def digests() -> list[str]:
        out = []
        for plan in plans:
            with _reading(plan.path):
                out.append(file_sha256(plan.path))
        return out

    parsed = lambda f: tick(_READ_SHARE * f)  # noqa: E731
    if engine.runs_here:
        try:
            parts, sha256 = map_on_workers(read_block, calls, min(cores(), 4), digests, parsed)
        except WorkerError as exc:  # the same rows, read the slower way
            read = _read_here(plans, settings, tick)
            for one, plan in zip(read, plans):
                one[0].notes.append(f"{plan.name}: read in this process ({exc})")
            return read
    else:
        tasks = [engine.submit(read_block, *call) for call in calls]
        sha256 = digests()
        parts = engine.gather(tasks, parsed)
    out, at = [], 0
    for plan, digest in zip(plans, sha256):
        out.append(join_blocks(plan, parts[at : at + len(plan.blocks)], digest))
        at += len(plan.blocks)
    return out


def check_inputs(paths: list[str | os.PathLike[str]], settings: LoadSettings) -> tuple[list[Path], list[str]]:
    """The input paths and their display names; raises InputError for a bad request."""
    if not paths:
        raise InputError("no input files given")
    if settings.format and settings.format not in FORMATS:
        raise InputError(f"unknown format '{settings.format}' (expected one of {', '.join(FORMATS)})")
    files = [f for p in paths for f in (dataset_folder(Path(p)) if _is_dir(Path(p)) else [Path(p)])]
    seen: dict[tuple[int, int], Path] = {}
    for path in files:
        _utf8_name(path)
        regular_file(path)
        # By device and inode: a hard link is the same file under another name.
        found = path.stat()
        same = seen.setdefault((found.st_dev, found.st_ino), path)
        if same is not path:
            # Its rows would all be exact duplicates of themselves, under the same keys.
            again = f"{path}" if str(same) == str(path) else f"{same} and {path}"
            raise InputError(f"{again}: the same file is given twice; give each file once")
    return files, _display_names(files)


def not_utf8(path: str | os.PathLike[str]) -> tuple[str, int] | None:
    """For a path that is not UTF-8 (bytes Python holds as surrogates), the path as shown
    (those bytes as \\xNN) and its first such byte; None for a UTF-8 path. Reports, row
    keys, journals and manifests are UTF-8 JSON and cannot hold it."""
    raw = os.fsencode(path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return raw.decode("utf-8", "backslashreplace"), raw[exc.start]
    return None


def _utf8_name(path: Path) -> None:
    """Refuse an input path that is not UTF-8: its name is in every row key."""
    if bad := not_utf8(path):
        shown, byte = bad
        raise InputError(f"{shown}: the path is not valid UTF-8 (byte 0x{byte:02x}); rename it to read it")


def _is_dir(path: Path) -> bool:
    with _reading(path):  # is_dir() is False for most errors, not for a name too long
        return path.is_dir()


def dataset_folder(folder: Path) -> list[Path]:
    """The Arrow files of a Hugging Face dataset folder: `save_to_disk` of a Dataset (its
    state.json names them) or of a DatasetDict (dataset_dict.json names its splits, each a
    Dataset folder; the split is the folder's name)."""
    try:
        if (folder / "dataset_dict.json").is_file():
            splits = orjson.loads((folder / "dataset_dict.json").read_bytes()).get("splits")
            if (
                not isinstance(splits, list)
                or not splits
                or not all(isinstance(x, str) and Path(x).name == x for x in splits)
            ):
                raise InputError(f"{folder}: dataset_dict.json has no list of split folders")
            return [f for split in splits for f in dataset_folder(folder / split)]
        if (folder / "state.json").is_file():
            listed = orjson.loads((folder / "state.json").read_bytes()).get("_data_files")
            names = (
                [d.get("filename") for d in listed if isinstance(d, dict)] if isinstance(listed, list) else []
            )
            # Plain names only: a state.json never sends sfttui to read outside its folder.
            if not names or not all(
                isinstance(n, str) and Path(n).name == n and n not in (".", "..") for n in names
            ):
                raise InputError(f"{folder}: state.json lists no data files in its folder")
            return [folder / n for n in names]
    except (OSError, orjson.JSONDecodeError, AttributeError) as exc:
        raise InputError(f"{folder}: cannot read the dataset folder's metadata ({exc})") from None
    raise InputError(
        f"{folder}: is a directory, expected a data file or a Hugging Face dataset folder (save_to_disk)"
    )


def combine(read: list[tuple[InputFile, pl.DataFrame, pl.DataFrame]], settings: LoadSettings) -> Dataset:
    """One dataset from the files read: row numbers, keys, and the notes that span files."""
    inputs = [r[0] for r in read]
    rows = pl.concat([r[1] for r in read], how="vertical", rechunk=False)
    bad_lines = pl.concat([r[2] for r in read], how="vertical")
    notes: list[str] = [note for info in inputs for note in info.notes]
    key_source = "file:line"
    ids = rows["id"]
    if ids.null_count() < rows.height:
        id_names = sorted({f["id"] for f in (i.fields for i in inputs) if f.get("id")})
        if ids.null_count() == 0 and ids.n_unique() == rows.height:
            key_source = f"id field '{', '.join(id_names)}'"
        else:
            missing = ids.null_count()
            repeated = rows.height - missing - ids.drop_nulls().n_unique()
            notes.append(
                f"row keys are file:line because the id field is not usable "
                f"({many(missing, 'row')} without it, {many(repeated, 'repeated value')})"
            )
    elif settings.id_field:
        # Asked for by name and in no record: a misspelt field would pass unseen.
        notes.append(f"row keys are file:line: no record has the id field '{settings.id_field}'")
    file_line = pl.col("file") + pl.lit(":") + pl.col("line").cast(pl.String)
    rows = rows.with_columns(
        row=pl.int_range(pl.len(), dtype=pl.UInt32),
        key=pl.col("id") if key_source != "file:line" else file_line,
    ).select(list(ROW_SCHEMA))
    notes += _unknown_split_notes(rows) + _unrelated_label_notes(rows)
    if settings.group_fields:
        no_group = int((rows["groups"].list.len() == 0).sum())
        if no_group:
            names = ", ".join(settings.group_fields)
            notes.append(
                f"{many(no_group, 'row')} {'has' if no_group == 1 else 'have'} no value for {names}; "
                "each is its own group"
            )
    return Dataset(rows=rows, bad_lines=bad_lines, inputs=inputs, notes=notes, key_source=key_source)


def _unrelated_label_notes(rows: pl.DataFrame) -> list[str]:
    """A note when two or more labelled inputs share no label at all: the files are likely
    different tasks, and one balance (or one split) over them mixes them."""
    by_file = (
        rows.filter(pl.col("label").is_not_null())
        .group_by("file", maintain_order=True)
        .agg(pl.col("label").unique())
    )
    if by_file.height < 2:
        return []
    sets = [set(labels) for labels in by_file["label"].to_list()]
    if sum(len(s) for s in sets) != len(set().union(*sets)):
        return []  # some label is in two files
    files = ", ".join(f"{name} ({many(len(s), 'label')})" for name, s in zip(by_file["file"].to_list(), sets))
    return [f"the inputs share no label ({files}): balance and splits treat them as one task"]


def _unknown_split_notes(rows: pl.DataFrame) -> list[str]:
    """A note naming split values that are not train, validation or test (nor an alias)."""
    named = odd_split_values(rows)
    if not named:
        return []
    return [
        f"split values other than train, validation and test: {named}; the scan treats them as "
        "splits of their own, and writing splits needs them renamed or --resplit"
    ]


def odd_split_values(rows: pl.DataFrame) -> str:
    """The split values of `rows` (with `split` and `key`) that are not train, validation or
    test, each with its count and first row; "" when there are none."""
    odd = rows.filter(pl.col("split").is_not_null() & ~pl.col("split").is_in(list(SPLIT_ALIASES)))
    counts = odd.group_by("split").agg(n=pl.len(), first=pl.col("key").first()).sort("split")
    return ", ".join(f"'{s}' ({many(n, 'row')}, first {k})" for s, n, k in counts.iter_rows())
