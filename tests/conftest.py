from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[..., Path]:
    """Write rows (dicts, or raw strings taken as lines verbatim) to a JSONL file."""

    def write(name: str, rows: list[object], *, newline_at_end: bool = True) -> Path:
        path = tmp_path / name
        lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
        path.write_text("\n".join(lines) + ("\n" if newline_at_end else ""), encoding="utf-8")
        return path

    return write


def word_shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    """An independent reference: normalised word n-gram set (only ASCII test texts)."""
    import re

    words = re.sub(r"[^\w\s]", " ", text.lower()).split()
    if len(words) < n:
        return {tuple(words)}
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b)


@pytest.fixture(autouse=True)
def state_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test keeps sfttui's state (journals, positions) in a fresh directory of its
    own, never in the real ~/.local/state."""
    home = tmp_path_factory.mktemp("state-home")
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    return home / "sfttui"
