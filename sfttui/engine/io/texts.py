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

try:
    import fcntl
except ImportError:  # Windows has no fcntl: abandoned folders are left to the system's cleaning
    fcntl = None

BATCH_ROWS = 16_384  # ~4.6 MB of chat texts a batch: a gather of a few rows reads little


class SpilledTexts:
    """The texts of a dataset's rows (row i at position i), held in files: one Arrow
    stream of `BATCH_ROWS` texts per file (reading one costs under 1 ms; a slice of one
    large Arrow file cost ~10 ms, whatever its size)."""

    def __init__(self, folder: Path, length: int, owned: bool = False, lock: int | None = None):
        self.folder = folder
        self.length = length
        if owned:  # the files and their folder (and its lock) go with the last reference to this object
            weakref.finalize(self, _remove, folder, lock)

    @classmethod
    def spill(cls, texts: pl.Series, directory: str | os.PathLike[str]) -> SpilledTexts:
        """Write `texts` to a new folder in `directory`; raises OSError where it cannot.
        Folders there left by scans that died before removing theirs go first."""
        remove_abandoned(Path(directory))
        folder = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=directory))
        lock = None
        try:
            lock = _hold(folder)
            for b, lo in enumerate(range(0, len(texts), BATCH_ROWS)):
                batch = texts.slice(lo, BATCH_ROWS).rechunk().to_frame("text")
                batch.write_ipc_stream(folder / _name(b), compression="uncompressed")
        except BaseException:
            _remove(folder, lock)
            raise
        return cls(folder, len(texts), owned=True, lock=lock)

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


_PREFIX = "sfttui-texts-"
_OWNER = ".owner"  # locked by the process whose texts these are, for as long as it lives
_UNLOCKED = ".owner-new"  # the owner file until it is locked: never judged by a sweep


def _hold(folder: Path) -> int | None:
    """Lock the folder's owner file for this process (released by the system when the
    process ends, however it ends); None where file locks are not available, and the
    folder then has no owner file: it is never swept, only removed with its texts."""
    if fcntl is None:
        return None
    # Locked under another name, then renamed: a sweep never finds it unlocked.
    handle = os.open(folder / _UNLOCKED, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a file system without locks (some network ones)
        os.close(handle)
        os.unlink(folder / _UNLOCKED)
        return None
    os.rename(folder / _UNLOCKED, folder / _OWNER)
    return handle


def spill_directory() -> str:
    """Where a scan's texts go: `SFTTUI_TEMP_DIR`, else the system's temporary folder."""
    return os.environ.get("SFTTUI_TEMP_DIR") or tempfile.gettempdir()


def sweep_abandoned() -> list[Path]:
    """Remove the texts' folders that scans killed before their end left where texts go
    (see remove_abandoned). Every scan sweeps, not only one that spills: a scan killed
    for memory is most often run again without --low-memory, and its folder (1.4 GB at
    5M rows) stayed until the next run with it."""
    try:
        return remove_abandoned(Path(spill_directory()))
    except OSError:  # a folder that cannot be listed: nothing of ours to find there
        return []


def remove_abandoned(directory: Path) -> list[Path]:
    """Remove the texts' folders in `directory` whose owner has ended without removing
    them (killed outright, or out of memory: a 5M-row scan's are 1.4 GB). An owner holds
    a lock on its folder's owner file while it lives, so a lock this process can take
    means nobody is reading those texts; the lock is the system's, so a live scan in
    another container is never taken for a dead one. Only the files a scan writes go,
    and the folder if that leaves it empty. Returns the folders removed."""
    if fcntl is None:
        return []
    removed = []
    for folder in directory.glob(f"{_PREFIX}*"):
        try:
            handle = os.open(folder / _OWNER, os.O_RDWR)
        except OSError:  # no owner file (being made, or not a scan's): not ours to judge
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # its owner is alive
            os.close(handle)
            continue
        _remove(folder, handle)
        if not folder.exists():
            removed.append(folder)
    return removed


def _remove(folder: Path, lock: int | None = None) -> None:
    for file in [*folder.glob("*.arrows"), folder / _OWNER, folder / _UNLOCKED]:
        with contextlib.suppress(OSError):
            file.unlink()
    if lock is not None:
        os.close(lock)
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
