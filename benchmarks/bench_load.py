"""Loading alone: chat rows read into the row frame, in this process and on worker processes.

    python benchmarks/bench_load.py                  # 1M rows (the bench_stages file)
    python benchmarks/bench_load.py --rows 300000 --repeat 3

Writes bench_stages' chat rows, then loads them in a fresh process twice per repeat:
once with the file read in this process (as every file under 128 MB is) and once in
byte blocks on worker processes (`load.PROCESS_MIN_BYTES`), checking both give the
same rows and bad lines. Prints the fastest wall time of each, rows/s and the peak
RSS of the loading process and of its largest worker.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_stages import generate


def child(path: str, workers: str, out: str) -> None:
    from sfttui.engine.io import load as loading

    if workers == "1":
        loading.cores = lambda: 1  # every file read here, whole
    start = time.perf_counter()
    dataset = loading.load([path])
    seconds = time.perf_counter() - start
    dataset.rows.drop("file").write_parquet(out + ".rows.parquet")
    dataset.bad_lines.write_parquet(out + ".bad.parquet")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"s": seconds, "rows": dataset.rows.height, "rss_mb": peak, "worker_rss_mb": worker}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    import polars as pl

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chat.jsonl"
        generate(path, Path(tmp) / "eval.jsonl", args.rows)
        size = path.stat().st_size / 1e6
        best: dict[str, dict] = {}
        for _ in range(args.repeat):
            for how in ("1", "auto"):
                out = str(Path(tmp) / how)
                run = subprocess.run(
                    [sys.executable, __file__, "--child", str(path), how, out],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                res = json.loads(run.stdout.strip().splitlines()[-1])
                if how not in best or res["s"] < best[how]["s"]:
                    best[how] = res
        same = all(
            pl.read_parquet(str(Path(tmp) / f"1.{part}.parquet")).equals(
                pl.read_parquet(str(Path(tmp) / f"auto.{part}.parquet"))
            )
            for part in ("rows", "bad")
        )
    print(f"{args.rows:,} chat rows, {size:,.0f} MB of JSONL; fastest of {args.repeat}")
    for how, label in (("1", "in this process"), ("auto", "blocks on workers")):
        r = best[how]
        workers = f", largest worker {r['worker_rss_mb']:,.0f} MB" if how == "auto" else ""
        print(
            f"  {label:18} {r['s']:6.2f} s  {r['rows'] / r['s']:>10,.0f} rows/s  "
            f"peak {r['rss_mb']:,.0f} MB{workers}"
        )
    print(f"  same rows and bad lines both ways: {'yes' if same else 'NO'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
