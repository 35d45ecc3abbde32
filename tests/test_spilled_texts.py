"""The rows' texts kept in files while a scan runs (texts.py): every read gives what the
column gave, every analysis gives the same results, and the files go with the scan."""

from __future__ import annotations

import gc
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import sfttui.engine.io.texts as texts_module
from sfttui.engine.io.load import load
from sfttui.engine.io.texts import SpilledTexts
from sfttui.engine.report import build_report
from sfttui.engine.scan import run_scan
from sfttui.engine.session import Session
from sfttui.engine.settings import LoadSettings, ScanSettings

from .conftest import DEMO, demo_eval_file

HOSTILE = ["", "plain", "new\nline", "nul\x00byte", "emoji 🙂 and é", "[b]markup[/b]", "\x1b[31mred", " "]


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 7 texts and slices of 50 rows: a few thousand rows cross hundreds of
    batch and slice edges."""
    monkeypatch.setattr(texts_module, "BATCH_ROWS", 7)
    monkeypatch.setattr(texts_module, "SLICE_ROWS", 50)


def test_slices_and_gathers_read_what_the_column_holds(small_batches, tmp_path):
    column = pl.Series("text", [HOSTILE[i % len(HOSTILE)] + f" {i}" for i in range(100)])
    spilled = SpilledTexts.spill(column, tmp_path)
    assert len(spilled) == 100 and len(list(spilled.folder.glob("*.arrows"))) == 15  # ceil(100 / 7)
    for offset, length in [(0, 100), (0, 1), (6, 2), (7, 7), (13, 30), (95, 10), (99, None), (100, 5)]:
        assert spilled.slice(offset, length).to_list() == column.slice(offset, length).to_list()
    rng = np.random.default_rng(0)
    for size in (1, 5, 60, 300):  # out of order, repeated, spread over every batch
        at = rng.integers(0, 100, size)
        assert spilled.gather(at).to_list() == column.gather(at).to_list()
    for at in (np.arange(5, 40), np.sort(rng.integers(0, 100, 50)), [9, 9, 10], [3, 2]):  # runs, ascending
        assert spilled.gather(at).to_list() == column.gather(at).to_list()
    assert spilled.gather([]).to_list() == [] and spilled[2] == column[2] == "new\nline 2"
    assert spilled.to_series().to_list() == column.to_list()
    with pytest.raises(IndexError):
        spilled.gather([100])


def test_the_files_go_with_the_texts_and_a_copy_removes_nothing(tmp_path):
    spilled = SpilledTexts.spill(pl.Series(["a", "b"]), tmp_path)
    folder = spilled.folder
    copy = pickle.loads(pickle.dumps(spilled))  # as a worker process receives it
    del copy
    gc.collect()
    assert folder.is_dir() and spilled.slice(0).to_list() == ["a", "b"]
    del spilled
    gc.collect()
    assert not folder.exists() and list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_written_keeps_the_texts_in_the_rows(tmp_path):
    data = tmp_path / "data.jsonl"
    data.write_text('{"text": "one"}\n{"text": "two"}\n', encoding="utf-8")
    dataset = load([data])
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("mine")
    kept = dataset.spill_texts(not_a_folder)  # as a full or read-only disk: OSError
    assert kept.texts is None and kept.rows["text"].to_list() == ["one", "two"]
    assert kept.notes[-1].startswith(f"the texts stay in memory: they cannot be written to {not_a_folder} (")
    assert not_a_folder.read_text() == "mine"
    spilled = dataset.spill_texts(tmp_path)
    assert "text" not in spilled.rows.columns and spilled.text_of(1) == "two"
    assert spilled.prompt_of(0) == "one" and spilled.find(spilled.rows["key"][1])[0] == "two"


def test_every_analysis_and_the_split_are_the_same_with_the_texts_in_files(
    small_batches, tmp_path, monkeypatch
):
    monkeypatch.setenv("SFTTUI_TEMP_DIR", str(tmp_path))
    settings = ScanSettings(
        load=LoadSettings(group_fields=("user_id",)), eval_paths=(str(demo_eval_file(tmp_path)),)
    )
    held = run_scan([DEMO], settings)
    spilled = run_scan([DEMO], settings, spill=True)
    assert spilled.dataset.texts is not None and "text" not in spilled.dataset.rows.columns
    assert spilled.dataset.texts.folder.parent == tmp_path
    assert build_report(spilled) == build_report(held)
    # And the parts the report summarises, whole.
    assert spilled.duplicates.clusters.equals(held.duplicates.clusters)
    assert spilled.duplicates.input.clusters.equals(held.duplicates.input.clusters)
    # Every hit before eval_hits_at merges them (their order is the threads', either way).
    assert spilled.leakage.eval_found.sort(pl.all()).equals(held.leakage.eval_found.sort(pl.all()))
    assert spilled.coverage.hard_candidates.equals(held.coverage.hard_candidates)
    assert spilled.quality.artifacts.equals(held.quality.artifacts)
    assert spilled.lengths.tokens.equals(held.lengths.tokens)
    # Not a vacuous comparison: the demo has every kind of finding that reads texts.
    assert held.duplicates.clusters.height > 50 and held.duplicates.input.clusters.height > 0
    assert set(held.leakage.eval_hits["kind"]) == {"exact", "near", "ngram"}
    assert held.coverage.hard_candidates.height > 0 and held.quality.artifacts.height > 0
    # The split written from either is the same, file for file.
    written = {}
    for spill in (False, True):
        session = Session(
            paths=[str(DEMO)], settings=settings, explore=False, writes_state=False, spill=spill
        )
        session.analyse()
        out = tmp_path / f"out-{spill}"
        session.write(session.plan(), out)
        written[spill] = {
            name: (out / name).read_bytes() for name in ("train.jsonl", "test.jsonl", "dropped.jsonl")
        }
    assert written[True] == written[False] and len(written[True]["train.jsonl"]) > 100_000


def test_keep_longest_reads_the_same_lengths_from_files(small_batches, tmp_path, monkeypatch):
    monkeypatch.setenv("SFTTUI_TEMP_DIR", str(tmp_path))
    settings = ScanSettings(keep="longest")
    held, spilled = run_scan([DEMO], settings), run_scan([DEMO], settings, spill=True)
    assert build_report(spilled) == build_report(held)
    for side in (held, spilled):
        assert side.duplicates.context.frame["length"].max() > 100  # every row's, both sides
    assert spilled.duplicates.context.frame["length"].equals(held.duplicates.context.frame["length"])
    inputs = (held.duplicates.input.context.frame, spilled.duplicates.input.context.frame)
    assert inputs[1]["length"].equals(inputs[0]["length"])


_DIES_HOLDING = """
import os, sys
import polars as pl
from sfttui.engine.io.texts import SpilledTexts
spilled = SpilledTexts.spill(pl.Series(["a", "b"]), sys.argv[1])
print(spilled.folder, flush=True)
os._exit(0)  # as a kill or the out-of-memory killer: no finalizer runs
"""


def _spilled_by_a_scan_that_dies(directory: Path) -> Path:
    ran = subprocess.run(
        [sys.executable, "-c", _DIES_HOLDING, str(directory)], capture_output=True, text=True, check=True
    )
    return Path(ran.stdout.strip())


def test_a_folder_whose_scan_died_goes_with_the_next_spill_and_no_other(tmp_path):
    died = _spilled_by_a_scan_that_dies(tmp_path)
    assert died.parent == tmp_path and len(list(died.glob("*.arrows"))) == 1
    # Another dead scan's folder holding a file it did not write: that file stays.
    other = _spilled_by_a_scan_that_dies(tmp_path)
    (other / "notes.txt").write_text("mine")
    not_a_scan = tmp_path / "sfttui-texts-by-hand"  # no owner file: not judged
    not_a_scan.mkdir()
    (not_a_scan / "000000.arrows").write_bytes(b"x")
    alive = SpilledTexts.spill(pl.Series(["c"]), tmp_path)
    assert not died.exists()
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]
    assert (not_a_scan / "000000.arrows").read_bytes() == b"x"
    # A live scan's folder (this process holds it) is never taken for a dead one's.
    again = SpilledTexts.spill(pl.Series(["d"]), tmp_path)
    assert alive.slice(0).to_list() == ["c"] and again.slice(0).to_list() == ["d"]
    folders = {alive.folder, again.folder}
    del alive, again
    gc.collect()
    assert not any(folder.exists() for folder in folders)


def test_a_scan_without_low_memory_also_sweeps_a_dead_scans_folder(tmp_path, monkeypatch):
    # A scan killed for memory is run again without --low-memory, and its texts (1.4 GB
    # at 5M rows) stayed in the temporary folder: only a spilling scan swept.
    monkeypatch.setenv("SFTTUI_TEMP_DIR", str(tmp_path))
    alive = SpilledTexts.spill(pl.Series(["a"]), tmp_path)  # a live scan's: never swept
    died = _spilled_by_a_scan_that_dies(tmp_path)  # after: the spill above sweeps too
    assert died.exists()
    result = run_scan([str(DEMO)], ScanSettings(), spill=False)
    assert result.dataset.texts is None and result.dataset.rows.height == 2_671
    assert not died.exists()
    assert alive.folder.exists() and alive.slice(0).to_list() == ["a"]


def test_without_file_locks_the_folder_still_goes_with_the_texts(tmp_path, monkeypatch):
    monkeypatch.setattr(texts_module, "fcntl", None)  # as on Windows
    spilled = SpilledTexts.spill(pl.Series(["a"]), tmp_path)
    folder = spilled.folder
    assert not (folder / ".owner").exists() and spilled.slice(0).to_list() == ["a"]
    assert texts_module.remove_abandoned(tmp_path) == [] and folder.exists()
    del spilled
    gc.collect()
    assert not folder.exists()


def test_a_file_system_without_locks_still_takes_the_texts(tmp_path, monkeypatch):
    class NoLocks:  # flock as on some network file systems
        LOCK_EX, LOCK_NB = 2, 4

        @staticmethod
        def flock(handle: int, operation: int) -> None:
            raise OSError(37, "No locks available")

    monkeypatch.setattr(texts_module, "fcntl", NoLocks)
    spilled = SpilledTexts.spill(pl.Series(["a", "b"]), tmp_path)
    folder = spilled.folder
    assert sorted(p.name for p in folder.iterdir()) == ["000000.arrows"]  # no owner file: never swept
    assert spilled.slice(0).to_list() == ["a", "b"]
    del spilled
    gc.collect()
    assert not folder.exists()
