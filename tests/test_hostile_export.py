"""Hostile inputs and habits, export side: every input format, output directories that must
not be replaced, crashes between renames, the umask, split names, empty and repeated inputs.

Part of the hostile-input battery (tests/test_hostile_*.py): each test here failed on the
code before it was fixed (issue 15).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import zstandard
from click.testing import CliRunner

from sfttui.cli import main
from sfttui.engine.io.outdir import UNFINISHED

from .conftest import DEMO

SPLIT_FILES = ("train.jsonl", "validation.jsonl", "test.jsonl")


def _split(*args: str):
    return CliRunner().invoke(main, ["split", *args])


def _scan(*args: str):
    return CliRunner().invoke(main, ["scan", *args])


def _records(n: int = 40) -> list[dict]:
    topics = ["billing", "refund", "login", "shipping"]
    return [
        {
            "text": f"question {i} about {topics[i % 4]} and the account number {i * 7919}",
            "label": topics[i % 4],
        }
        for i in range(n)
    ]


def _jsonl_bytes(records: list[dict]) -> bytes:
    # ensure_ascii off and a space after colons: the byte-identical check must see the
    # input's own spelling of each line, not orjson's.
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def _write_format(directory: Path, fmt: str, records: list[dict]) -> Path:
    raw = _jsonl_bytes(records)
    if fmt == "jsonl":
        path = directory / "data.jsonl"
        path.write_bytes(raw)
    elif fmt == "jsonl.gz":
        path = directory / "data.jsonl.gz"
        path.write_bytes(gzip.compress(raw))
    elif fmt == "jsonl.zst":
        path = directory / "data.jsonl.zst"
        path.write_bytes(zstandard.ZstdCompressor().compress(raw))
    elif fmt in ("csv", "tsv"):
        path = directory / f"data.{fmt}"
        pl.DataFrame(records).write_csv(path, separator="," if fmt == "csv" else "\t")
    elif fmt == "parquet":
        path = directory / "data.parquet"
        pl.DataFrame(records).write_parquet(path)
    else:
        path = directory / "data.json"
        path.write_text(json.dumps(records))
    return path


def _written_lines(out: Path) -> list[bytes]:
    return [line for name in SPLIT_FILES for line in (out / name).read_bytes().splitlines()]


# --- item 1: export from every supported input format -------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "jsonl.zst"])
def test_jsonl_in_any_compression_is_written_byte_for_byte(tmp_path, fmt):
    records = _records()
    data = _write_format(tmp_path, fmt, records)
    out = tmp_path / "out"
    result = _split(str(data), "--out", str(out), "--state-dir", str(tmp_path / "state"))
    assert result.exit_code == 0, result.output
    assert sorted(_written_lines(out)) == sorted(_jsonl_bytes(records).splitlines())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["written_as_jsonl"] == []
    assert sum(manifest["counts"][s] for s in ("train", "validation", "test")) == 40


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "json"])
def test_other_formats_are_written_as_one_json_record_per_line(tmp_path, fmt):
    records = _records()
    data = _write_format(tmp_path, fmt, records)
    out = tmp_path / "out"
    result = _split(str(data), "--out", str(out), "--state-dir", str(tmp_path / "state"))
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in _written_lines(out)]
    key = lambda r: (r["text"], r["label"])  # noqa: E731
    assert sorted(written, key=key) == sorted(records, key=key)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["written_as_jsonl"] == [data.name]


# --- item 2: never delete a file sfttui did not write --------------------------------------


def _tree(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def test_force_into_the_data_directory_is_refused_and_deletes_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.jsonl").write_bytes(_jsonl_bytes(_records()))
    (data / "sibling.jsonl").write_bytes(b'{"text": "someone else\'s file"}\n')
    state = data / "state"
    state.mkdir()
    (state / "keep.json").write_text("{}")
    before = _tree(tmp_path)
    result = _split(str(data / "x.jsonl"), "--out", str(data), "--force", "--state-dir", str(state))
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: --out {data} contains the input {data / 'x.jsonl'}; sfttui never removes its "
        "inputs or state: choose another output directory"
    ]
    after = _tree(tmp_path)
    assert {k: after.get(k) for k in before} == before


def test_an_input_under_another_spelling_of_the_output_is_refused(tmp_path, monkeypatch):
    # On a case-insensitive file system (or through a bind mount) `splits/` and `Splits/`
    # are one directory with two resolved spellings; the names alone let --force replace
    # the earlier output holding the input. Simulated: resolve() keeps a symlink's name.
    from sfttui.engine.io.outdir import OutputRefused, Protected, check_output

    out = tmp_path / "splits"
    out.mkdir()
    (out / "train.jsonl").write_bytes(_jsonl_bytes(_records()))
    time.sleep(0.01)  # the manifest is written last
    digest = hashlib.sha256((out / "train.jsonl").read_bytes()).hexdigest()
    (out / "manifest.json").write_text(
        json.dumps({"schema": "sfttui.manifest/1", "outputs": {"train.jsonl": digest}})
    )
    alias = tmp_path / "Splits"
    alias.symlink_to(out)
    monkeypatch.setattr(Path, "resolve", lambda self, strict=False: Path(os.path.abspath(self)))
    with pytest.raises(OutputRefused, match=f"contains the input {alias / 'train.jsonl'}"):
        check_output(out, [Protected(alias / "train.jsonl", "input")], force=True)
    with pytest.raises(OutputRefused, match=f"--out {out} is the state directory {alias};"):
        check_output(out, [Protected(alias, "state directory")], force=True)
    assert check_output(out, [Protected(tmp_path / "elsewhere.jsonl", "input")], force=True) == out


def test_an_output_holding_the_state_directory_is_refused(tmp_path):
    data = _write_format(tmp_path, "jsonl", _records())
    out = tmp_path / "out"
    state = out / "state"
    state.mkdir(parents=True)
    result = _split(str(data), "--out", str(out), "--force", "--state-dir", str(state))
    assert result.exit_code == 2
    assert "contains the state directory" in result.output
    assert state.is_dir()


def test_files_added_to_an_earlier_output_are_never_removed(tmp_path):
    data = _write_format(tmp_path, "jsonl", _records())
    out, state = tmp_path / "out", str(tmp_path / "state")
    assert _split(str(data), "--out", str(out), "--state-dir", state).exit_code == 0
    (out / "my-notes.txt").write_text("notes")
    result = _split(str(data), "--out", str(out), "--force", "--state-dir", state)
    assert result.exit_code == 2
    assert (
        "holds files sfttui did not write, or that changed since it wrote them (my-notes.txt)"
        in result.output.replace("\n", "")
    )
    assert (out / "my-notes.txt").read_text() == "notes"


def test_out_dot_with_force_in_the_data_directory_is_one_line_not_a_traceback(tmp_path, monkeypatch):
    data = _write_format(tmp_path, "jsonl", _records())
    monkeypatch.chdir(tmp_path)
    before = _tree(tmp_path)
    result = _split(data.name, "--out", ".", "--force", "--state-dir", str(tmp_path.parent / "st"))
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.startswith("error: --out . contains the input data.jsonl")
    assert _tree(tmp_path) == before


def test_a_negative_seed_is_a_usage_error(tmp_path):
    data = _write_format(tmp_path, "jsonl", _records())
    result = _split(str(data), "--out", str(tmp_path / "o"), "--seed", "-5")
    assert result.exit_code == 2
    assert "Invalid value for '--seed': -5 is not in the range 0<=x<=18446744073709551615" in result.output
    assert not (tmp_path / "o").exists()


# --- item 3: a crash between the two renames of a replacement ------------------------------

_CRASH_BETWEEN_RENAMES = """
import os, sys
from sfttui.engine.io import outdir
real = os.rename
calls = []
def rename(src, dst):
    calls.append(src)
    if len(calls) == 2:  # the old output is aside, the new one not yet in place
        os._exit(9)
    real(src, dst)
outdir.os.rename = rename
from sfttui.cli import main
sys.argv = ["sfttui", "split", *sys.argv[1:]]
main()
"""


def test_a_crash_between_the_renames_is_mended_on_the_next_run(tmp_path):
    data = _write_format(tmp_path, "jsonl", _records())
    out, state = tmp_path / "out", str(tmp_path / "state")
    assert _split(str(data), "--out", str(out), "--state-dir", state).exit_code == 0
    earlier = _tree(out)
    args = [str(data), "--out", str(out), "--force", "--state-dir", state, "--seed", "7"]
    crashed = subprocess.run([sys.executable, "-c", _CRASH_BETWEEN_RENAMES, *args], capture_output=True)
    assert crashed.returncode == 9
    assert not out.exists()
    hidden = sorted(p.name.split("-")[0] for p in tmp_path.iterdir() if p.name.startswith(".out."))
    assert hidden == [".out.old", ".out.tmp"]

    # Without --force: the earlier output is put back, and the refusal says so. A run
    # refused removes nothing; the unfinished one goes with the next write allowed.
    again = _split(str(data), "--out", str(out), "--state-dir", state)
    assert again.exit_code == 2
    assert "restored the earlier output" in again.output and "removed" not in again.output
    assert _tree(out) == earlier
    hidden = sorted(p.name.split("-")[0] for p in tmp_path.iterdir() if p.name.startswith(".out."))
    assert hidden == [".out.tmp"]
    forced = _split(str(data), "--out", str(out), "--state-dir", state, "--force")
    assert forced.exit_code == 0 and "removed 1 unfinished or replaced output directory" in forced.output
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")] == []


def test_stale_temporary_directories_are_cleaned_and_reported(tmp_path):
    data = _write_format(tmp_path, "jsonl", _records())
    out, state = tmp_path / "out", str(tmp_path / "state")
    dead = tmp_path / ".out.tmp-999999999-ab12cd34"  # no such process
    dead.mkdir()
    (dead / UNFINISHED).touch()  # as every write makes its temporary directory
    (dead / "train.jsonl").write_bytes(b'{"text": "half"}\n')
    foreign = tmp_path / ".out.tmp-999999998-ffff0000"
    foreign.mkdir()
    (foreign / "diary.txt").write_text("not ours")
    # Named like a leftover and holding only output names, but never made by a write:
    # a person's data (it was removed, though the run that removed it was then refused).
    named = tmp_path / ".out.tmp-999999997-0badf00d"
    named.mkdir()
    (named / "train.jsonl").write_bytes(b'{"text": "my own rows", "label": "billing"}\n')
    result = _split(str(data), "--out", str(out), "--state-dir", state)
    assert result.exit_code == 0, result.output
    said = result.output.replace("\n", "")
    assert "recovered: removed 1 unfinished or replaced output directory" in said
    assert f"left {foreign} alone" in said and f"left {named} alone" in said
    assert not dead.exists() and (foreign / "diary.txt").read_text() == "not ours"
    assert (named / "train.jsonl").read_bytes() == b'{"text": "my own rows", "label": "billing"}\n'


def test_leftovers_removed_before_a_write_fails_are_still_said(tmp_path, monkeypatch):
    # A full disk after the leftovers beside --out were removed: the error alone was
    # said, and the removal was not.
    import errno

    from sfttui.engine import export

    data = _write_format(tmp_path, "jsonl", _records())
    out, state = tmp_path / "out", str(tmp_path / "state")
    dead = tmp_path / ".out.tmp-999999999-ab12cd34"
    dead.mkdir()
    (dead / UNFINISHED).touch()

    def full(path: Path, pieces: Iterable[bytes]) -> str:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(export, "_write_pieces", full)
    result = _split(str(data), "--out", str(out), "--state-dir", state)
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert said.startswith(f"error: cannot write {out}: No space left on device")
    assert (
        "recovered: removed 1 unfinished or replaced output directory left beside out by an interrupted write"
        in said
    )
    assert not dead.exists() and not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_a_leftover_that_holds_an_input_is_never_removed(tmp_path):
    # Every split removed a folder named like its leftovers before it read anything:
    # here the input itself, then said it "cannot read it any more".
    folder = tmp_path / ".data.tmp-999999-0badf00d"
    folder.mkdir()
    (folder / UNFINISHED).touch()
    data = _write_format(folder, "jsonl", _records())
    (folder / "data.jsonl").rename(folder / "train.jsonl")
    kept = (folder / "train.jsonl").read_bytes()
    result = _split(
        str(folder / "train.jsonl"), "--out", str(tmp_path / "data"), "--state-dir", str(tmp_path / "s")
    )
    assert result.exit_code == 0, result.output
    assert f"left {folder} alone: it holds the input {folder / 'train.jsonl'}" in result.output.replace(
        "\n", ""
    )
    assert (folder / "train.jsonl").read_bytes() == kept and data.parent == folder


def _output_set_aside(tmp_path: Path, name: str, pid: int = 999999999) -> tuple[Path, Path, str, dict, Path]:
    """An output written, then set aside as a write cut off between its two renames
    leaves it: (data, out, state, the output's files, the folder it is aside in)."""
    data = _write_format(tmp_path, "jsonl", _records())
    out, state = tmp_path / name, str(tmp_path / "state")
    assert _split(str(data), "--out", str(out), "--state-dir", state).exit_code == 0
    earlier = _tree(out)
    return data, out, state, earlier, out.rename(tmp_path / f".{name}.old-{pid}-abcdef12")


def test_a_refused_write_removes_nothing_and_keeps_an_earlier_output_set_aside(tmp_path):
    # A write cut off between its renames left the earlier output aside; the person then
    # made --out anew with a file in it. The next split, refused, deleted the earlier
    # output, its only copy ("removed 2 unfinished or replaced output directories").
    data, out, state, earlier, aside = _output_set_aside(tmp_path, "o")
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    refused = _split(str(data), "--out", str(out), "--state-dir", state)
    assert refused.exit_code == 2 and "removed" not in refused.output
    assert _tree(aside) == earlier
    # A write allowed into the emptied folder still keeps it: --out was not sfttui's.
    (out / "notes.txt").unlink()
    allowed = _split(str(data), "--out", str(out), "--state-dir", state)
    assert allowed.exit_code == 0, allowed.output
    said = allowed.output.replace("\n", "")
    assert f"kept the earlier output {aside}: o holds no output of sfttui's that replaced it" in said
    assert _tree(aside) == earlier


def test_a_leftover_name_with_a_number_no_process_has_is_left_alone(tmp_path):
    # os.kill(pid, 0) raised OverflowError: a traceback.
    data = _write_format(tmp_path, "jsonl", _records())
    odd = tmp_path / ".o.tmp-99999999999999999999-deadbeef"
    odd.mkdir()
    (odd / "notes.txt").write_text("mine")
    result = _split(str(data), "--out", str(tmp_path / "o"), "--state-dir", str(tmp_path / "s"))
    assert result.exit_code == 0, result.output
    assert (odd / "notes.txt").read_text() == "mine"


def test_recovery_never_moves_an_input_and_restores_the_latest_output_of_sfttuis(tmp_path):
    # recover() put back an aside folder holding the very input being split (then
    # "cannot read it any more"); and it tried only the newest aside folder, so a foreign
    # one touched later hid a restorable output, and a new one was written without --force.
    data, out, state, earlier, holding = _output_set_aside(tmp_path, "out")
    kept = (holding / "train.jsonl").read_bytes()
    fresh = _split(str(holding / "train.jsonl"), "--out", str(out), "--state-dir", state)
    assert fresh.exit_code == 0 and "restored" not in fresh.output
    said = fresh.output.replace("\n", "")
    assert f"left {holding} alone: it holds the input {holding / 'train.jsonl'}" in said
    assert (holding / "train.jsonl").read_bytes() == kept
    shutil.rmtree(out)
    foreign = tmp_path / ".out.old-999999998-00000000"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    os.utime(foreign, ns=(holding.stat().st_mtime_ns + 10**9,) * 2)  # newer than the output
    again = _split(str(data), "--out", str(out), "--state-dir", state)
    assert again.exit_code == 2, again.output  # the output is back: replacing it needs --force
    assert f"restored the earlier output {out} from {holding.name}" in again.output.replace("\n", "")
    assert _tree(out) == earlier and (foreign / "notes.txt").read_text() == "mine"


def test_a_leftover_bearing_this_processs_number_is_an_earlier_processs(tmp_path):
    # In a container sfttui can be process 1 on every run: a write cut off between its
    # renames was never put back (its number was "alive"), and the next run wrote a new
    # output without --force, the earlier one left aside without a word.
    data, out, state, earlier, _ = _output_set_aside(tmp_path, "out", os.getpid())
    again = _split(str(data), "--out", str(out), "--state-dir", state)
    assert again.exit_code == 2 and "restored the earlier output" in again.output
    assert _tree(out) == earlier


def test_a_leftover_named_with_a_live_processs_number_is_still_mended(tmp_path):
    # Process numbers are reused (pid_max 32768 here): an aside output named with one
    # now held by a live process was passed over, and a run without --force wrote a new
    # output in its place without a word. Under the writer's lock no write is going on.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        data, out, state, earlier, _ = _output_set_aside(tmp_path, "out", sleeper.pid)
        again = _split(str(data), "--out", str(out), "--state-dir", state)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert again.exit_code == 2 and "restored the earlier output" in again.output
    assert _tree(out) == earlier


def test_a_removal_cut_off_leaves_what_is_known_and_never_a_part_restored(tmp_path, monkeypatch):
    from sfttui.engine.io import outdir

    # Files went in the file system's order: cut off after the manifest, output files
    # stayed that no later write would call sfttui's ("left alone") ...
    data, out, state, earlier, aside = _output_set_aside(tmp_path, "out")
    gone: list[str] = []
    real_unlink = os.unlink
    with monkeypatch.context() as patched:
        patched.setattr(outdir.os, "unlink", lambda path: (gone.append(Path(path).name), real_unlink(path)))
        outdir._unlink_in_order(aside)
    assert gone[-1] == "manifest.json" and sorted(gone[:-1]) == sorted(
        n for n in earlier if n != "manifest.json"
    )
    # ... and a folder a removal left with its manifest and some files was put back
    # as the earlier output, files missing.
    (tmp_path / "b").mkdir()
    data, out, state, earlier, part = _output_set_aside(tmp_path / "b", "out")
    (part / "validation.jsonl").unlink()
    fresh = _split(str(data), "--out", str(out), "--state-dir", state)
    assert fresh.exit_code == 0 and "restored" not in fresh.output
    assert (part / "train.jsonl").exists()  # kept: no output of sfttui's replaced it yet
    forced = _split(str(data), "--out", str(out), "--state-dir", state, "--force")
    assert forced.exit_code == 0 and not part.exists()


def test_an_interrupted_swap_puts_the_earlier_output_back_at_once(tmp_path, monkeypatch):
    # Ctrl-C between the two renames printed "Aborted!" and left --out missing until the
    # next run.
    from sfttui.engine.io import outdir

    data, out, state, earlier, aside = _output_set_aside(tmp_path, "out")
    aside.rename(out)
    real_rename = os.rename
    calls: list[str] = []

    def rename(src: object, dst: object) -> None:
        calls.append(str(src))
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_rename(src, dst)

    with monkeypatch.context() as patched:
        patched.setattr(outdir.os, "rename", rename)
        stopped = _split(str(data), "--out", str(out), "--state-dir", state, "--force", "--seed", "7")
    assert stopped.exit_code != 0
    assert _tree(out) == earlier


_TERMINATED_WHILE_WRITING = """
import os, sys, time
import sfttui.engine.export as export
real = export._write_pieces
def slow(path, pieces):
    if path.name == "train.jsonl":
        print("writing", flush=True)
        time.sleep(float(os.environ.get("HOLD_SECONDS", "120")))
    return real(path, pieces)
export._write_pieces = slow
from sfttui.cli import main
main(args=sys.argv[1:], prog_name="sfttui")
"""


def _split_held_while_writing(tmp_path: Path, hold: float = 120, **popen: Any) -> subprocess.Popen:
    """`split --low-memory` of the demo, held while it writes train.jsonl (its texts in
    tmp_path/texts); returns once it is there."""
    data = tmp_path / "data.jsonl"
    shutil.copyfile(DEMO, data)
    texts = tmp_path / "texts"
    texts.mkdir()
    args = ["split", str(data), "--out", str(tmp_path / "out"), "--low-memory"]
    args += ["--state-dir", str(tmp_path / "state")]
    proc = subprocess.Popen(
        [sys.executable, "-c", _TERMINATED_WHILE_WRITING, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SFTTUI_TEMP_DIR": str(texts), "HOLD_SECONDS": str(hold)},
        **popen,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "writing":
            break
    assert [p.name.startswith("sfttui-texts-") for p in texts.iterdir()] == [True]
    # The split being written is in its temporary folder beside --out.
    assert [p.name.startswith(".out.tmp-") for p in tmp_path.iterdir() if p.name != "texts"].count(True) == 1
    return proc


@pytest.mark.parametrize(
    "stop", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["SIGTERM", "SIGHUP", "SIGINT"]
)
def test_a_stop_signal_while_writing_leaves_no_partial_output_and_no_texts(tmp_path, stop):
    # SIGTERM (a CI timeout, `timeout`, `kill`) and SIGHUP (a dropped SSH connection)
    # ended the process at once: the split being written stayed in its temporary folder
    # beside --out, and --low-memory's texts in the temporary folder, until later runs
    # cleaned them up. Ctrl-C cleaned up but exited 1, as a --fail-on finding does.
    proc = _split_held_while_writing(tmp_path)
    try:
        proc.send_signal(stop)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + stop
    assert f"stopped ({stop.name})" in err and "Traceback" not in err
    assert list((tmp_path / "texts").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl", "texts"]
    assert (tmp_path / "data.jsonl").read_bytes() == DEMO.read_bytes()


def test_under_nohup_a_hang_up_does_not_stop_the_split(tmp_path):
    # `nohup sfttui split ...` is how a split is meant to outlive its SSH connection:
    # an ignored SIGHUP stays ignored.
    def ignore_hangups() -> None:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    proc = _split_held_while_writing(tmp_path, hold=1, preexec_fn=ignore_hangups)
    try:
        proc.send_signal(signal.SIGHUP)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "dropped.jsonl",
        "manifest.json",
        "test.jsonl",
        "train.jsonl",
        "validation.jsonl",
    ]


def test_a_same_size_file_copied_in_with_its_time_is_read_again(tmp_path):
    # The digest cache knew a file by device, inode, size and modification time: `cp -p`
    # of an edited file of the same size, its time copied, was taken for the one read.
    from sfttui.engine.io import outdir

    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "aaaa"}\n')
    first = outdir._sha256(path, path.stat())
    when = path.stat().st_mtime_ns
    time.sleep(0.01)
    path.write_text('{"text": "bbbb"}\n')
    os.utime(path, ns=(when, when))
    assert outdir._sha256(path, path.stat()) != first


def test_a_write_that_fails_at_its_start_or_is_undone_leaves_what_the_next_one_clears(tmp_path, monkeypatch):
    data = _write_format(tmp_path, "jsonl", _records())
    out, state = tmp_path / "out", str(tmp_path / "state")
    # The marker could not be made (no inode left): the empty folder stayed for ever.
    real_touch = Path.touch

    def no_marker(self: Path, *args: object, **kwargs: object) -> None:
        if self.name == UNFINISHED:
            raise OSError(28, "No space left on device")
        real_touch(self, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(Path, "touch", no_marker)
        failed = _split(str(data), "--out", str(out), "--state-dir", state)
    assert failed.exit_code == 2 and "No space left on device" in failed.output
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")] == []
    # Killed while an undo removed the files: an empty folder, or output files and the
    # marker (the undo takes it last) are both known for leftovers.
    (tmp_path / ".out.tmp-999999991-0000aaaa").mkdir()
    half = tmp_path / ".out.tmp-999999992-0000bbbb"
    half.mkdir()
    (half / "test.jsonl").write_text('{"text": "x"}\n')
    (half / UNFINISHED).touch()
    done = _split(str(data), "--out", str(out), "--state-dir", state)
    assert done.exit_code == 0 and "removed 2 unfinished or replaced output directories" in done.output
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")] == []


def test_force_never_replaces_an_output_file_edited_by_hand(tmp_path):
    data = _write_format(tmp_path, "jsonl", _records())
    out, state = tmp_path / "out", str(tmp_path / "state")
    assert _split(str(data), "--out", str(out), "--state-dir", state).exit_code == 0
    train = out / "train.jsonl"
    edited = train.read_bytes() + b'{"text": "a hand-written example", "label": "billing"}\n'
    time.sleep(0.01)  # a later modification time than the manifest's, as any edit has
    train.write_bytes(edited)
    again = _split(str(data), "--out", str(out), "--force", "--state-dir", state, "--seed", "7")
    assert again.exit_code == 2 and "changed since it wrote them (train.jsonl)" in again.output
    assert train.read_bytes() == edited


def test_force_never_replaces_a_file_moved_into_an_output_with_its_old_time(tmp_path):
    # A file moved (or copied with cp -p, rsync -a) into an earlier output keeps its older
    # modification time: judged by time alone it passed for sfttui's own, and --force
    # deleted what may be its only copy.
    data = _write_format(tmp_path, "jsonl", _records())
    out, state = tmp_path / "out", str(tmp_path / "state")
    curated = tmp_path / "my_curated_train.jsonl"
    curated.write_bytes(_jsonl_bytes(_records()[:10]) + b'{"text": "hand fixed", "label": "billing"}\n')
    os.utime(curated, ns=(1_000_000_000, 1_000_000_000))  # long before the output
    assert _split(str(data), "--out", str(out), "--state-dir", state).exit_code == 0
    curated.rename(out / "train.jsonl")
    again = _split(str(data), "--out", str(out), "--force", "--state-dir", state, "--seed", "7")
    assert again.exit_code == 2 and "changed since it wrote them (train.jsonl)" in again.output
    assert b"hand fixed" in (out / "train.jsonl").read_bytes()


def _while_writing(monkeypatch: pytest.MonkeyPatch, act: Callable[[], object]) -> None:
    """`act` runs each time an output file is written: after --out was checked, before
    the new output takes its place."""
    from sfttui.engine import export

    write = export._write_pieces

    def acting(path: Path, pieces: Iterable[bytes]) -> str:
        act()
        return write(path, pieces)

    monkeypatch.setattr(export, "_write_pieces", acting)


def test_an_earlier_output_kept_because_it_changed_is_never_cleaned_up_later(tmp_path, monkeypatch):
    # Edited while a write was under way, the earlier output is kept aside and named;
    # the next run took it for an interrupted write's leftover (its files have the
    # outputs' names) and removed it, with the edit.
    data = _write_format(tmp_path, "jsonl", _records())
    out, state = tmp_path / "out", str(tmp_path / "state")
    assert _split(str(data), "--out", str(out), "--state-dir", state).exit_code == 0

    def an_edit() -> None:
        with (out / "train.jsonl").open("ab") as train:
            train.write(b'{"text": "my hand fix", "label": "billing"}\n')

    with monkeypatch.context() as patched:
        _while_writing(patched, an_edit)
        again = _split(str(data), "--out", str(out), "--force", "--state-dir", state, "--seed", "7")
    assert again.exit_code == 0, again.output
    [kept] = [p for p in tmp_path.iterdir() if p.name.startswith(".out.old-")]
    assert f"kept the earlier output as {kept}" in again.output.replace("\n", "")
    # As a later process sees it: the writer that kept it is gone (here it is this one).
    kept = kept.rename(tmp_path / ".out.old-999999999-0a1b2c3d")
    third = _split(str(data), "--out", str(out), "--force", "--state-dir", state)
    assert third.exit_code == 0, third.output
    assert f"left {kept} alone" in third.output.replace("\n", "")
    assert b"my hand fix" in (kept / "train.jsonl").read_bytes()


def test_a_line_appended_to_an_input_during_a_write_leaves_no_output(tmp_path, monkeypatch):
    # The inputs were checked before the files were written only: a line appended
    # meanwhile was in no output, and the manifest said every input line was in one.
    data = _write_format(tmp_path, "jsonl", _records())
    out, state = tmp_path / "out", str(tmp_path / "state")
    appended: list[bool] = []

    def append_once() -> None:
        if not appended:
            with data.open("ab") as handle:
                handle.write(b'{"text": "a late row that must not be lost", "label": "billing"}\n')
            appended.append(True)

    _while_writing(monkeypatch, append_once)
    result = _split(str(data), "--out", str(out), "--state-dir", state)
    assert result.exit_code != 0 and appended
    assert f"{data} has changed since it was loaded" in result.output.replace("\n", "")
    assert "nothing was written" in result.output.replace("\n", "")
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == [data.name]  # no leftovers


def test_a_file_saved_into_the_output_during_a_write_is_kept(tmp_path, monkeypatch):
    data = _write_format(tmp_path, "jsonl", _records())
    out, state = tmp_path / "out", str(tmp_path / "state")
    assert _split(str(data), "--out", str(out), "--state-dir", state).exit_code == 0
    _while_writing(monkeypatch, lambda: (out / "notes.txt").write_text("saved while sfttui was writing"))
    again = _split(str(data), "--out", str(out), "--force", "--state-dir", state, "--seed", "7")
    assert again.exit_code == 0, again.output
    [kept] = [p for p in tmp_path.iterdir() if p.name.startswith(".out.old-")]
    assert (kept / "notes.txt").read_text() == "saved while sfttui was writing"
    assert f"kept the earlier output as {kept}" in again.output.replace("\n", "")
    assert (out / "manifest.json").exists() and not (out / "notes.txt").exists()


def test_directories_named_like_leftovers_by_a_person_are_left_alone(tmp_path):
    data = _write_format(tmp_path, "jsonl", _records())
    out, state = tmp_path / "out", str(tmp_path / "state")
    assert _split(str(data), "--out", str(out), "--state-dir", state).exit_code == 0
    copies = [tmp_path / ".out.old-1", tmp_path / ".out.tmp-keep"]  # a person's backups
    for copy in copies:
        shutil.copytree(out, copy)
    again = _split(str(data), "--out", str(out), "--force", "--state-dir", state, "--seed", "7")
    assert again.exit_code == 0 and "recovered" not in again.output
    assert all((copy / "manifest.json").exists() for copy in copies)


def test_with_the_near_search_off_the_write_never_claims_no_near_duplicate(tmp_path):
    data = _write_format(tmp_path, "jsonl", _records())
    out, state = tmp_path / "out", str(tmp_path / "state")
    result = _split(str(data), "--out", str(out), "--state-dir", state, "--no-near")
    assert result.exit_code == 0, result.output
    verified = [line for line in result.output.splitlines() if "the written splits" in line]
    assert verified == [
        "verified: no exact duplicate cluster the scan found crosses the written splits (traced from "
        "the files); near duplicates not searched (near search off)"
    ]


# --- item 4: the umask decides who can read the splits -------------------------------------


@pytest.mark.parametrize("umask, dir_mode, file_mode", [(0o022, 0o755, 0o644), (0o027, 0o750, 0o640)])
def test_output_modes_follow_the_umask(tmp_path, umask, dir_mode, file_mode):
    data = _write_format(tmp_path, "jsonl", _records())
    out = tmp_path / "out"
    old = os.umask(umask)
    try:
        result = _split(str(data), "--out", str(out), "--state-dir", str(tmp_path / "state"))
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == dir_mode
    assert {p.stat().st_mode & 0o777 for p in out.iterdir()} == {file_mode}


def test_the_json_report_follows_the_umask(tmp_path):
    data = _write_format(tmp_path, "jsonl", _records())
    old = os.umask(0o022)
    try:
        result = _scan(str(data), "--json", str(tmp_path / "report.json"))
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report.json").stat().st_mode & 0o777 == 0o644


# --- item 5: split names -------------------------------------------------------------------


def test_split_aliases_are_mapped_and_unknown_names_are_one_clear_error(tmp_path):
    names = ["train", "training", "val", "dev", "eval", "valid", "holdout", "test", "Test", "TRAIN"]
    rows = [{**r, "split": names[i % len(names)]} for i, r in enumerate(_records())]
    data = tmp_path / "data.jsonl"
    data.write_bytes(_jsonl_bytes(rows))
    out, state = tmp_path / "out", str(tmp_path / "state")
    result = _split(str(data), "--out", str(out), "--state-dir", state)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["splits_from"] == "existing"
    assert (manifest["counts"]["train"], manifest["counts"]["validation"], manifest["counts"]["test"]) == (
        12,
        16,
        12,
    )

    odd = tmp_path / "odd.jsonl"
    odd.write_bytes(_jsonl_bytes([{**r, "split": "dev2" if i == 3 else "train"} for i, r in enumerate(rows)]))
    refused = _split(str(odd), "--out", str(tmp_path / "o2"), "--state-dir", state)
    assert refused.exit_code == 2
    assert refused.output.startswith("error: cannot keep the input's splits")
    assert "'dev2' (1 row, first odd.jsonl:4)" in refused.output
    assert not (tmp_path / "o2").exists()
    resplit = _split(str(odd), "--out", str(tmp_path / "o2"), "--state-dir", state, "--resplit")
    assert resplit.exit_code == 0, resplit.output
    scan = _scan(str(odd))
    assert scan.exit_code == 0
    assert "split values other than train, validation and test: 'dev2'" in scan.output.replace("\n", "")


def test_a_file_name_sets_a_split_only_when_it_is_a_split_name(tmp_path):
    customer = tmp_path / "customer_test_data.jsonl"
    customer.write_bytes(_jsonl_bytes(_records()))
    out, state = tmp_path / "out", str(tmp_path / "state")
    result = _split(str(customer), "--out", str(out), "--state-dir", state)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["splits_from"] == "new"
    assert manifest["counts"]["train"] == 32  # 80 % of 40, not 100 % test

    train, test = tmp_path / "train.jsonl.gz", tmp_path / "test.jsonl"
    train.write_bytes(gzip.compress(_jsonl_bytes(_records()[:30])))
    test.write_bytes(_jsonl_bytes(_records()[30:]))
    scan = _scan(str(train), str(test), str(customer))
    assert scan.exit_code == 0
    lines = scan.output.splitlines()
    row = {
        line.split()[0]: line
        for line in lines
        if line.split() and line.split()[0].endswith((".gz", ".jsonl"))
    }
    assert row["train.jsonl.gz"].rstrip().endswith("file name: train")
    assert row["test.jsonl"].rstrip().endswith("file name: test")
    assert row["customer_test_data.jsonl"].rstrip().endswith("-")


# --- items 6 and 7: inputs with no usable rows, and a file given twice ----------------------

UNUSABLE = (
    b'{"conversations": [{"from": null, "value": "What is 2+2?"}, {"from": "gpt", "value": "4"}]}\n'
) * 3


def test_an_input_with_no_usable_rows_is_an_error_in_scan_and_split(tmp_path):
    unusable = tmp_path / "eval.jsonl"
    unusable.write_bytes(UNUSABLE)
    data = _write_format(tmp_path, "jsonl", _records())
    expected = (
        f"error: {unusable}: 0 of 3 records usable (read as ShareGPT: line 1: conversations[0].from is "
        "null, expected a string)"
    )
    for result in (
        _scan(str(unusable)),
        _split(str(unusable), "--out", str(tmp_path / "o"), "--state-dir", str(tmp_path / "s")),
        _scan(str(data), "--eval", str(unusable), "--fail-on", "leakage"),
        _scan(str(data), "--reference", str(unusable)),
    ):
        assert result.exit_code == 2, result.output
        assert result.output.replace("\n", "") == expected
    assert not (tmp_path / "o").exists()


def test_a_file_that_is_mostly_bad_lines_says_so(tmp_path):
    data = tmp_path / "mostly.jsonl"
    good = _jsonl_bytes(_records(3))
    data.write_bytes(good + b'{"text": 5, "label": "a"}\n' * 5)
    result = _scan(str(data))
    assert result.exit_code == 0
    assert "most of mostly.jsonl was set aside: 5 of 8 records are bad lines" in result.output.replace(
        "\n", ""
    )


def test_a_file_given_twice_is_refused(tmp_path, monkeypatch):
    data = _write_format(tmp_path, "jsonl", _records())
    monkeypatch.chdir(tmp_path)
    (tmp_path / "alias").mkdir()
    os.link(data, tmp_path / "alias" / "data.jsonl")  # a hard link: every row a copy of itself
    for args in (
        [str(data), str(data)],
        [str(data), "data.jsonl"],
        ["data.jsonl", f"../{tmp_path.name}/data.jsonl"],
        ["data.jsonl", "alias/data.jsonl"],
    ):
        result = _scan(*args)
        assert result.exit_code == 2
        assert "the same file is given twice; give each file once" in result.output
        assert len(result.output.strip().splitlines()) == 1
    split = _split(str(data), "data.jsonl", "--out", "o", "--state-dir", "s")
    assert split.exit_code == 2 and not Path("o").exists()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names open files through /proc")
def test_the_written_files_their_names_and_the_manifest_reach_the_disk(tmp_path, monkeypatch):
    # The manifest was written without fsync and no directory was synced after its
    # renames: a power cut could leave an empty manifest, and the folder refused.
    data = _write_format(tmp_path, "jsonl", _records())
    out = tmp_path / "out"
    synced: list[str] = []
    fsync = os.fsync

    def recorded(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", recorded)
    assert _split(str(data), "--out", str(out), "--state-dir", str(tmp_path / "state")).exit_code == 0
    names = [Path(p).name for p in synced]
    assert {"train.jsonl", "validation.jsonl", "test.jsonl", "dropped.jsonl", "manifest.json"} <= set(names)
    assert str(tmp_path) in synced  # the renames into place
    assert any(Path(p).name.startswith(".out.tmp-") for p in synced)  # the files' names


# --- the folder --out names: its permissions, mount points, the shell in it, two writers ---


def test_an_existing_output_folder_keeps_its_permissions_and_group_bit(tmp_path):
    # An empty --out the person made (setgid, for a team's group) was swapped for a new
    # folder under the umask (drwxr-xr-x), and "kept the earlier output ... (no
    # manifest)" was said of it; a chmod 700 output went back to 755 on --force.
    data = _write_format(tmp_path, "jsonl", _records())
    out, state = tmp_path / "out", str(tmp_path / "state")
    out.mkdir()
    out.chmod(0o2750)
    result = _split(str(data), "--out", str(out), "--state-dir", state)
    assert result.exit_code == 0, result.output
    assert "recovered" not in result.output and "kept the earlier output" not in result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o2750
    assert (out / "manifest.json").stat().st_gid == out.stat().st_gid
    out.chmod(0o700)
    again = _split(str(data), "--out", str(out), "--state-dir", state, "--force", "--seed", "7")
    assert again.exit_code == 0, again.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")] == []


def test_a_mount_point_or_the_current_directory_is_refused_as_the_output(tmp_path, monkeypatch):
    from sfttui.engine.io import outdir

    data = _write_format(tmp_path, "jsonl", _records())
    out, state = tmp_path / "out", str(tmp_path / "state")
    out.mkdir()
    # A Docker volume: the rename that installs an output failed with "Device or resource busy".
    with monkeypatch.context() as patched:
        patched.setattr(outdir.os.path, "ismount", lambda path: Path(path) == out)
        mounted = _split(str(data), "--out", str(out), "--state-dir", state)
    assert mounted.exit_code == 2
    assert "is a mount point, and sfttui puts a new output in its place" in mounted.output
    # --out . in an empty folder left the shell in the folder set aside (then removed).
    monkeypatch.chdir(out)
    here = _split(str(data), "--out", ".", "--state-dir", state)
    assert here.exit_code == 2 and "is the current directory" in here.output
    assert out.is_dir() and list(out.iterdir()) == []


def test_a_second_write_beside_a_running_one_is_refused_saying_why(tmp_path, monkeypatch):
    # Two runs at once each checked --out before either wrote; the second then replaced
    # the first's output, and both said they wrote it.
    import threading

    from sfttui.engine.io.outdir import OutputRefused
    from sfttui.engine.session import Session

    data = _write_format(tmp_path, "jsonl", _records())
    out = tmp_path / "out"
    sessions = [Session(paths=[str(data)], state_dir=str(tmp_path / f"state{i}")) for i in range(2)]
    for session in sessions:
        session.analyse()
    writing, finish = threading.Event(), threading.Event()

    def held() -> None:
        writing.set()
        finish.wait(20)

    with monkeypatch.context() as patched:
        _while_writing(patched, held)
        results: dict[str, object] = {}
        first = threading.Thread(
            target=lambda: results.update(first=sessions[0].write(sessions[0].plan(), out))
        )
        first.start()
        assert writing.wait(10)
        with pytest.raises(OutputRefused, match=f"another sfttui is writing in {tmp_path} "):
            sessions[1].write(sessions[1].plan(), out, force=False)
        finish.set()
        first.join(20)
    assert results["first"].installed  # type: ignore[attr-defined]
    # Once it is done, the next write is judged against its output.
    with pytest.raises(OutputRefused, match="holds an earlier output of sfttui; pass --force"):
        sessions[1].write(sessions[1].plan(), out, force=False)


def test_a_cut_off_write_to_an_output_named_with_a_newline_is_mended(tmp_path):
    # The leftovers' pattern matched no newline: the earlier output set aside was neither
    # put back nor cleaned up.
    from sfttui.engine.io.outdir import recover

    data = _write_format(tmp_path, "jsonl", _records())
    out = tmp_path / "new\nline"
    assert _split(str(data), "--out", str(out), "--state-dir", str(tmp_path / "state")).exit_code == 0
    earlier = _tree(out)
    aside = out.rename(tmp_path / ".new\nline.old-999999999-abcdef12")  # its writer is gone
    done = recover(out, [])
    assert done and "restored the earlier output" in done[0]
    assert _tree(out) == earlier and not aside.exists()


def test_leftovers_that_are_empty_or_read_only_are_removed_and_a_failure_said(tmp_path):
    # An empty folder set aside (as the last version left one for an empty --out) was
    # "left alone: it holds files"; an --out the person made read-only gave each new
    # output its mode, and the outputs set aside by --force could not be removed.
    data = _write_format(tmp_path, "jsonl", _records())
    out, state = tmp_path / "out", str(tmp_path / "state")
    empty = tmp_path / ".out.old-999999999-deadbeef"
    empty.mkdir()
    first = _split(str(data), "--out", str(out), "--state-dir", state)
    assert first.exit_code == 0 and "removed 1 unfinished or replaced output" in first.output
    assert not empty.exists()
    out.chmod(0o555)
    for seed in ("7", "8"):
        again = _split(str(data), "--out", str(out), "--state-dir", state, "--force", "--seed", seed)
        assert again.exit_code == 0, again.output
        assert stat.S_IMODE(out.stat().st_mode) == 0o555
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")] == []


def test_the_apps_look_before_writing_reads_no_file_and_a_deep_failure_leaves_no_folder(
    tmp_path, monkeypatch
):
    from sfttui.engine.io import outdir
    from sfttui.engine.session import Session

    data = _write_format(tmp_path, "jsonl", _records())
    out = tmp_path / "out"
    session = Session(paths=[str(data)], state_dir=str(tmp_path / "state"))
    session.analyse()
    session.write(session.plan(), out)
    # Pressing w looked at every byte of the earlier output on the screen's thread
    # (1.3 s for 2 GB); the write itself still does.
    with monkeypatch.context() as patched:
        patched.setattr(outdir, "_sha256", lambda *a: pytest.fail("read on the screen's thread"))
        assert session.reason_cannot_write(out) is None
    # A failed mkdir under new folders left them behind: the undo stopped at the one
    # that was never made.
    deep = tmp_path / "made1" / "made2" / ("x" * 300) / "out"
    with pytest.raises(OSError):
        session.write(session.plan(), deep)
    assert not (tmp_path / "made1").exists()


def test_a_name_too_long_anywhere_is_one_line_naming_that_path(tmp_path, monkeypatch):
    # Path.exists() and is_dir() raise ENAMETOOLONG on Python 3.11: every one of these
    # was a traceback, and split blamed --out for an input's or the state's name.
    monkeypatch.chdir(tmp_path)
    _write_format(tmp_path, "jsonl", _records())
    long = "z" * 300
    scans = {
        (
            "data.jsonl",
            "--json",
            f"{long}.json",
        ): f"error: cannot write the report {long}.json: File name too long",
        (f"{long}.jsonl",): f"error: {long}.jsonl: cannot read (File name too long)",
        ("data.jsonl", "--eval", f"{long}.jsonl"): f"error: {long}.jsonl: cannot read (File name too long)",
        (
            "data.jsonl",
            "--reference",
            f"{long}.jsonl",
        ): f"error: {long}.jsonl: cannot read (File name too long)",
        (
            "data.jsonl",
            "--json",
            f"{long}/r.json",
        ): f"error: cannot write the report {long}/r.json: File name too long",
        ("data.jsonl", "--tokenizer", f"{long}.json"): f"error: --tokenizer {long}.json: File name too long",
    }
    for args, said in scans.items():
        result = _scan(*args, "--no-model")
        assert isinstance(result.exception, SystemExit)  # not a traceback
        assert result.exit_code == 2 and " ".join(result.output.split()) == said, args
    state = _split("data.jsonl", "--out", "o1", "--state-dir", long)
    assert state.exit_code == 2 and isinstance(state.exception, SystemExit)
    assert " ".join(state.output.split()).startswith(f"error: cannot use {long}/journal-")
    # --out through a link: the error is still --out's, not a name of sfttui's own.
    Path("real").mkdir()
    Path("link").symlink_to("real")
    for out in (f"real/{'o' * 240}", f"link/{'o' * 240}"):
        linked = _split("data.jsonl", "--out", out, "--state-dir", "s")
        assert (
            linked.exit_code == 2
            and " ".join(linked.output.split()) == f"error: cannot write {out}: File name too long"
        )
    blocked = Path("afile")
    blocked.write_text("mine")
    for out in ("afile/x", "afile/x/y"):
        refused = _split("data.jsonl", "--out", out, "--state-dir", "s")
        assert refused.exit_code == 2
        assert (
            " ".join(refused.output.split())
            == f"error: cannot write {out}: {tmp_path / 'afile'} is a file, not a folder"
        )
    assert blocked.read_text() == "mine" and not Path("o1").exists()
