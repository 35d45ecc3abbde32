"""Regenerate the SVG screenshots of every tab on the demo data.

    python screenshots/make_screenshots.py

Runs the real app headless (Textual's test driver) on a copy of the bundled demo data
in a temporary directory, presses the keys a person would, and saves one SVG per tab.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from sfttui.cli import demo_path
from sfttui.engine.session import Session
from sfttui.engine.settings import CoverageSettings, LoadSettings, ScanSettings
from sfttui.tui.app import SfttuiApp

HERE = Path(__file__).resolve().parent
SHOTS = [
    ("overview", ["f1"]),
    ("duplicates", ["f2", "j", "j"]),
    ("balance", ["f3"]),
    ("splits", ["f4"]),
    ("leakage", ["f5"]),
    ("coverage", ["f6"]),
    ("coverage-hard", ["f6", "h"]),
    ("coverage-production", ["f6", "p"]),
    ("quality", ["f7", "a"]),
    ("quality-lengths", ["f7", "l"]),
    ("help", ["f2", "question_mark"]),
    ("rows", ["b", "slash", *"finding:conflict refund", "enter"]),
]


async def shoot(name: str, keys: list[str], size: tuple[int, int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        data = Path(tmp) / "demo.jsonl"
        shutil.copyfile(demo_path(), data)
        session = Session(
            paths=[str(data)],
            settings=ScanSettings(
                load=LoadSettings(group_fields=("user_id",)),
                # As `sfttui demo` does: the bundled production sample is the reference.
                coverage=CoverageSettings(
                    reference_paths=(str(demo_path().with_name("demo_production.jsonl")),)
                ),
            ),
            state_dir=str(Path(tmp) / "state"),
            out_dir="demo-splits",
        )
        app = SfttuiApp(session)
        async with app.run_test(size=size) as pilot:
            for _ in range(4):
                await app.workers.wait_for_complete()
                await pilot.pause()
            await pilot.press(*keys)
            for _ in range(3):
                await app.workers.wait_for_complete()
                await pilot.pause()
            app.save_screenshot(f"{name}.svg", path=str(HERE))
        os.chdir(HERE)


def main() -> None:
    for name, keys in SHOTS:
        asyncio.run(shoot(name, keys, (100, 30)))
        print(f"wrote {HERE / (name + '.svg')}")


if __name__ == "__main__":
    main()
