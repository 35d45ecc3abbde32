"""Every stage on low-variety short texts: the case that made LSH searches blow up.

    python benchmarks/bench_low_variety.py                 # 100k rows
    python benchmarks/bench_low_variety.py --rows 40000

Rows of 3-12 words drawn from a 24-word vocabulary, four labels: every text shares LSH
buckets with hundreds of others, so any search whose candidates are not bounded grows
with the square of the rows (the hard-negative search took 68 s at 40k rows and over
100 s at 100k before its candidates were sampled). Runs what `sfttui split` does (load,
duplicates, balance, leakage, coverage, representativeness, split plan, verified export)
in this process, timing each stage; the target is no stage above 10 s at 100k rows.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_S = 10.0


def generate(path: Path, rows: int, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" for i in range(24)])
    lengths = rng.integers(3, 13, rows)
    words = rng.integers(0, len(vocab), int(lengths.sum()))
    labels = rng.integers(0, 4, rows)
    ends = np.cumsum(lengths)
    with path.open("w", encoding="utf-8") as out:
        for i, end in enumerate(ends):
            text = " ".join(vocab[words[end - lengths[i] : end]])
            out.write(json.dumps({"text": text, "label": "abcd"[labels[i]]}) + "\n")


def run(path: Path, out: Path) -> dict[str, float]:
    from sfttui.engine.runtime.memory import one_heap

    one_heap()  # as the command line does: before NumPy's threads exist
    from sfttui.engine.session import Session

    marks: dict[str, float] = {}
    last = [time.perf_counter()]

    def progress(stage: str, fraction: float) -> None:
        if fraction >= 1.0 and stage not in marks:
            now = time.perf_counter()
            marks[stage] = now - last[0]
            last[0] = now

    session = Session(paths=[str(path)], explore=False, writes_state=False)
    session.analyse(progress)
    start = time.perf_counter()
    plan = session.plan()
    marks["split plan"] = time.perf_counter() - start
    start = time.perf_counter()
    result = session.write(plan, out, force=True)
    marks["export"] = time.perf_counter() - start
    assert not result.problems, result.problems
    hard = next(a.detail for a in session_analyses(session) if a.name == "hard negatives")
    print(f"hard negatives: {hard}")
    return marks


def session_analyses(session):  # the analyses' own account of what they did
    from sfttui.engine.registry import coverage_analyses

    return coverage_analyses(session.coverage, session.representativeness, session.settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "low_variety.jsonl"
        generate(path, args.rows)
        start = time.perf_counter()
        marks = run(path, Path(tmp) / "splits")
        total = time.perf_counter() - start
    print(f"{args.rows:,} rows from a 24-word vocabulary: {total:.1f} s in all")
    for stage, seconds in marks.items():
        flag = "" if seconds <= TARGET_S else f"   over the {TARGET_S:g} s target"
        print(f"  {stage:<20} {seconds:7.2f} s{flag}")


if __name__ == "__main__":
    main()
