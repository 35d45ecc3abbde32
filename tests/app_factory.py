"""Builds the app from fixture files in a temporary directory, never from the user's home."""

from __future__ import annotations

import shutil
import time
import traceback
from pathlib import Path

from textual.worker import WorkerFailed

from sfttui.cli import demo_path
from sfttui.engine.session import Session
from sfttui.engine.settings import LoadSettings, ScanSettings
from sfttui.tui.app import SfttuiApp
from sfttui.tui.tabs import duplicates


def demo_copy(directory: Path) -> Path:
    target = directory / "demo.jsonl"
    shutil.copyfile(demo_path(), target)
    return target


def make_app(
    paths: list[Path],
    state: Path,
    *,
    out: str | Path = "demo-splits",
    group: str = "user_id",
    isolate: bool = False,
) -> SfttuiApp:
    session = Session(
        paths=[str(p) for p in paths],
        settings=ScanSettings(load=LoadSettings(group_fields=(group,) if group else ())),
        state_dir=str(state),
        out_dir=str(out),
        isolate=isolate,
    )
    return SfttuiApp(session)


async def redrawn(pilot) -> None:
    """settle(), once the Duplicates detail's deferred redraw is due: keys in quick
    succession redraw it after DETAIL_PAUSE (10 ms in tests, see conftest.quick_app)."""
    await pilot.pause(2 * duplicates.DETAIL_PAUSE)
    await settle(pilot)


async def settle(pilot) -> None:
    """Wait until every worker (analysis, plan, export) has finished and the UI caught up,
    including a re-plan under way or about to start (app.REPLAN_AFTER)."""
    app = pilot.app
    try:
        for _ in range(4):
            await app.workers.wait_for_complete()
            await pilot.pause()
    except WorkerFailed as failed:
        # Textual's message names the error alone; where it came from is what helps.
        traceback.print_exception(failed.error)
        raise
    deadline = time.monotonic() + 15
    while app.ready and app.plan_pending and time.monotonic() < deadline:
        await pilot.pause(0.05)
        await app.workers.wait_for_complete()
    await pilot.pause()
