"""A large JSONL file read in byte blocks on worker processes gives what reading it whole
gives: the same rows, bad lines (with their line numbers), notes and file hash."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import pytest

from sfttui.engine.errors import InputError
from sfttui.engine.io import load as loading
from sfttui.engine.io.load import BOM, load
from sfttui.engine.runtime.processes import WorkerError, map_on_workers
from sfttui.engine.settings import LoadSettings


def _chat(i: int, label: object = "a") -> str:
    row = {
        "id": f"r{i}",
        "messages": [
            {"role": "user", "content": f"question {i} <b>[red]x[/red]</b>"},
            {"role": "assistant", "content": f"answer {i}"},
        ],
        "label": label,
        "meta": {"body": f"body {i}"},
    }
    return json.dumps(row, ensure_ascii=False)


def _hostile_lines(n: int) -> list[str]:
    """Good rows with every kind of trouble spread through them, so blocks cut across it."""
    lines = [_chat(i) for i in range(n)]
    lines[7] = "{not json"
    lines[150] = ""  # blank line
    lines[300] = BOM.decode() + _chat(300)  # a BOM inside the file is part of a line: no JSON
    lines[451] = _chat(451, label=3)  # an integer label among strings
    lines[600] = '{"messages": [{"role": "user", "content": "q"}], "label": "a", "label": "b"}'
    lines[777] = json.dumps({"messages": [{"role": "user", "content": "   "}], "label": "a"})
    lines[901] = "[1, 2]"
    return lines


def _write(path, lines: list[str], bom: bool = True, newline_at_end: bool = False) -> None:
    text = "\n".join(lines) + ("\n" if newline_at_end else "")
    path.write_bytes((BOM if bom else b"") + text.encode())


def _whole_and_blocks(monkeypatch, path, settings: LoadSettings):
    monkeypatch.setattr(loading, "cores", lambda: 1)
    whole = load([path], settings)
    monkeypatch.setattr(loading, "cores", lambda: 2)
    monkeypatch.setattr(loading, "PROCESS_MIN_BYTES", 1)
    monkeypatch.setattr(loading, "BLOCK_BYTES", 16 << 10)
    plan = loading.plan_file(path, path.name, settings)
    assert len(plan.blocks) > 4  # the file really is read in blocks
    return whole, load([path], settings)


@pytest.mark.parametrize("text_field", [None, "meta.body"])
def test_blocks_on_workers_give_what_the_whole_file_gives(monkeypatch, tmp_path, text_field):
    path = tmp_path / "big.jsonl"
    _write(path, _hostile_lines(1200))
    settings = LoadSettings(text_field=text_field)
    whole, blocks = _whole_and_blocks(monkeypatch, path, settings)
    assert blocks.rows.equals(whole.rows)
    assert blocks.bad_lines.equals(whole.bad_lines)
    assert [f.to_dict() for f in blocks.inputs] == [f.to_dict() for f in whole.inputs]
    assert blocks.notes == whole.notes
    bad = dict(zip(blocks.bad_lines["line"].to_list(), blocks.bad_lines["reason"].to_list()))
    assert bad[1].startswith("UTF-8 byte order mark")  # at the start of the file only
    assert 301 in bad and "JSON" in bad[301]  # line 301 starts with a BOM mid-file
    assert {8, 151, 452, 601, 902} <= set(bad)
    assert blocks.rows.height == 1200 - 7


def test_a_last_line_without_newline_and_a_block_edge_on_it(monkeypatch, tmp_path):
    path = tmp_path / "edge.jsonl"
    _write(path, [_chat(i) for i in range(400)], bom=False)
    whole, blocks = _whole_and_blocks(monkeypatch, path, LoadSettings())
    assert blocks.rows.equals(whole.rows)
    assert blocks.rows["line"].to_list() == list(range(1, 401))
    assert blocks.rows["key"].to_list()[-1] == "r399"


def _exit_with(code: int) -> None:
    import os

    os._exit(code)


def _fail(path: str) -> None:
    raise InputError(f"{path}: no such file")


def test_a_worker_that_dies_is_a_worker_error_and_an_error_raised_is_raised_here():
    with pytest.raises(WorkerError, match="exit code 3"):
        map_on_workers(_exit_with, [(3,)], 1)
    with pytest.raises(InputError, match=r"nope\.jsonl: no such file"):
        map_on_workers(_fail, [("nope.jsonl",)], 2)
    results, during = map_on_workers(pow, [(2, k) for k in range(7)], 3, meanwhile=lambda: "hashed")
    assert results == [2**k for k in range(7)] and during == "hashed"


def test_workers_keep_freed_memory_unless_the_environment_says_otherwise(monkeypatch):
    names = [("MALLOC_TRIM_THRESHOLD_",), ("MALLOC_MMAP_THRESHOLD_",), ("_RJEM_MALLOC_CONF",)]
    polars_own = os.environ["_RJEM_MALLOC_CONF"]  # what Polars set when it was imported
    for (name,) in names[:2]:
        monkeypatch.delenv(name, raising=False)
    results, _ = map_on_workers(os.getenv, names, 1)
    assert results[:2] == [str(1 << 30), str(256 << 20)]
    # The worker's Polars puts its defaults first again; jemalloc keeps the last value.
    assert results[2].endswith(f"{polars_own},dirty_decay_ms:-1,muzzy_decay_ms:-1")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert map_on_workers(os.getenv, names[:1], 1)[0] == ["131072"]
    assert os.getenv("MALLOC_MMAP_THRESHOLD_") is None  # this process's own is left alone


def test_no_interpreter_to_start_is_a_worker_error(monkeypatch):
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    with pytest.raises(WorkerError, match="cannot start a worker process"):
        map_on_workers(pow, [(2, 3), (2, 4)], 2)


def test_lost_workers_fall_back_to_reading_here_with_a_note(monkeypatch, tmp_path):
    path = tmp_path / "big.jsonl"
    _write(path, [_chat(i) for i in range(500)], bom=False)
    monkeypatch.setattr(loading, "cores", lambda: 2)
    monkeypatch.setattr(loading, "PROCESS_MIN_BYTES", 1)
    monkeypatch.setattr(loading, "BLOCK_BYTES", 8 << 10)

    def lost(*args, **kwargs):
        raise WorkerError("a worker process stopped (exit code -9)")

    monkeypatch.setattr(loading, "map_on_workers", lost)
    dataset = load([path])
    assert dataset.rows.height == 500
    assert "big.jsonl: read in this process (a worker process stopped (exit code -9))" in dataset.notes


def test_a_script_without_a_main_guard_loads_once(tmp_path):
    """Workers never import the caller's main module, so a plain script is not run again
    by each of them (as multiprocessing's spawned children would)."""
    path = tmp_path / "big.jsonl"
    _write(path, [_chat(i) for i in range(2000)], bom=False)
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from sfttui.engine.io import load as loading
            loading.cores = lambda: 2
            loading.PROCESS_MIN_BYTES = 1
            loading.BLOCK_BYTES = 32 << 10
            print("started")
            dataset = loading.load([{str(path)!r}])
            plan = loading.plan_file(loading.Path({str(path)!r}), "x", loading.LoadSettings())
            print(dataset.rows.height, len(plan.blocks))
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")
    assert lines.count("started") == 1
    rows, blocks = map(int, lines[1].split())
    assert rows == 2000 and blocks > 2


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, (5 << 20) + 17])
def test_file_sha256_matches_hashing_all_bytes_at_once(tmp_path, size):
    """The file hash reuses one buffer: sizes on and around its edge give hashlib's digest."""
    path = tmp_path / "bytes.jsonl"
    data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    path.write_bytes(data)
    assert loading.file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_a_label_or_split_field_that_starts_late_is_named_whole_or_in_blocks(monkeypatch, tmp_path):
    # The schema comes from the first records: fields that first appear after them are
    # not used, and each file says so (they were ignored without a word for 'split').
    monkeypatch.setattr(loading, "_PARSE_CHUNK", 100)
    rows = [{"text": f"row {i} " + "word " * 20} for i in range(2000)]
    for i in range(700, 2000):
        rows[i] |= {"label": "a", "split": "test"} if i % 2 else {"split": "train"}
    for i in range(2000 - 30, 2000):  # no split named: not counted
        rows[i]["split"] = None if i % 2 else " "
    path = tmp_path / "late.jsonl"
    _write(path, [json.dumps(r) for r in rows], bom=False, newline_at_end=True)
    whole, blocks = _whole_and_blocks(monkeypatch, path, LoadSettings())
    expected = [
        "late.jsonl: 650 rows after the first 100 carry 'label' but the first ones do not; "
        "labels were not used for this file",
        "late.jsonl: 1,270 rows after the first 100 carry 'split' but the first ones do not; "
        "the split field was not used for this file",
    ]
    assert whole.inputs[0].notes == expected and blocks.inputs[0].notes == expected
    assert whole.rows["split"].null_count() == 2000 and whole.rows["label"].null_count() == 2000


def test_a_label_field_named_split_that_starts_late_gets_both_notes(monkeypatch, tmp_path):
    monkeypatch.setattr(loading, "_PARSE_CHUNK", 100)
    rows = [{"text": f"row {i}"} | ({"split": "a"} if i >= 150 else {}) for i in range(300)]
    path = tmp_path / "late.jsonl"
    _write(path, [json.dumps(r) for r in rows], bom=False, newline_at_end=True)
    notes = load([path], LoadSettings(label_field="split")).inputs[0].notes
    assert notes == [
        "late.jsonl: 150 rows after the first 100 carry 'split' but the first ones do not; "
        "labels were not used for this file",
        "late.jsonl: 150 rows after the first 100 carry 'split' but the first ones do not; "
        "the split field was not used for this file",
    ]
