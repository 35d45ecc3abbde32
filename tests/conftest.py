from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEMO = Path(__file__).resolve().parents[1] / "sfttui" / "data" / "demo.jsonl"


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


# --- one analysis per distinct input ----------------------------------------------------
# Most Pilot and snapshot tests open the app on the same demo data with the same
# settings; each used to run every analysis again (~2 s apiece). A session's analysis
# is a pure function of the inputs' bytes and names, the settings and the engine, so
# its result is kept (pickled, as the analysis process hands it to the app) and every
# later session over the same input gets a fresh copy, its progress calls replayed.
_SCANS: dict[tuple, tuple[bytes, list[tuple[object, float]]]] = {}


def _scan_key(paths, settings, explore_floor) -> tuple | None:
    import hashlib
    import os

    names = [os.path.basename(os.fspath(p)) for p in paths]
    if len(set(names)) < len(names):  # names then carry the paths, which differ per test
        return None
    digests = tuple(hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths)
    return (tuple(names), digests, repr(settings), explore_floor)


def _cached_scan(paths, settings=None, progress=None, explore_floor=None, engine=None, spill=False):
    import os
    import pickle

    from sfttui.engine.runtime.parallel import LOCAL
    from sfttui.engine.runtime.progress import no_progress
    from sfttui.engine.scan import run_scan

    progress = progress or no_progress
    engine = engine or LOCAL
    try:
        # Not kept with the texts in files: a kept result would keep its folder past the
        # test, and a worker process ends without removing it.
        key = _scan_key(paths, settings, explore_floor) if engine is LOCAL and not spill else None
    except OSError:
        key = None  # an unreadable input: the real scan says why
    if key is None:
        return run_scan(paths, settings, progress, explore_floor=explore_floor, engine=engine, spill=spill)
    fresh = key not in _SCANS
    if fresh:
        calls: list[tuple[object, float]] = []

        def record(stage, fraction):
            calls.append((stage, fraction))
            progress(stage, fraction)

        result = run_scan(paths, settings, record, explore_floor=explore_floor, engine=engine)
        _SCANS[key] = (pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL), calls)
    payload, calls = _SCANS[key]
    # A later scan of the same data reports the progress the first one did; the first has
    # reported it already, as it ran (twice, the bar seemed to go back).
    for stage, fraction in [] if fresh else calls:
        progress(stage, fraction)
    result = pickle.loads(payload)
    for given, found in zip(paths, result.dataset.inputs):
        # This test's copy of the same bytes: read back and checked for changes there.
        found.path, found.mtime_ns = str(Path(given)), os.stat(given).st_mtime_ns
    return result


@pytest.fixture(autouse=True)
def shared_analyses(monkeypatch: pytest.MonkeyPatch) -> None:
    import sfttui.engine.session

    monkeypatch.setattr(sfttui.engine.session, "run_scan", _cached_scan)


@pytest.fixture(autouse=True)
def quick_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps in tests draw their final frames without animating to them (a tab switch
    waited ~0.3 s for the underline to slide), re-plan 10 ms after a decision instead
    of 0.5 s (the pause the person's keys get) and redraw the Duplicates detail 10 ms
    after keys in quick succession, not 80. What they show once settled is the same."""
    import textual.constants

    import sfttui.tui.app
    import sfttui.tui.tabs.duplicates

    monkeypatch.setattr(textual.constants, "TEXTUAL_ANIMATIONS", "none")
    # Toasts stay until replaced: on a loaded machine a 5 s toast expired before the
    # test that pressed its key could read it.
    monkeypatch.setattr(sfttui.tui.app.SfttuiApp, "NOTIFICATION_TIMEOUT", 600)
    monkeypatch.setattr(sfttui.tui.app, "REPLAN_AFTER", 0.01)
    monkeypatch.setattr(sfttui.tui.tabs.duplicates, "DETAIL_PAUSE", 0.01)


@pytest.fixture(autouse=True)
def quick_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pilot waits after each key until the process is idle, polling every 20 ms: two
    polls a key, ~40 ms of sleep per key, which was a third of the Pilot tests' time
    with a core left idle. Polling every 4 ms (idle: under 0.2 ms of CPU in a poll, the
    same share) sees the same idle state sooner; settle() still waits for workers."""
    import textual._wait

    monkeypatch.setattr(textual._wait, "SLEEP_GRANULARITY", 0.004)
    monkeypatch.setattr(textual._wait, "SLEEP_IDLE", 0.0002)


# Tests that mostly wait (on a terminal, a child process or a Dask cluster) go first: under
# xdist a worker waiting early lets the other run, a worker waiting last is the suite's tail.
_WAITING_FIRST = (
    "test_terminal.py",
    "test_hostile_journal.py",
    "test_dask_engine.py",
    "test_load_workers.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in _WAITING_FIRST)


def demo_eval_file(tmp_path: Path) -> Path:
    """Eval items taken from the demo itself: some verbatim, some with words added."""
    out = []
    for i, line in enumerate(DEMO.read_text(encoding="utf-8").splitlines()[:400:13]):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # the demo's planted bad lines
        if i % 2 and row.get("messages"):
            row["messages"][-1]["content"] += " thanks again"  # a near copy of the conversation
        out.append(json.dumps({**row, "id": f"e{i}"}))
    path = tmp_path / "eval.jsonl"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path
