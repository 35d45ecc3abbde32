"""Every row's text kept in files while a command-line scan runs, read a slice at a time.

At a million chat rows the texts are 282 MB of the ~1 GB a scan holds at rest, and the
stages that read them all (grouping, near duplicates, the input side, eval overlap,
quality, lengths, coverage) work a slice or a sample at a time anyway: held whole, they
only raised every stage's floor. `SpilledTexts` writes them once, after loading, as
Arrow streams of `BATCH_ROWS` texts in a private temporary folder; a slice or a gather
reads back only the batches it touches (from the page cache), and what it read goes
with the result. It reads like the Series it stands for (`len`, `slice`, `gather`, `[i]`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

BATCH_ROWS = 16_384  # ~4.6 MB of chat texts a batch: a gather of a few rows reads little


class SpilledTexts:
    """The texts of a dataset's rows (row i at position i), held in files: one Arrow
    stream of `BATCH_ROWS` texts per file (reading one costs under 1 ms; a slice of one
    large Arrow file cost ~10 ms, whatever its size)."""

    def __init__(self, folder: Path, length: int, owned: bool = False):
        self.folder = folder
        self.length = length
        if owned:  # the files and their folder go with the last reference to this object
            weakref.finalize(self, _remove, folder)

    @classmethod
    def spill(cls, texts: pl.Series, directory: str | os.PathLike[str]) -> SpilledTexts:
        """Write `texts` to a new folder in `directory`; raises OSError where it cannot."""
        folder = Path(tempfile.mkdtemp(prefix="sfttui-texts-", dir=directory))
        try:
            for b, lo in enumerate(range(0, len(texts), BATCH_ROWS)):
                batch = texts.slice(lo, BATCH_ROWS).rechunk().to_frame("text")
                batch.write_ipc_stream(folder / _name(b), compression="uncompressed")
        except BaseException:
            _remove(folder)
            raise
        return cls(folder, len(texts), owned=True)

    def __reduce__(self) -> tuple[Any, ...]:
        # A copy in another process reads the files; only this one removes them.
        return (SpilledTexts, (self.folder, self.length))

    def __len__(self) -> int:
        return self.length

    def _batch(self, b: int) -> pl.Series:
        return pl.read_ipc_stream(self.folder / _name(b)).to_series()

    def slice(self, offset: int, length: int | None = None) -> pl.Series:
        offset = min(max(offset, 0), self.length)
        length = self.length - offset if length is None else min(length, self.length - offset)
        if length <= 0:
            return pl.Series("text", [], dtype=pl.String)
        first, last = offset // BATCH_ROWS, (offset + length - 1) // BATCH_ROWS
        read = pl.concat([self._batch(b) for b in range(first, last + 1)])
        return read.slice(offset - first * BATCH_ROWS, length)

    def gather(self, indices: Any) -> pl.Series:
        at = pl.Series(indices).to_numpy().astype(np.int64, copy=False)
        if at.size == 0:
            return pl.Series("text", [], dtype=pl.String)
        if at.min() < 0 or at.max() >= self.length:
            raise IndexError(f"text index out of range: {self.length} texts")
        step = np.diff(at)
        if (step == 1).all():  # a run of rows (a slice of the rows' own frame)
            return self.slice(int(at[0]), at.size)
        # A batch at a time, each keeping only the texts asked of it: a gather spread over
        # every batch holds what it returns and one batch, never all the texts.
        ordered = bool((step >= 0).all())
        order = np.arange(at.size) if ordered else np.argsort(at // BATCH_ROWS, kind="stable")
        batch = at[order] // BATCH_ROWS
        edges = np.flatnonzero(np.diff(batch)) + 1
        pieces = []
        for lo, hi in zip([0, *edges.tolist()], [*edges.tolist(), batch.size]):
            b = int(batch[lo])
            pieces.append(self._batch(b).gather(at[order[lo:hi]] - b * BATCH_ROWS))
        taken = pl.concat(pieces) if len(pieces) > 1 else pieces[0]
        if ordered:
            return taken
        back = np.empty_like(order)
        back[order] = np.arange(order.size)
        return taken.gather(back)

    def __getitem__(self, i: int) -> str:
        return self.gather([i])[0]

    def to_series(self) -> pl.Series:
        """Every text at once (what a stage that reads them all in one expression needs)."""
        return self.slice(0)


def _name(batch: int) -> str:
    return f"{batch:06d}.arrows"


def _remove(folder: Path) -> None:
    for file in folder.glob("*.arrows"):
        file.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        folder.rmdir()


# Every row's text, by row number: the rows' own column, or the files that hold it.
RowTexts = pl.Series | SpilledTexts
SLICE_ROWS = 200_000  # rows given their texts at once by `in_slices`


def with_texts(rows: pl.DataFrame, texts: RowTexts | None) -> pl.DataFrame:
    """`rows` (a few, by their `row` numbers) with their texts as a column, where they
    have none."""
    if texts is None or "text" in rows.columns:
        return rows
    return rows.with_columns(text=texts.gather(rows.get_column("row")))


def in_slices(
    rows: pl.DataFrame, texts: RowTexts | None, query: Callable[[pl.DataFrame], pl.DataFrame]
) -> pl.DataFrame:
    """`query(rows)` for a query that reads the rows' texts and keeps the rows' order
    (a select, a filter), run on a slice of rows at a time where the texts are held in
    a file: never every text at once."""
    if texts is None or "text" in rows.columns:
        return query(rows)
    parts = [query(with_texts(rows.slice(lo, SLICE_ROWS), texts)) for lo in range(0, rows.height, SLICE_ROWS)]
    return pl.concat(parts) if parts else query(with_texts(rows.clear(), texts))
