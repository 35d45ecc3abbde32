"""Where a full run's memory peaks: the code that was running at each new high of RSS.

A thread samples the process's RSS every 2 ms; at each new high (8 MB above the last)
it records the main thread's stack, so a peak is named by the sfttui lines that made
it, not only by the stage it fell in. It also prints the RSS at each stage's end (what
the stage left behind) beside the highest seen so far.

    python benchmarks/memory_where.py --rows 1000000
    python benchmarks/memory_where.py --input chat.jsonl --eval eval.jsonl --top 40
    python benchmarks/memory_where.py --rows 1000000 --low-memory   # as `split --low-memory`

The sampler holds the GIL briefly 500 times a second: stage times here are a little
slower than bench_stages.py's, which is the benchmark for time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

_PAGE = 4096


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE / 1e6  # MB of 10**6 bytes, as bench_stages


class _Highs:
    """New highs of RSS, each with the stage and the main thread's sfttui frames."""

    def __init__(self, step_mb: float = 8.0) -> None:
        self.step_mb = step_mb
        self.stage = "start"
        self.records: list[tuple[float, str, list[str]]] = []
        self._main = threading.main_thread().ident
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @property
    def highest(self) -> float:
        return self.records[-1][0] if self.records else 0.0

    def _sample(self) -> None:
        best = 0.0
        while not self._stop.wait(0.002):
            now = _rss_mb()
            if now > best + self.step_mb:
                best = now
                frame = sys._current_frames().get(self._main)
                stack = traceback.extract_stack(frame) if frame else []
                where = [
                    f"{Path(s.filename).name}:{s.lineno} {s.name}" for s in stack if "sfttui" in s.filename
                ]
                self.records.append((now, self.stage, where[-6:]))

    def __enter__(self) -> _Highs:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(path: str, eval_path: str, out: Path, top: int, low_memory: bool = False) -> None:
    from sfttui.engine.runtime.memory import hand_freed_memory_back, one_heap

    one_heap()  # as the command line does
    if low_memory:
        hand_freed_memory_back()  # before Polars loads, as the flag's option does
    from sfttui.engine.session import Session
    from sfttui.engine.settings import LoadSettings, ScanSettings

    settings = ScanSettings(load=LoadSettings(group_fields=("user_id",)), eval_paths=(eval_path,))
    ends: list[tuple[str, float, float]] = []
    with _Highs() as highs:

        def progress(stage: str, fraction: float) -> None:
            if fraction < 1.0:
                highs.stage = f"in {stage}"
            else:
                highs.stage = f"after {stage}"
                ends.append((stage, _rss_mb(), highs.highest))

        session = Session(
            paths=[path], settings=settings, state_dir=str(out / "state"), explore=False, spill=low_memory
        )
        session.analyse(progress)
        highs.stage = "split plan"
        plan = session.plan()
        ends.append(("split plan", _rss_mb(), highs.highest))
        highs.stage = "export"
        session.write(plan, out / "splits", force=True)
        ends.append(("export", _rss_mb(), highs.highest))
    print(f"{'stage':20s} {'RSS at its end':>15s} {'highest so far':>15s}")
    for stage, now, high in ends:
        print(f"{stage:20s} {now:12,.0f} MB {high:12,.0f} MB")
    print(f"\nthe last {top} new highs (MB, stage, innermost sfttui frame first):")
    for mb, stage, where in highs.records[-top:]:
        print(f"{mb:8,.0f}  {stage:22s} " + " < ".join(reversed(where)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="chat rows to generate (no --input)")
    parser.add_argument("--input", help="a chat JSONL file with user_id fields, instead of generating one")
    parser.add_argument("--eval", help="its eval set (required with --input)")
    parser.add_argument("--top", type=int, default=25, help="how many of the last highs to print")
    parser.add_argument("--low-memory", action="store_true", help="as `split --low-memory` runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.input:
            if not args.eval:
                parser.error("--input needs --eval")
            path, eval_path = args.input, args.eval
        else:
            sys.path.insert(0, str(Path(__file__).parent))
            from bench_stages import generate

            path, eval_path = str(work / "chat.jsonl"), str(work / "eval.jsonl")
            generate(Path(path), Path(eval_path), args.rows)
        start = time.perf_counter()
        run(path, eval_path, work / "out", args.top, args.low_memory)
        print(f"\n{time.perf_counter() - start:.1f} s with the sampler running")


if __name__ == "__main__":
    main()
