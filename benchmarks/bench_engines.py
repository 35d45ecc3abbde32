"""The same scan on the local engine and on Dask: seconds per stage, and the reports compared byte for byte.

    python benchmarks/bench_engines.py --rows 1000000           # a local Dask cluster
    python benchmarks/bench_engines.py --rows 1000000 --scheduler tcp://head:8786

Writes the chat data of bench_stages.py (N rows, an eval set of N/100 items), then
runs what `sfttui scan --eval --by user_id` runs, once per engine, each in a fresh
process, and prints the seconds of each stage, the client's peak RSS and whether
the two JSON reports are identical. Needs the dask extra.
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


def peak_mb() -> float:
    """Peak RSS in MB (10**6 bytes, as file sizes are given); ru_maxrss is in KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def child(engine_name: str, scheduler: str, path: str, eval_path: str, report_path: str) -> None:
    from sfttui.engine.runtime.memory import one_heap

    one_heap()  # as the command line does: before NumPy's threads exist
    from sfttui.engine.report import write_report
    from sfttui.engine.runtime.engines import open_engine
    from sfttui.engine.scan import run_scan
    from sfttui.engine.settings import LoadSettings, ScanSettings

    settings = ScanSettings(load=LoadSettings(group_fields=("user_id",)), eval_paths=(eval_path,))
    with open_engine(engine_name, scheduler or None) as engine:
        start = time.perf_counter()
        result = run_scan([path], settings, engine=engine)
        total = time.perf_counter() - start
        described = engine.describe()
    write_report(result, report_path)
    print(
        json.dumps(
            {
                "engine": described,
                "total_s": total,
                "stages": result.timings,
                "duplicates": result.duplicates.timings,
                "client_peak_rss_mb": peak_mb(),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--scheduler", default="", help="a Dask scheduler (default: a local cluster)")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path, eval_path = work / "chat.jsonl", work / "eval.jsonl"
        generate(path, eval_path, args.rows)
        results = {}
        for name in ("local", "dask"):
            report = work / f"report-{name}.json"
            run = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    name,
                    args.scheduler,
                    str(path),
                    str(eval_path),
                    str(report),
                ],
                capture_output=True,
                text=True,
            )
            if run.returncode:
                sys.exit(f"the {name} run failed:\n{run.stderr}")
            results[name] = json.loads(run.stdout.strip().splitlines()[-1])
        same = (work / "report-local.json").read_bytes() == (work / "report-dask.json").read_bytes()
    print(f"N={args.rows:,}  reports identical: {same}")
    for name, r in results.items():
        stages = ", ".join(f"{k} {v:.1f}" for k, v in {**r["stages"], **r["duplicates"]}.items())
        print(
            f"  {name:5s} {r['total_s']:6.1f} s  client peak {r['client_peak_rss_mb']:,.0f} MB  "
            f"[{r['engine']}]\n        {stages}"
        )
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
