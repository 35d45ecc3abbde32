"""Where each row's original line lives, and reading it back byte for byte.

A row read from an uncompressed JSONL file keeps only where its line is (`offset` and
`length` in bytes) and a 64-bit hash of the line as it was read (`line_hash`); the
line itself stays in the file, so a million rows do not hold the file a second time.
Rows from other inputs (compressed, JSON arrays, CSV, Parquet) have no line to point
at and keep their record as compact JSON in `raw`. Whatever is read back is checked
against `line_hash`, so a file changed since it was loaded is noticed, never copied.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from ..errors import InputError

RAW_COLUMNS = ("file", "offset", "length", "raw", "line_hash")
_LINE_SEED = 0x11E5
# Bytes of a file read at once when gathering lines (see _windows). 4 MiB, not 16: the
# read, the piece joined from it and the pieces queued for writing are each this big
# (a 1M-row train split's write: +116 -> +52 MB over the rows, 0.84 -> 0.73 s).
_SPAN = 4 << 20
_GAP = 64 << 10  # lines further apart than this are read separately, not with what lies between
_RAW_SLICE = 50_000  # rows joined at once when the lines are held in `raw`


def hash_lines(raws: pl.Series) -> pl.Series:
    """The 64-bit hash every line is checked by (load, export, read-back)."""
    return raws.hash(_LINE_SEED)


@dataclass(frozen=True)
class Source:
    """An input file the rows point into, as it was when it was loaded."""

    path: str
    size: int
    mtime_ns: int

    def changed(self) -> str | None:
        """Why the file is no longer the one that was loaded, or None."""
        try:
            st = os.stat(self.path)
        except OSError as exc:
            return f"{self.path}: cannot read it any more ({exc.strerror or exc})"
        if (st.st_size, st.st_mtime_ns) != (self.size, self.mtime_ns):
            return f"{self.path} has changed since it was loaded; load it again"
        return None


def _windows(path: str, offsets: np.ndarray, lengths: np.ndarray) -> Iterator[tuple[bytes, int, int, int]]:
    """Reads of a file covering lines (sorted by offset), each at most `_SPAN` bytes
    unless one line is longer: (bytes from `lo`, lo, first line, end line). Each
    read includes the newline after every line; a last line without one gets it.
    A few lines scattered over a big file (what the app shows) are read one by one."""
    ends = offsets + lengths + 1
    i, n = 0, offsets.size
    # Where a read must stop: before a line that starts far past the previous one's end.
    stops = np.append(np.flatnonzero(offsets[1:] - ends[:-1] > _GAP) + 1, n)
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed below, after the reads)
    except OSError as exc:
        raise InputError(f"{path}: cannot read it any more ({exc.strerror or exc})") from None
    with handle:
        size = os.fstat(handle.fileno()).st_size
        while i < n:
            lo = int(offsets[i])
            stop = int(stops[np.searchsorted(stops, i, side="right")])
            j = max(i + 1, min(stop, int(np.searchsorted(ends, lo + _SPAN, side="right"))))
            hi = int(ends[j - 1])
            handle.seek(lo)
            data = handle.read(hi - lo)
            if len(data) == hi - lo - 1 and hi - 1 == size:
                data += b"\n"
            elif len(data) != hi - lo:
                raise InputError(f"{path} has changed since it was loaded (it is shorter); load it again")
            yield data, lo, i, j
            i = j


def _span_of(run: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    # Signed: uint64 offsets plus int64 lengths would make floats.
    return run["offset"].to_numpy().astype(np.int64), run["length"].to_numpy().astype(np.int64)


def _runs(rows: pl.DataFrame) -> Iterator[pl.DataFrame]:
    """Consecutive rows from the same file held the same way (in the file, or in `raw`)."""
    if not rows.height:
        return
    run = pl.struct("file", pl.col("offset").is_null()).rle_id()
    yield from rows.with_columns(_run=run).partition_by("_run", maintain_order=True, include_key=False)


def read_lines(rows: pl.DataFrame, sources: Mapping[str, Source]) -> list[bytes | None]:
    """The original line of each row (frame with RAW_COLUMNS, any order); None for a
    line that no longer matches what was loaded."""
    out: list[bytes | None] = [None] * rows.height
    frame = rows.select(*RAW_COLUMNS).with_row_index("_at")
    for run in _runs(frame.sort("file", "offset", nulls_last=True)):
        at = run["_at"].to_numpy()
        if run["offset"].null_count():
            got: list[bytes | None] = list(run["raw"].to_list())
        else:
            got = []
            offsets, lengths = _span_of(run)
            try:
                for data, lo, i, j in _windows(sources[run["file"][0]].path, offsets, lengths):
                    starts = (offsets[i:j] - lo).tolist()
                    got += [data[s : s + n] for s, n in zip(starts, lengths[i:j].tolist())]
            except InputError:  # the file is gone or shorter: none of these lines can be shown
                continue
        same = (hash_lines(pl.Series(got, dtype=pl.Binary)) == run["line_hash"]).to_list()
        for k, line, ok in zip(at.tolist(), got, same):
            out[k] = line if ok else None
    return out


def read_few_lines(rows: pl.DataFrame, sources: Mapping[str, Source]) -> list[bytes | None]:
    """The lines of a handful of rows (what the app shows), like `read_lines`.

    One read per line and no Polars query: the app calls this on its UI thread, and a
    query (select, sort, filter) waits for Polars' thread pool, which a worker planning
    splits at the same time can hold for seconds. Column access and `hash` do not.
    """
    columns = [rows.get_column(c).to_list() for c in RAW_COLUMNS]
    got: list[bytes | None] = []
    for file, offset, length, raw, _ in zip(*columns):
        if offset is None:
            got.append(raw)
            continue
        try:
            with open(sources[file].path, "rb") as handle:
                handle.seek(offset)
                line = handle.read(length)
        except OSError:
            line = None
        got.append(line if line is not None and len(line) == length else None)
    hashes = hash_lines(pl.Series(got, dtype=pl.Binary)).to_list()
    wanted = columns[RAW_COLUMNS.index("line_hash")]
    return [line if line is not None and h == w else None for line, h, w in zip(got, hashes, wanted)]


def stream_lines(rows: pl.DataFrame, sources: Mapping[str, Source]) -> Iterator[bytes]:
    """The original lines of rows (in input order), each followed by a newline, in
    pieces of a few MB: what a split file is written from. The caller checks what was
    written against `line_hash` (the bytes are not hashed twice here)."""
    for run in _runs(rows.select(*RAW_COLUMNS)):
        if run["offset"].null_count():
            raws = run["raw"]
            for lo in range(0, raws.len(), _RAW_SLICE):
                yield b"\n".join(raws.slice(lo, _RAW_SLICE).to_list()) + b"\n"
            continue
        offsets, lengths = _span_of(run)
        for data, lo, i, j in _windows(sources[run["file"][0]].path, offsets, lengths):
            # Lines that follow each other in the file are copied as one range.
            starts = offsets[i:j] - lo
            ends = starts + lengths[i:j] + 1  # with the newline
            breaks = np.flatnonzero(starts[1:] != ends[:-1])
            first = np.concatenate([[0], breaks + 1]).tolist()
            last = np.concatenate([breaks, [starts.size - 1]]).tolist()
            view = memoryview(data)
            yield b"".join(map(view.__getitem__, map(slice, starts[first].tolist(), ends[last].tolist())))
