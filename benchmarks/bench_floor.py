"""The machine's own growth from 1M to 5M rows for the primitives the stages are made of.

    python benchmarks/bench_floor.py
    python benchmarks/bench_floor.py --sizes 1000000,5000000 --repeat 5

bench_stages.py reports each stage's growth exponent (log t2/t1 over log n2/n1) against
n log n (1.07 from 1M to 5M). A stage is built from hash group-bys, joins, sorts and
random gathers over arrays of its rows; once those arrays outgrow the caches, each of
these costs more per element at 5M than at 1M on the same machine. This prints that
floor: the same primitives alone, on random 64-bit keys (half as many distinct as rows,
about what the duplicate and group keys hold), best of --repeat runs each.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np
import polars as pl


def _best(run: Callable[[], object], repeat: int) -> float:
    fastest = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest


def primitives(n: int, repeat: int, seed: int = 0) -> dict[str, float]:
    """Seconds for each primitive on `n` rows."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, n // 2, n, dtype=np.uint64)
    values = rng.integers(0, 1 << 62, n, dtype=np.uint64)
    rows = pl.DataFrame({"k": keys, "v": values})
    other = pl.DataFrame({"k": np.arange(n // 2, dtype=np.uint64), "w": rng.integers(0, 9, n // 2)})
    order = rng.permutation(n)
    runs: dict[str, Callable[[], object]] = {
        "polars group_by": lambda: rows.group_by("k").agg(pl.col("v").min()),
        "polars join": lambda: rows.join(other, on="k"),
        "polars sort": lambda: rows.sort("k"),
        "numpy argsort": lambda: np.argsort(values, kind="stable"),
        "numpy random gather": lambda: values[order],
        "numpy sort": lambda: np.sort(keys),
    }
    return {name: _best(run, repeat) for name, run in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,5000000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    times = {n: primitives(n, args.repeat) for n in sizes}
    print(f"{'primitive':22s}" + "".join(f"{n:>14,}" for n in sizes) + "   growth (n log n: 1.07)")
    for name in times[sizes[0]]:
        cells = "".join(f"{times[n][name]:>13.3f}s" for n in sizes)
        first, last = sizes[0], sizes[-1]
        growth = math.log(times[last][name] / times[first][name]) / math.log(last / first)
        print(f"{name:22s}{cells}   {growth:.2f}")


if __name__ == "__main__":
    main()
