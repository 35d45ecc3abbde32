"""Time to the app's first screen, to its analyses being done, and how fast keys are answered, at N rows.

    python benchmarks/bench_app.py --rows 1000000

Uses the scan benchmark's synthetic data, runs the real app headless (Textual's test
driver, 100x30), and reports the seconds from creating the app to its first drawn
frame (the analyses still to run in their worker) and to every analysis finishing.

Key latency is measured to the screen: each key is posted as the terminal driver
would, and timed until the first frame sent to the terminal that shows what the key
changed (the app's state is read as each frame goes out). Measured: tab keys while
the analyses run; Duplicates j and a; tab keys right after a decision (the tab redraws
from the session); F2 and j while the re-plan that opening Splits starts runs in its
worker. Then, with all N rows analysed,
the time Pilot's `press` takes to return, which is once the app has handled the key
and gone idle: moving in the Duplicates list (j/k), deciding clusters (a: journal
write with fsync, list and detail redrawn) and switching Coverage views; the pairs nearest the threshold
(e), the threshold keys (+/-) and the filter's enter (with, for these two, the time
until their result, computed in a worker, is shown); and, for calibration, a key
bound to nothing (Pilot's own cost). Median, 95th percentile and
worst, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sfttui.engine.runtime.memory import one_heap

one_heap()  # as the command line does: before NumPy's threads exist

from bench_scan import generate  # noqa: E402

from sfttui.cli import ISOLATE_FROM_BYTES  # noqa: E402
from sfttui.engine.session import Session  # noqa: E402
from sfttui.tui.app import TABS, SfttuiApp  # noqa: E402
from sfttui.tui.tabs.duplicates import DuplicatesTab  # noqa: E402
from sfttui.tui.widgets.row_list import RowList  # noqa: E402


class TimedApp(SfttuiApp):
    """The app, noting when its first frame has been drawn, and for every frame it
    sends to the terminal (the headless driver discards it) the time and what `probe`
    read of the app's state just then."""

    first_frame: float | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.frames: list[tuple[float, object]] = []
        self.probe: Callable[[], object] = lambda: None

    def on_mount(self) -> None:
        super().on_mount()
        self.call_after_refresh(self._drawn)

    def _drawn(self) -> None:
        if self.first_frame is None:
            self.first_frame = time.perf_counter()

    def _display(self, screen, renderable) -> None:
        if renderable is not None:
            self.frames.append((time.perf_counter(), self.probe()))
        super()._display(screen, renderable)


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


async def _until_drawn(app: TimedApp, key: str, shown: Callable[[object], bool]) -> float:
    """Seconds from posting `key` (as the terminal driver would) until the first frame
    whose probed state `shown` accepts has gone to the terminal: what a person waits
    for. Unlike Pilot's `press`, this does not wait for the whole process to go idle."""
    start = time.perf_counter()
    seen = len(app.frames)
    app.simulate_key(key)
    while True:
        for at, state in app.frames[seen:]:
            if shown(state):
                return at - start
        seen = len(app.frames)
        await asyncio.sleep(0.001)


async def _posted_triage(app: TimedApp) -> tuple[list[float], list[float]]:
    """Duplicates j and a as posted keys, in runs of four with pauses between them."""
    table = app.query_one("#clusters", RowList)
    journal = app.session.journal
    app.probe = lambda: (table.cursor_row, len(journal.decisions))
    moves, decides = [], []
    for _round in range(5):
        for _ in range(4):
            row = table.cursor_row
            moves.append(await _until_drawn(app, "j", lambda s, row=row: s[0] != row))
        for _ in range(4):
            n = len(journal.decisions)
            decides.append(await _until_drawn(app, "a", lambda s, n=n: s[1] > n))
        await asyncio.sleep(0.8)  # past REPLAN_AFTER: were a re-plan due, it would run now
    return moves, decides


async def _after_decisions(app: TimedApp) -> tuple[list[float], list[float]]:
    """Tab keys right after a decision, each to a tab that redraws from the session (it
    is stale after the decision); and keys while the re-plan that opening Splits starts
    runs: back to Duplicates, and j there."""
    tabs = app.query_one("TabbedContent")
    table = app.query_one("#clusters", RowList)
    app.probe = lambda: (tabs.active, table.cursor_row)
    stale, planning = [], []
    for name in ("overview", "balance", "leakage", "coverage", "overview"):
        await _until_drawn(app, "a", lambda s: True)  # a decision: the other tabs are stale
        key = f"f{TABS.index(name) + 1}"
        stale.append(await _until_drawn(app, key, lambda s, name=name: s[0] == name))
        await _until_drawn(app, "f2", lambda s: s[0] == "duplicates")
    for _ in range(5):
        await _until_drawn(app, "a", lambda s: True)
        await _until_drawn(app, "f4", lambda s: s[0] == "splits")  # starts the re-plan
        await asyncio.sleep(0.2)
        planning.append(await _until_drawn(app, "f2", lambda s: s[0] == "duplicates"))
        row = table.cursor_row
        planning.append(await _until_drawn(app, "j", lambda s, row=row: s[1] != row))
        while app.plan_pending:
            await asyncio.sleep(0.02)
    return stale, planning


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
        tabs = app.query_one("TabbedContent")
        app.probe = lambda: tabs.active
        while not app.ready:
            name = TABS[len(busy_keys) % len(TABS)]
            key = f"f{TABS.index(name) + 1}"
            busy_keys.append(await _until_drawn(app, key, lambda s, name=name: s == name))
            await asyncio.sleep(0.1)
        done = time.perf_counter() - start
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        posted_move, posted_decide = await _posted_triage(app)
        stale_tabs, while_planning = await _after_decisions(app)
        await pilot.pause()
        move = await _timed(pilot, *(["j"] * 40 + ["k"] * 20))
        decide = await _timed(pilot, *(["a"] * 20))
        await app.workers.wait_for_complete()
        # Pairs nearest the threshold (e), drawn on the UI thread. The threshold keys and
        # the filter's enter start a worker (new clusters; a search of every clustered
        # text): j is timed to the screen while it runs, and the whole until it is shown.
        examples = await _timed(pilot, *(["e"] * 10))
        table = app.query_one("#clusters", RowList)
        tab = app.query_one(DuplicatesTab)

        async def j_meanwhile(
            start_worker: Callable[[], None], done: Callable[[], bool]
        ) -> tuple[float, float]:
            start = time.perf_counter()
            start_worker()
            await asyncio.sleep(0.02)
            row = table.cursor_row
            app.probe = lambda: table.cursor_row
            answered = await _until_drawn(app, "j", lambda s, row=row: s != row)
            while not done():
                await asyncio.sleep(0.005)
            await app.workers.wait_for_complete()
            await pilot.pause()
            return answered, time.perf_counter() - start

        threshold_j, threshold_shown = [], []
        for key in ("minus", "plus") * 3:
            before = app.session.threshold
            j, shown = await j_meanwhile(
                lambda key=key: app.simulate_key(key), lambda before=before: app.session.threshold != before
            )
            threshold_j.append(j)
            threshold_shown.append(shown)
        filter_j, filter_shown = [], []
        for query in ("zq", "", "account", ""):
            await pilot.press("slash")
            await pilot.press(*(["backspace"] * 20), *query)
            j, shown = await j_meanwhile(
                lambda: app.simulate_key("enter"),
                lambda query=query: (
                    not query or (tab._filter_for is not None and tab._filter_for[0] == query)
                ),
            )
            filter_j.append(j)
            filter_shown.append(shown)
        assert tab.query_text == ""
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
        "tab_keys_after_decision": _stats(stale_tabs),
        "keys_while_planning": _stats(while_planning),
        "duplicates_move": _stats(move),
        "duplicates_decide": _stats(decide),
        "examples_key_e": _stats(examples),
        "j_while_threshold_moves": _stats(threshold_j),
        "threshold_until_shown": _stats(threshold_shown),
        "j_while_filtering": _stats(filter_j),
        "filter_until_shown": _stats(filter_shown),
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
    for name, value in result.items():
        if isinstance(value, dict):
            print(f"  {name:22s} {value}")


if __name__ == "__main__":
    main()
