"""Where the row-scale work of a scan runs: in this process (the default), or on a cluster.

The analyses are written as chunked work: a function applied to slices of rows (with
small shared inputs), and, for near duplicates, a shuffle of LSH band keys. An
`Engine` runs that work. This one runs it here, in order; `dask_engine.DaskEngine`
runs the same functions as tasks on a Dask cluster. Both give the same results,
because the functions and the chunk boundaries are the same; only where they run
differs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

import polars as pl

if TYPE_CHECKING:
    from ..settings import LoadSettings, NearSettings
    from ..text.minhash import Shingling
    from .progress import Progress

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


@runtime_checkable
class StageRunner(Protocol):
    """An engine that runs whole stages its own way (the Dask engine: loading in byte
    blocks on the workers, the LSH pass as a shuffle of band keys). The stages ask for
    it (`isinstance(engine, StageRunner)`); the engines here know no stage."""

    def load(self, paths: list[str | os.PathLike[str]], settings: LoadSettings, progress: Progress) -> Any:
        """Read the inputs into a load.Dataset."""

    def near_pass(
        self,
        texts: pl.Series,
        shingling: Shingling,
        settings: NearSettings,
        bands: int,
        rows: int,
        tick: Callable[[float], None],
    ) -> Any:
        """One MinHash/LSH pass over `texts` (a dedup.NearPassResult)."""


class Engine:
    """Runs chunked work in this process, one chunk after another: map, parts, workers.
    It knows no stage; an engine that runs stages its own way is also a StageRunner."""

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

    def rows_per_task(self, n: int) -> int:
        """How many of `n` rows one task takes: all of them, here."""
        return max(n, 1)

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
