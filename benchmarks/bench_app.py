"""Time to the app's first screen, to its analyses being done, and how fast keys are answered, at N rows.

    python benchmarks/bench_app.py --rows 1000000

Uses the scan benchmark's synthetic data, runs the real app headless (Textual's test
driver, 100x30), and reports the seconds from creating the app to its first drawn
frame (the analyses still to run in their worker) and to every analysis finishing.

Key latency: while the analyses run in their worker, the time from a tab key to that
tab being the active one (polled every 2 ms). After them, Duplicates j and a posted
the same way, timed until the cursor moved or the journal grew, including keys right
after a pause, while the debounced re-plan runs in its worker. With all N rows analysed, the time
Pilot's `press` takes to return, which is once the app has handled the key and gone
idle (the screen redrawn): moving in the Duplicates table (j/k), deciding clusters
(a: journal write with fsync, table and detail redrawn) and switching Coverage views,
and, for calibration, a key bound to nothing (Pilot's own cost). Median, 95th
percentile and worst, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench_scan import generate

from sfttui.cli import ISOLATE_FROM_BYTES
from sfttui.engine.session import Session
from sfttui.tui.app import SfttuiApp


class TimedApp(SfttuiApp):
    """The app, noting when its first frame has been drawn."""

    first_frame: float | None = None

    def on_mount(self) -> None:
        super().on_mount()
        self.call_after_refresh(self._drawn)

    def _drawn(self) -> None:
        if self.first_frame is None:
            self.first_frame = time.perf_counter()


def _stats(samples: list[float]) -> dict[str, float]:
    ms = sorted(x * 1000 for x in samples)
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1),
        "max_ms": round(ms[-1], 1),
    }


async def _timed(pilot, *keys: str) -> list[float]:
    out = []
    for key in keys:
        start = time.perf_counter()
        await pilot.press(key)
        out.append(time.perf_counter() - start)
    return out


async def _until_shown(app, key: str, tab: str) -> float:
    """Seconds from pressing `key` until the tab it selects is the active one: what a
    person sees, without waiting for the app to go idle (the worker keeps it busy)."""
    tabs = app.query_one("TabbedContent")
    start = time.perf_counter()
    app.simulate_key(key)  # posts the key event as the terminal driver would
    while tabs.active != tab:
        await asyncio.sleep(0.002)
    return time.perf_counter() - start


async def _until(app, key: str, changed) -> float:
    """Seconds from posting `key` until `changed()` is true: the key handled and the state
    it changes visible to the next frame. Unlike Pilot's `press`, this does not wait for
    the whole process to go idle, which it is not while a re-plan runs in a worker."""
    start = time.perf_counter()
    app.simulate_key(key)
    while not changed():
        await asyncio.sleep(0.002)
    return time.perf_counter() - start


async def _posted_triage(app) -> tuple[list[float], list[float]]:
    """Duplicates j and a as posted keys, some right after a pause long enough for the
    debounced re-plan to start (the worst moment for a key)."""
    from sfttui.tui.duplicates import ClusterTable

    table = app.query_one(ClusterTable)
    journal = app.session.journal.path
    moves, decides = [], []
    for _round in range(5):
        for _ in range(4):
            row = table.cursor_row
            moves.append(await _until(app, "j", lambda row=row: table.cursor_row != row))
        for _ in range(4):
            size = journal.stat().st_size
            decides.append(await _until(app, "a", lambda size=size: journal.stat().st_size > size))
        await asyncio.sleep(0.8)  # past REPLAN_AFTER: the re-plan is running now
    return moves, decides


async def measure(path: Path, state: Path, isolate: bool) -> dict[str, object]:
    start = time.perf_counter()
    app = TimedApp(Session(paths=[str(path)], state_dir=str(state), isolate=isolate))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        first = (app.first_frame or time.perf_counter()) - start
        busy = not app.ready
        await pilot.press("f3")  # a key while the analyses run
        answered = app.query_one("TabbedContent").active == "balance"
        busy_keys: list[float] = []
        tabs = ["overview", "duplicates", "balance", "splits", "leakage", "coverage"]
        while not app.ready:
            i = len(busy_keys) % len(tabs)
            busy_keys.append(await _until_shown(app, f"f{i + 1}", tabs[i]))
            await asyncio.sleep(0.1)
        done = time.perf_counter() - start
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        posted_move, posted_decide = await _posted_triage(app)
        await app.workers.wait_for_complete()
        await pilot.pause()
        move = await _timed(pilot, *(["j"] * 40 + ["k"] * 20))
        decide = await _timed(pilot, *(["a"] * 20))
        await app.workers.wait_for_complete()
        await pilot.press("f6")
        views = await _timed(pilot, *(["h", "a", "l", "e", "p", "s"] * 3))
        unbound = await _timed(pilot, *(["z"] * 20))
    return {
        "first_screen_s": round(first, 3),
        "analysed_s": round(done, 1),
        "key_answered_while_busy": busy and answered,
        "tab_keys_while_busy": _stats(busy_keys) if busy_keys else None,
        "posted_move": _stats(posted_move),
        "posted_decide": _stats(posted_decide),
        "duplicates_move": _stats(move),
        "duplicates_decide": _stats(decide),
        "coverage_views": _stats(views),
        "unbound_key": _stats(unbound),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--in-thread",
        action="store_true",
        help="analyse in a thread of the app's process (as before isolation), to compare",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.jsonl"
        generate(path, args.rows)
        # As `sfttui FILE` decides: a child process for the analyses past a few MB.
        isolate = not args.in_thread and path.stat().st_size >= ISOLATE_FROM_BYTES
        result = asyncio.run(measure(path, Path(tmp) / "state", isolate))
    print(
        f"N={args.rows:,}  first screen {result['first_screen_s']}s  all analyses {result['analysed_s']}s  "
        f"key answered while busy: {result['key_answered_while_busy']}"
    )
    for name in (
        "tab_keys_while_busy",
        "posted_move",
        "posted_decide",
        "duplicates_move",
        "duplicates_decide",
        "coverage_views",
        "unbound_key",
    ):
        print(f"  {name:22s} {result[name]}")


if __name__ == "__main__":
    main()
