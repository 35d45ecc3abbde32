"""Builds the app from fixture files in a temporary directory, never from the user's home."""

from __future__ import annotations

import shutil
from pathlib import Path

from sfttui.cli import demo_path
from sfttui.engine.session import Session
from sfttui.engine.settings import LoadSettings, ScanSettings
from sfttui.tui.app import SfttuiApp


def demo_copy(directory: Path) -> Path:
    target = directory / "demo.jsonl"
    shutil.copyfile(demo_path(), target)
    return target


def make_app(
    paths: list[Path], state: Path, *, out: str | Path = "demo-splits", group: str = "user_id"
) -> SfttuiApp:
    session = Session(
        paths=[str(p) for p in paths],
        settings=ScanSettings(load=LoadSettings(group_fields=(group,) if group else ())),
        state_dir=str(state),
        out_dir=str(out),
    )
    return SfttuiApp(session)


async def settle(pilot) -> None:
    """Wait until every worker (analysis, plan, export) has finished and the UI caught up."""
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
