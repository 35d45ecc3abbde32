"""Time to the app's first screen and to its analyses being done, at N rows.

    python benchmarks/bench_app.py --rows 1000000

Uses the scan benchmark's synthetic data, runs the real app headless (Textual's test
driver, 100x30), and reports the seconds from creating the app to its first drawn
frame (the analyses still to run in their worker) and to every analysis finishing,
plus whether a key press was answered while the analyses ran.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench_scan import generate

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


async def measure(path: Path, state: Path) -> dict[str, float | bool]:
    start = time.perf_counter()
    app = TimedApp(Session(paths=[str(path)], state_dir=str(state)))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        first = (app.first_frame or time.perf_counter()) - start
        busy = not app.ready
        await pilot.press("f3")  # a key while the analyses run
        answered = app.query_one("TabbedContent").active == "balance"
        while not app.ready:
            await asyncio.sleep(0.05)
        done = time.perf_counter() - start
        await app.workers.wait_for_complete()
    return {
        "first_screen_s": round(first, 3),
        "analysed_s": round(done, 1),
        "key_answered_while_busy": busy and answered,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.jsonl"
        generate(path, args.rows)
        result = asyncio.run(measure(path, Path(tmp) / "state"))
    print(
        f"N={args.rows:,}  first screen {result['first_screen_s']}s  all analyses {result['analysed_s']}s  "
        f"key answered while busy: {result['key_answered_while_busy']}"
    )


if __name__ == "__main__":
    main()
