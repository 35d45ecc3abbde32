"""The loader's short cuts give exactly what the long way gives, and leave the process as
they found it."""

from __future__ import annotations

import gc
import itertools

import pytest

from sfttui.engine.io import formats
from sfttui.engine.io.load import load
from sfttui.engine.runtime.memory import collector_paused
from sfttui.engine.runtime.progress import Stage
from sfttui.engine.settings import LoadSettings

CONTENTS = ["Hi", "two\nlines", "[b]markup[/b] \x1b[31m", "  padded  ", "é" * 3, "\x1c", " ", ""]


def _general(turns: list[dict]) -> formats.Extracted | None:
    """The checking loop's answer, or None where it sets the record aside."""
    try:
        return formats._extracted(*formats._checked_turns(turns, "messages", "role", "content"))
    except formats.BadRecord:
        return None


@pytest.mark.parametrize(
    "roles", [*sorted(formats._WELL_FORMED), ("USER", "Assistant"), ("System", "user", "gpt")]
)
def test_the_well_formed_short_cut_agrees_with_the_checking_loop(roles):
    for contents in itertools.product(CONTENTS, repeat=len(roles)):
        turns = [{"role": r, "content": c} for r, c in zip(roles, contents)]
        fast = formats._well_formed(turns, "role", "content")
        slow = _general(turns)
        if fast is not None:
            assert fast == slow, (roles, contents)
        elif roles in formats._WELL_FORMED or tuple(r.lower() for r in roles) in formats._WELL_FORMED:
            # Declined only where a turn is blank: the long way then sets the row aside or
            # flags a blank reply; it never gives a plain row.
            assert any(not c.strip() for c in contents), (roles, contents)
            assert slow is None or slow[4] != 0


@pytest.mark.parametrize(
    "turns",
    [
        [{"role": "assistant", "content": "a"}, {"role": "user", "content": "q"}],
        [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "a"},
            {"role": "user", "content": "q"},
        ],
        [{"role": "user", "content": "q"}, {"role": "assistant", "content": 5}],
        [{"role": "user", "content": "q"}, {"role": "assistant"}],
        [{"role": "user", "content": "q"}, {"role": None, "content": "a"}],
        [{"role": "user", "content": "q"}, "a"],
        [{"role": "user", "content": "q"}, {"role": "assistant", "content": [{"type": "text", "text": "a"}]}],
        [{"role": ["user"], "content": "q"}, {"role": "assistant", "content": "a"}],
        [{"role": 1, "content": "q"}, {"role": 2, "content": "a"}],
        [
            {"role": "system", "content": "  "},
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "a"},
        ],
        [{"role": "system"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
        [
            {"role": "system", "content": None},
            {"role": "user", "content": "q"},
            {"role": "gpt", "content": "a"},
        ],
        [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "a"},
            {"role": "assistant", "content": "b"},
        ],
        [["user", "q"], ["assistant", "a"]],
        [{"role": "user", "content": "q"}],
    ],
)
def test_anything_else_is_left_to_the_checking_loop(turns):
    assert formats._well_formed(turns, "role", "content") is None


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
