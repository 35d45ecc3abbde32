"""The Dask engine: a scan's chunked work and task graphs as tasks on a Dask cluster.

Why Dask (rather than Ray Data or Spark): its tasks are plain Python functions over
whatever objects they are given, so the engine's own Polars/NumPy kernels (shingling,
MinHash signatures, band keys, Jaccard verification, n-gram matching) run on the
workers unchanged, with no conversion to another dataframe model and no JVM.

It knows no stage: it offers what `parallel.Engine` offers (map over parts, a task graph
of scatter / submit / gather, the exact grouping shuffle) and the stages drive it the
way they drive the local engine. What runs on the cluster, as the stages use it:
- load: uncompressed JSONL inputs in byte blocks (read from the path, so the files
  must be on storage every worker sees); other inputs one task per file;
- normalisation and hashing, in slices; exact grouping, as a shuffle on the hash;
- near duplicates (lsh_pass.near_pass): signatures per part, candidate pairs per
  reducer of band keys, the estimate filter and verification per pair of parts;
- eval leakage: normalisation, near pairs and n-gram matching per training part.

What stays on the client: the row table itself, clusters, split planning over groups,
and the sampled analyses. Those work on aggregates or bounded samples; the row table
is the limit on the corpus size.
"""

from __future__ import annotations

import asyncio
import math
import operator
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from ..errors import InputError
from .parallel import Engine

BLOCK_BYTES = 64 << 20  # plain JSONL read per load task (a worker's memory, not the GIL, sets it)
ROWS_PER_TASK = 200_000  # rows per task for row-wise work
MIN_TEXTS_PER_PARTITION = 50_000  # near-duplicate partitions are at least this large
MAX_PARTITIONS = 24  # and at most this many: one verification task per pair of them


def _check_address(address: str) -> None:
    """InputError for a scheduler address Dask cannot read, before a Client is made of
    it: a Client whose start fails is left half made, and when the garbage collector
    closed one while the next Client started, that start waited for ever (a test run
    hung there: tests/test_dask_engine.py)."""
    from distributed.comm.addressing import get_address_host_port, parse_address

    try:
        scheme, _ = parse_address(address)
        if scheme == "inproc":
            raise ValueError("an inproc address names a scheduler inside this very process")
        if scheme in ("tcp", "tls"):
            get_address_host_port(address)
    except ValueError as exc:
        raise _unreadable(address, exc) from None


def _handshake(address: str, seconds: float) -> None:
    """Connect and trade Dask's handshake once, within `seconds`; raises what went wrong.

    A Client's timeout bounds reaching the port, not the handshake after it: a port that
    accepted and never spoke (a web server waiting for a request) held `sfttui scan
    --engine dask` for ever. Its own loop on its own thread: the caller may be in one."""
    import dask
    from distributed.comm import connect
    from distributed.security import Security

    if dask.config.get("distributed.client.security-loader", None):
        return  # the site's own loader of TLS settings: only a Client knows how to call it
    # The settings a Client would connect with (TLS from the Dask config, if any).
    args = Security().get_connection_args("client")

    async def trade() -> None:
        try:
            comm = await asyncio.wait_for(connect(address, timeout=seconds, **args), seconds)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no answer in Dask's protocol within {seconds:g} s") from None
        await comm.close()

    failed: list[BaseException] = []
    thread = threading.Thread(target=lambda: _catch(lambda: asyncio.run(trade()), failed), daemon=True)
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


def _catch(fn: Callable[[], Any], into: list[BaseException]) -> None:
    try:
        fn()
    except BaseException as exc:  # handed to the caller's thread, which raises it
        into.append(exc)


def _unreadable(address: str, exc: ValueError) -> InputError:
    return InputError(
        f"--scheduler {address!r} is not a Dask scheduler address such as tcp://10.0.0.5:8786 ({exc})"
    )


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
            from dask.utils import parse_timedelta
            from distributed import Client, LocalCluster
        except ImportError:
            raise InputError(
                "the dask engine needs Dask: pip install 'sfttui[dask]' (or dask[distributed])"
            ) from None
        if address:
            _check_address(address)
            try:
                _handshake(address, parse_timedelta(timeout))
                return cls(Client(address, timeout=timeout), **sizes)
            except (OSError, TimeoutError) as exc:
                raise InputError(f"cannot reach the Dask scheduler at {address} ({exc})") from None
            except ValueError as exc:  # an address only the connection itself refuses
                raise _unreadable(address, exc) from None
            except Exception:
                # Something answered, but not in Dask's protocol: a dashboard's (or any)
                # HTTP reply read as a frame length asked NumPy for 3 EiB.
                raise InputError(
                    f"cannot use {address} as a Dask scheduler: something answers there, but not in "
                    "Dask's protocol; is the port the scheduler's (8786 by default), not its "
                    "dashboard's (8787)?"
                ) from None
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
    runs_here = False

    def rows_per_task(self, n: int) -> int:
        return self._rows_per_task

    def pairwise_rows(self, n: int) -> int:
        # Verification runs per pair of parts, so their count is kept small.
        return max(self.min_partition, math.ceil(n / min(MAX_PARTITIONS, 4 * self.workers)))

    def scatter(self, items: list[Any]) -> list[Any]:
        return self.client.scatter(items, hash=False)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False)

    def gather(self, handles: list[Any], progress: Callable[[float], None] | None = None) -> list[Any]:
        return self._gather(handles, progress) if progress else self.client.gather(handles)

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
