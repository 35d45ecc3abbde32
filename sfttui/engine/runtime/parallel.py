"""Where the row-scale work of a scan runs: in this process (the default), or on a cluster.

The analyses are written as chunked work: a function applied to slices of rows (with
small shared inputs), and, for near duplicates, a shuffle of LSH band keys. An
`Engine` runs that work. This one runs it here, in order; `dask.DaskEngine`
runs the same functions as tasks on a Dask cluster. Both give the same results,
because the functions and the chunk boundaries are the same; only where they run
differs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import polars as pl

T = TypeVar("T")


class Lazy(Sequence[T]):
    """Items made only when used: parts of data too large to hold all at once (an
    engine running here takes one at a time; one sending them away makes them all)."""

    def __init__(self, count: int, make: Callable[[int], T]):
        self.count, self.make = count, make

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self.make(k) for k in range(*i.indices(self.count))]
        if not -self.count <= i < self.count:
            raise IndexError(i)
        return self.make(i % self.count)


class Engine:
    """Runs chunked work in this process, one chunk after another: map, parts, workers,
    and a task graph (scatter, submit, gather). It knows no stage: loading and the LSH
    pass drive it themselves, the same way on every engine."""

    name = "local"

    def map(
        self,
        fn: Callable[..., T],
        items: Sequence[Any],
        *shared: Any,
        progress: Callable[[float], None] | None = None,
    ) -> list[T]:
        """`fn(item, *shared)` for every item, results in item order."""
        out: list[T] = []
        for i, item in enumerate(items):
            out.append(fn(item, *shared))
            if progress:
                progress((i + 1) / len(items))
        return out

    workers = 1
    block_bytes: int | None = None  # plain JSONL bytes per read task (None: the reader's choice)
    runs_here = True  # tasks run in this process: a task may report progress, results are free

    def rows_per_task(self, n: int) -> int:
        """How many of `n` rows one task takes: all of them, here."""
        return max(n, 1)

    def pairwise_rows(self, n: int) -> int:
        """How many of `n` rows one part holds for work done per pair of parts (one task
        per pair, so few parts): all of them, here."""
        return max(n, 1)

    # A task graph: `submit` takes results of earlier submits as arguments, `gather`
    # gives the results. Here a submit runs at once and its result is the value itself.
    def scatter(self, items: list[Any]) -> list[Any]:
        """Inputs placed where the tasks run, to be passed to `submit`."""
        return items

    def submit(self, fn: Callable[..., T], *args: Any) -> Any:
        return fn(*args)

    def gather(self, handles: list[Any], progress: Callable[[float], None] | None = None) -> list[Any]:
        if progress:
            progress(1.0)
        return handles

    def parts(self, series: Any) -> Sequence[tuple[pl.Series, int]]:
        """`series` in slices of `rows_per_task`, each with the position it starts at,
        made as they are used. Texts that are normalised when read (dedup's
        NormalisedTexts) come in slices of at most their `part_rows`."""
        n = len(series)
        size = min(self.rows_per_task(n), getattr(series, "part_rows", n) or 1)
        return Lazy(-(-n // size), lambda k: (series.slice(k * size, size), k * size))

    def map_series(self, fn: Callable[..., pl.Series], series: pl.Series, *shared: Any) -> pl.Series:
        """A row-wise function of a Series, applied slice by slice and put back together."""
        if self.rows_per_task(len(series)) >= len(series):
            return fn(series, *shared)
        return pl.concat(self.map(fn, [part for part, _ in self.parts(series)], *shared))

    def first_of_equal(self, values: pl.Series) -> pl.Series:
        """For each position, the first position holding an equal value (UInt32)."""
        frame = pl.DataFrame({"v": values}).with_row_index("i")
        return frame.select(pl.col("i").min().over("v")).to_series()

    def describe(self) -> str:
        return "local (this process)"

    def close(self) -> None:
        """Release what the engine holds (a cluster connection); a no-op here."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


LOCAL = Engine()
