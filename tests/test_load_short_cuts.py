"""The loader's short cuts give exactly what the long way gives, and leave the process as
they found it."""

from __future__ import annotations

import gc

from sfttui.engine.io.load import load
from sfttui.engine.runtime.memory import collector_paused
from sfttui.engine.runtime.progress import Stage
from sfttui.engine.settings import LoadSettings


def test_records_are_read_with_the_collector_paused_and_it_runs_again_after(write_jsonl):
    path = write_jsonl(
        "chat.jsonl",
        [
            {"messages": [{"role": "user", "content": f"q {i}"}, {"role": "assistant", "content": "a"}]}
            for i in range(50)
        ],
    )
    seen: list[tuple[float, bool]] = []

    def progress(stage: str, fraction: float) -> None:
        if stage == Stage.LOAD:
            seen.append((fraction, gc.isenabled()))

    assert gc.isenabled()
    dataset = load([path], LoadSettings(), progress)
    assert dataset.rows.height == 50
    assert any(not enabled for _, enabled in seen), seen  # ticks come from inside the pause
    assert gc.isenabled()
    gc.disable()
    try:
        load([path], LoadSettings())
        assert not gc.isenabled()  # a caller that turned it off finds it off
    finally:
        gc.enable()


def test_overlapping_pauses_end_with_the_last():
    first, second = collector_paused(), collector_paused()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()
