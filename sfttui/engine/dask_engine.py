"""The Dask engine: the row-scale stages of a scan as tasks on a Dask cluster.

Why Dask (rather than Ray Data or Spark): its tasks are plain Python functions over
whatever objects they are given, so the engine's own Polars/NumPy kernels (shingling,
MinHash signatures, band keys, Jaccard verification, n-gram matching) run on the
workers unchanged, with no conversion to another dataframe model and no JVM. The one
step that needs data movement, LSH candidate generation, is a hash shuffle on the
band key, written here as plain tasks over Polars frames.

What runs on the cluster:
- load: uncompressed JSONL inputs are read in byte blocks by the workers (from the
  path, so the files must be on storage every worker sees); other inputs one task
  per file. The schema of a file is read once, here, and sent with its blocks;
- normalisation and hashing, in slices; exact grouping, as a shuffle on the hash (rows
  sharing a hash are grouped again by their texts, on the client);
- near duplicates: signatures per partition, candidate pairs per band-key bucket,
  then the estimate filter and exact verification per pair of partitions;
- eval leakage: normalisation, near pairs and n-gram matching per training part,
  against the eval set (small) sent to every worker.

What stays here, on the scheduler's client: the row table itself, clusters (connected
components over the verified pairs), split planning over groups, and the sampled
analyses (hard negatives, label model, representativeness). Those work on
aggregates or bounded samples; the row table is the limit on the corpus size.
"""

from __future__ import annotations

import itertools
import math
import operator
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import polars as pl

from .analyses.dedup import (
    _ESTIMATE_SLACK,
    PAIR_SCHEMA,
    NearPassResult,
    bucket_chains,
    likely_pairs,
    long_keys,
    signature_keys,
    verify_pairs,
)
from .errors import InputError
from .io import load as loading
from .runtime.parallel import Engine
from .runtime.progress import Progress, Stage
from .settings import LoadSettings, NearSettings
from .text.minhash import Shingling, iter_chunks, unique_sorted

BLOCK_BYTES = 64 << 20  # JSONL read per load task (a worker's memory, not the GIL, sets it)
ROWS_PER_TASK = 200_000  # rows per task for row-wise work
MIN_TEXTS_PER_PARTITION = 50_000  # near-duplicate partitions are at least this large
MAX_PARTITIONS = 24  # and at most this many: one verification task per pair of them


class DaskEngine(Engine):
    """Runs the chunked work as tasks on a Dask cluster (or a local one)."""

    name = "dask"

    def __init__(
        self,
        client: Any,
        cluster: Any = None,
        rows_per_task: int = ROWS_PER_TASK,
        min_partition: int = MIN_TEXTS_PER_PARTITION,
        block_bytes: int = BLOCK_BYTES,
    ):
        self.client = client
        self.cluster = cluster  # a LocalCluster this engine started, closed with it
        # Task sizes: the defaults suit real data; tests make them small to get many tasks.
        self._rows_per_task = rows_per_task
        self.min_partition = min_partition
        self.block_bytes = block_bytes

    @classmethod
    def connect(
        cls, address: str | None = None, workers: int | None = None, timeout: str = "20s", **sizes: int
    ) -> DaskEngine:
        """A client of the scheduler at `address`, or of a new local cluster (one process per core)."""
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise InputError(
                "the dask engine needs Dask: pip install 'sfttui[dask]' (or dask[distributed])"
            ) from None
        if address:
            try:
                return cls(Client(address, timeout=timeout), **sizes)
            except (OSError, TimeoutError) as exc:
                raise InputError(f"cannot reach the Dask scheduler at {address} ({exc})") from None
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,  # logging.ERROR: worker chatter would break the summary
        )
        return cls(Client(cluster), cluster, **sizes)

    def describe(self) -> str:
        return f"dask ({self.workers} workers at {self.client.scheduler.address})"

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    # --- generic chunked work -----------------------------------------------------
    def rows_per_task(self, n: int) -> int:
        return self._rows_per_task

    def map(
        self,
        fn: Callable[..., Any],
        items: Sequence[Any],
        *shared: Any,
        progress: Callable[[float], None] | None = None,
    ) -> list[Any]:
        if not items:
            return []
        # Shared inputs go to the cluster once, not once per task. Never under a key
        # hashed from the value (hash=False): an equal value scattered by the previous
        # call has the same key, and that call's release of it would race this call's
        # tasks ("lost dependencies").
        common = [self.client.scatter([s], broadcast=True, hash=False)[0] for s in shared]
        futures = [
            self.client.submit(fn, part, *common, pure=False)
            for part in self.client.scatter(list(items), hash=False)
        ]
        return self._gather(futures, progress)

    def _gather(self, futures: list[Any], progress: Callable[[float], None] | None) -> list[Any]:
        """The futures' results in order, with progress as each one finishes."""
        from distributed import as_completed

        for done, _ in enumerate(as_completed(futures), start=1):
            if progress:
                progress(done / len(futures))
        return self.client.gather(futures)

    def first_of_equal(self, values: pl.Series) -> pl.Series:
        """Exact grouping as a shuffle: equal values meet in one bucket, which names their first position."""
        buckets = max(1, self.workers * 2)
        parts = [
            self.client.submit(_hash_buckets, s, buckets, pure=False)
            for s in self.client.scatter(list(self.parts(values)), hash=False)
        ]
        firsts = [
            self.client.submit(_first_in_bucket, [self.client.submit(operator.getitem, p, b) for p in parts])
            for b in range(buckets)
        ]
        found = pl.concat(self.client.gather(firsts)).sort("i")
        return found["first"]

    # --- load -----------------------------------------------------------------------
    def load(
        self, paths: list[str | os.PathLike[str]], settings: LoadSettings, progress: Progress
    ) -> loading.Dataset:
        files, names = loading.check_inputs(paths, settings)
        plans = [
            loading.plan_file(path, name, settings, self.block_bytes) for path, name in zip(files, names)
        ]
        tasks: list[Any] = []
        for plan in plans:
            if plan.blocks:
                tasks += [
                    self.client.submit(
                        loading.read_block, plan.path, lo, hi, plan.schema, settings, pure=False
                    )
                    for lo, hi in plan.blocks
                ]
            else:
                tasks.append(
                    self.client.submit(loading.read_file, plan.path, plan.name, settings, pure=False)
                )
        results = iter(self._gather(tasks, lambda f: progress(Stage.LOAD, f)))
        read = []
        for plan in plans:
            if not plan.blocks:
                read.append(next(results))
                continue
            parts = [next(results) for _ in plan.blocks]
            read.append(loading.join_blocks(plan, parts))
        return loading.combine(read, settings)

    # --- near duplicates -------------------------------------------------------------
    def near_pass(
        self,
        texts: pl.Series,
        shingling: Shingling,
        settings: NearSettings,
        bands: int,
        rows: int,
        tick: Callable[[float], None],
    ) -> NearPassResult:
        """Signatures per partition, a shuffle of band keys into buckets, verification per
        pair of partitions: the same candidates, filter and Jaccard as the local pass."""
        client = self.client
        n = len(texts)
        # Verification runs per pair of partitions, so their count is kept small.
        size = max(self.min_partition, math.ceil(n / min(MAX_PARTITIONS, 4 * self.workers)))
        bounds = list(iter_chunks(n, size))
        starts = np.array([lo for lo, _ in bounds], dtype=np.int64)
        reducers = max(1, min(len(bounds), 2 * self.workers))
        parts = client.scatter([texts.slice(lo, hi - lo) for lo, hi in bounds], hash=False)
        signed = [
            client.submit(_sign, part, lo, shingling, settings, bands, rows, reducers, pure=False)
            for part, (lo, _) in zip(parts, bounds)
        ]
        estimates = [client.submit(operator.getitem, s, 1) for s in signed]
        buckets = [
            client.submit(_bucket_pairs, [client.submit(_bucket_of, s, r) for s in signed], settings, starts)
            for r in range(reducers)
        ]
        tick(0.3)
        found = client.gather([client.submit(operator.getitem, b, 1) for b in buckets])
        oversized = len(set().union(*found))
        blocks = [(i, j) for i in range(len(bounds)) for j in range(i, len(bounds))]
        verified = [
            client.submit(
                _verify_block,
                [client.submit(_block_of, b, block) for b in buckets],
                parts[block[0]],
                parts[block[1]],
                estimates[block[0]],
                estimates[block[1]],
                (int(starts[block[0]]), int(starts[block[1]])),
                shingling,
                settings.threshold,
                pure=False,
            )
            for block in blocks
        ]
        results = client.gather(verified)
        tick(1.0)
        frames = [r[0] for r in results if r[0].height]
        pairs = pl.concat(frames).sort(["a", "b"]) if frames else pl.DataFrame(schema=PAIR_SCHEMA)
        return NearPassResult(pairs, sum(r[1] for r in results), sum(r[2] for r in results), oversized)


# --- tasks (module-level so workers can import them) ------------------------------
def _hash_buckets(part: tuple[pl.Series, int], buckets: int) -> list[pl.DataFrame]:
    values, start = part
    frame = pl.DataFrame({"v": values}).with_columns(
        i=pl.int_range(start, start + len(values), dtype=pl.UInt32),
        b=(pl.col("v").hash(0x5EED) % buckets).cast(pl.UInt32),
    )
    split = {key[0]: f.drop("b") for key, f in frame.partition_by("b", as_dict=True).items()}
    empty = pl.DataFrame(schema={"v": values.dtype, "i": pl.UInt32})
    return [split.get(b, empty) for b in range(buckets)]


def _first_in_bucket(frames: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(frames).select("i", first=pl.col("i").min().over("v"))


def _sign(
    texts: pl.Series,
    start: int,
    shingling: Shingling,
    settings: NearSettings,
    bands: int,
    rows: int,
    reducers: int,
) -> tuple[list[pl.DataFrame], np.ndarray]:
    """A partition's band keys, split by bucket owner, and its estimate columns."""
    keys, estimate = signature_keys(texts, shingling, settings, bands, rows)
    frame = long_keys(keys, start)
    owner = (keys.reshape(-1) % np.uint64(reducers)).astype(np.int64)
    return [frame.filter(pl.Series(owner == r)) for r in range(reducers)], estimate


def _bucket_of(signed: tuple[list[pl.DataFrame], np.ndarray], reducer: int) -> pl.DataFrame:
    return signed[0][reducer]


def _bucket_pairs(
    frames: list[pl.DataFrame], settings: NearSettings, starts: np.ndarray
) -> tuple[dict[tuple[int, int], np.ndarray], set[int]]:
    """Candidate pairs of the buckets this reducer owns, by pair of partitions; and the
    bands with a bucket too large to pair whole.

    As in the local pass, members of a bucket in text order are paired with their next
    `max_bucket` members, which is every pair for an ordinary bucket.
    """
    frame = pl.concat(frames).sort(["band", "key", "pos"])
    band, key, pos = (frame[c].to_numpy() for c in ("band", "key", "pos"))
    pos = pos.astype(np.uint64)
    found: list[np.ndarray] = []
    oversized: set[int] = set()
    edges = np.flatnonzero(np.diff(band)) + 1
    for lo, hi in itertools.pairwise([0, *edges.tolist(), band.size]):
        pairs, chained = bucket_chains(key[lo:hi], pos[lo:hi], settings.max_bucket)
        found += pairs
        if chained:
            oversized.add(int(band[lo]))
    pairs = unique_sorted(np.concatenate(found)) if found else np.empty(0, np.uint64)
    a = (pairs >> np.uint64(32)).astype(np.int64)
    b = (pairs & np.uint64(0xFFFFFFFF)).astype(np.int64)
    block_a = np.searchsorted(starts, a, side="right") - 1
    block_b = np.searchsorted(starts, b, side="right") - 1
    out: dict[tuple[int, int], np.ndarray] = {}
    if pairs.size:
        order = np.lexsort((block_b, block_a))
        pairs, block_a, block_b = pairs[order], block_a[order], block_b[order]
        edge = np.flatnonzero((np.diff(block_a) != 0) | (np.diff(block_b) != 0)) + 1
        for lo, hi in itertools.pairwise([0, *edge.tolist(), pairs.size]):
            out[(int(block_a[lo]), int(block_b[lo]))] = pairs[lo:hi]
    return out, oversized


def _block_of(
    bucket: tuple[dict[tuple[int, int], np.ndarray], set[int]], block: tuple[int, int]
) -> np.ndarray:
    return bucket[0].get(block, np.empty(0, np.uint64))


def _verify_block(
    found: list[np.ndarray],
    texts_a: pl.Series,
    texts_b: pl.Series,
    estimate_a: np.ndarray,
    estimate_b: np.ndarray,
    starts: tuple[int, int],
    shingling: Shingling,
    threshold: float,
) -> tuple[pl.DataFrame, int, int]:
    """Verified pairs between two partitions (or within one), with candidate and estimate counts."""
    pairs = unique_sorted(np.concatenate(found)) if found else np.empty(0, np.uint64)
    empty = pl.DataFrame(schema=PAIR_SCHEMA)
    if pairs.size == 0:
        return empty, 0, 0
    sa, sb = starts
    a = (pairs >> np.uint64(32)) - np.uint64(sa)
    b = (pairs & np.uint64(0xFFFFFFFF)) - np.uint64(sb)
    likely = likely_pairs(a << np.uint64(32) | b, estimate_a, estimate_b, threshold - _ESTIMATE_SLACK)
    if likely.size == 0:
        return empty, int(pairs.size), 0
    same = sa == sb
    shift = 0 if same else len(texts_a)
    texts = texts_a if same else pl.concat([texts_a, texts_b])
    verified = verify_pairs(likely + np.uint64(shift), texts, shingling, threshold)
    verified = verified.with_columns(
        a=(pl.col("a") + sa).cast(pl.UInt32), b=(pl.col("b") - shift + sb).cast(pl.UInt32)
    )
    return verified, int(pairs.size), int(likely.size)
