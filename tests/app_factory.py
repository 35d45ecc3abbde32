"""Builds the app from fixture files in a temporary directory, never from the user's home."""

from __future__ import annotations

import random
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


def screen_text(app) -> str:
    """What the app's screen shows now, a line per row (no styles)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


def stopped_csv(path: Path, texts: list[str], unread: int) -> Path:
    """A CSV of `texts` whose reading stops after them: a quote opened and never closed,
    then `unread` lines that are never read."""
    lines = ["text", *texts, '"an opening quote that never closes', *[f"line {i}" for i in range(unread)]]
    path.write_text("\n".join(lines) + "\n")
    return path


def families_across_splits(families: int = 4) -> list[dict]:
    """Per family, a train row, a test row at word J 0.81 to it and a validation row at
    0.75: one leak per family at the threshold of 0.80, two at 0.74."""
    rng = random.Random(5)
    vocab = [f"w{i}" for i in range(400)]
    records = []
    for k in range(families):
        base = rng.sample(vocab, 30)
        near = [*base[:15], "x1", *base[16:]]  # one middle word: 25 of 31 3-grams shared
        farther = [*base[:10], "y1", "y2", *base[12:]]  # two adjacent: 24 of 32
        for split, words in (("train", base), ("test", near), ("validation", farther)):
            records.append({"text": " ".join(words), "label": "ab"[k % 2], "split": split})
    return records


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
