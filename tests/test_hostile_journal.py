"""State and the decisions journal under real habits: read-only data, edited inputs, two
windows, damaged journals, a full disk (issue 15, items 14-18).

Part of the hostile-input battery (tests/test_hostile_*.py): each test here failed on the
code before it was fixed.
"""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sfttui.cli import main
from sfttui.engine.decisions import Journal
from sfttui.engine.session import Session
from sfttui.engine.settings import LoadSettings, ScanSettings
from sfttui.tui.screens import ConfirmScreen

from .app_factory import make_app, settle


def _rows() -> list[dict]:
    """Two exact-duplicate pairs (clusters to decide) and ordinary rows."""
    rows = [
        {"id": "a1", "text": "where is my parcel, it was due on monday", "label": "shipping"},
        {"id": "a2", "text": "Where is my parcel? It was due on Monday!", "label": "shipping"},
        {"id": "b1", "text": "please refund the second charge on my card", "label": "billing"},
        {"id": "b2", "text": "Please refund the second charge on my card.", "label": "billing"},
    ]
    rows += [
        {"id": f"r{i}", "text": f"an ordinary question number {i} about accounts", "label": "account"}
        for i in range(12)
    ]
    return rows


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _listing(directory: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


# --- item 14: state lives in the user's state directory, never beside the data -------------------


def test_scan_split_and_the_app_write_nothing_beside_the_data(tmp_path, state_home):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data = _write(data_dir / "d.jsonl", _rows())
    before = _listing(data_dir)
    assert CliRunner().invoke(main, ["scan", str(data)]).exit_code == 0
    split = CliRunner().invoke(main, ["split", str(data), "--out", str(tmp_path / "out")])
    assert split.exit_code == 0, split.output
    assert not state_home.exists()  # scan and split create no state of their own
    assert _listing(data_dir) == before


async def test_the_app_keeps_its_journal_in_the_state_directory(tmp_path, state_home):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data = _write(data_dir / "d.jsonl", _rows())
    before = _listing(data_dir)
    session = Session(paths=[str(data)], out_dir=str(tmp_path / "out"))
    from sfttui.tui.app import SfttuiApp

    async with SfttuiApp(session).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f2", "a")
        await settle(pilot)
        await pilot.press("q")
    assert session.journal is not None and session.journal.path.parent == state_home
    assert [json.loads(x)["action"] for x in session.journal.path.read_text().splitlines()[1:]] == ["keep"]
    assert _listing(data_dir) == before


def _can_mount_read_only() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    return probe.returncode == 0


_READ_ONLY = """
set -e
mount --bind "$DATA" "$DATA"
mount -o remount,ro,bind "$DATA"
if touch "$DATA/probe" 2>/dev/null; then echo "not read-only"; exit 9; fi
exec "$PYTHON" -c "$CODE" "$@"
"""

_APP_WRITE = """
import asyncio, sys
from sfttui.engine.session import Session
from sfttui.tui.app import SfttuiApp
async def run():
    app = SfttuiApp(Session(paths=[sys.argv[1]]))
    said = lambda: [n.message for n in app._notifications] + [str(app.query_one("#status").render())]
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        async def until(done, seconds):
            for _ in range(int(seconds / 0.05)):
                await pilot.pause(0.05)
                await app.workers.wait_for_complete()
                if done():
                    return
        await until(lambda: app.ready, 4)
        await pilot.press("f2", "a")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.press("w")
        await until(lambda: len(app.screen_stack) > 1, 2)  # the confirmation is up
        await pilot.press("enter")
        await until(lambda: any("Read-only" in m or "written" in m for m in said()), 4)  # the export ended
        print("READY", app.ready, "DECISIONS", len(app.session.journal.effective()))
        print("STATUS", str(app.query_one("#status").render()))
        print("NOTES", [n.message for n in app._notifications])
asyncio.run(run())
"""


@pytest.mark.skipif(not _can_mount_read_only(), reason="needs root and unshare -m (a read-only bind mount)")
def test_read_only_data_works_for_scan_split_and_the_app(tmp_path, state_home):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data = _write(data_dir / "d.jsonl", _rows())
    env = {"DATA": str(data_dir), "PYTHON": sys.executable, "XDG_STATE_HOME": str(state_home.parent)}
    cli = "import sys; from sfttui.cli import main; sys.argv = ['sfttui', *sys.argv[1:]]; main()"

    def run(code: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["unshare", "-m", "sh", "-c", _READ_ONLY, "sh", *args],
            env={**env, "CODE": code, "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
            capture_output=True,
            text=True,
            timeout=180,
        )

    scan = run(cli, "scan", str(data))
    assert scan.returncode == 0, scan.stderr
    split = run(cli, "split", str(data), "--out", str(tmp_path / "out"))
    assert split.returncode == 0, split.stderr
    assert (tmp_path / "out" / "train.jsonl").exists()
    app = run(_APP_WRITE, str(data))
    assert app.returncode == 0, app.stderr
    # The decision went to the state directory, and the threshold `w` wrote at.
    assert "READY True DECISIONS 2" in app.stdout
    # `w` to the default output beside the read-only data: one clear message, no hang.
    assert "d-splits" in app.stdout and "Read-only file system" in app.stdout
    assert sorted(p.name for p in data_dir.iterdir()) == ["d.jsonl"]


# --- item 15: decisions follow rows by their content ------------------------------------------


def _decide(data: Path, state: Path) -> None:
    session = Session(paths=[str(data)], state_dir=str(state))
    session.analyse()
    first = session.duplicates.clusters.filter(session.duplicates.clusters["keeper"] == "a1")["id"][0]
    session.keep(first)  # drops a2
    session.drop_rows(["r3"], reason="off topic")
    session.drop_rows(["r7"], reason="off topic")
    session.journal.close()


def test_decisions_carry_over_to_an_edited_input(tmp_path):
    state = tmp_path / "state"
    rows = _rows()
    # Keys are file:line here (no id field), so inserting a line moves every key.
    for r in rows:
        r.pop("id")
    data = _write(tmp_path / "d.jsonl", rows)
    _decide_by_line(data, state)
    # Edit one character of an unrelated row, change r7's text, and insert a line on top.
    edited = [dict(r) for r in rows]
    edited[10]["text"] = edited[10]["text"].replace("number", "numbre")
    edited[11]["text"] = "a reworded row seven"
    edited.insert(0, {"text": "a new first line about something else", "label": "account"})
    _write(data, edited)
    session = Session(paths=[str(data)], state_dir=str(state))
    session.analyse()
    res = session.resolution()
    assert session.journal.carried_from is not None
    # a2 (was line 2) and r3 (was line 8) moved down a line: their decisions follow them.
    assert sorted(res.dropped) == ["d.jsonl:3", "d.jsonl:9"]
    assert len(res.applied) == 2 and res.followed == 2
    assert res.stale == ["decision 3: rows d.jsonl:12 no longer match (changed or removed); not applied"]
    split = CliRunner().invoke(
        main, ["split", str(data), "--out", str(tmp_path / "out"), "--state-dir", str(state)]
    )
    assert split.exit_code == 0, split.output
    assert "2 decisions applied (1 no longer match)" in split.output
    records = [json.loads(x) for x in (tmp_path / "out" / "dropped.jsonl").read_text().splitlines()]
    assert sorted(r["key"] for r in records if r["kind"] == "decision") == ["d.jsonl:3", "d.jsonl:9"]


def _decide_by_line(data: Path, state: Path) -> None:
    session = Session(paths=[str(data)], state_dir=str(state))
    session.analyse()
    clusters = session.duplicates.clusters
    first = clusters.filter(clusters["keeper"] == "d.jsonl:1")["id"][0]
    session.keep(first)  # keeps line 1, drops line 2
    session.drop_rows(["d.jsonl:8"], reason="off topic")  # r3
    session.drop_rows(["d.jsonl:12"], reason="off topic")  # r7, edited below
    session.journal.close()


# --- item 16: two windows on the same data -------------------------------------------------------


async def test_a_second_window_is_read_only_and_says_so(tmp_path):
    data = _write(tmp_path / "d.jsonl", _rows())
    session = Session(paths=[str(data)], state_dir=str(tmp_path / "state"))
    session.analyse()
    first = session.journal  # the first window holds the lock
    assert first.read_only == ""
    app = make_app([data], tmp_path / "state", out=tmp_path / "out", group="")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        assert app.session.journal.read_only.startswith("another sfttui window has this data open")
        banner = str(app.query_one("#banner").render())
        assert banner.startswith("READ-ONLY: another sfttui window has this data open")
        await pilot.press("f2", "a")
        await settle(pilot)
        assert [n.message for n in app._notifications][-1].startswith("Not saved: another sfttui window")
        assert app.session.journal.decisions == []
        # Its splits would leave out what the first window decided since this one read.
        await pilot.press("w")
        await settle(pilot)
        assert [n.message for n in app._notifications][-1].startswith(
            "Not written: another sfttui window has this data open"
        )
        assert not isinstance(app.screen, ConfirmScreen) and not (tmp_path / "out").exists()
    # The first window's decisions are untouched by the second.
    first.append("keep_all", cluster="c1")
    first.close()
    lines = first.path.read_text().splitlines()
    assert [json.loads(x).get("action") for x in lines[1:]] == ["keep_all"]


async def test_a_state_directory_that_cannot_be_written_opens_the_app_read_only(tmp_path):
    # The journal's lock could not be made: "analysis failed" and every tab stayed on
    # "Loading…" for good. (A file in the state directory's path: root ignores modes.)
    data = _write(tmp_path / "d.jsonl", _rows())
    (tmp_path / "afile").write_text("x")
    state = tmp_path / "afile" / "state"
    app = make_app([data], state, out=tmp_path / "out", group="")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        assert app.ready and app.session.ready
        said = f"the state directory {state} cannot be written (Not a directory)"
        assert app.session.journal.read_only == said
        assert str(app.query_one("#banner").render()).startswith(f"READ-ONLY: {said}")
        await pilot.press("f2", "a")
        await settle(pilot)
        assert [n.message for n in app._notifications][-1] == f"Not saved: {said}."
        # Nothing to be out of date with: the splits can still be written.
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)


def test_a_full_state_directory_opens_read_only_and_leaves_no_empty_journal(tmp_path, monkeypatch):
    # The lock file could be made on a full disk, and the journal's first line then
    # failed outside any check: "analysis failed", and an empty journal left behind.
    import os

    from sfttui.engine.decisions import JournalReadOnly

    data = _write(tmp_path / "d.jsonl", _rows())
    state = tmp_path / "state"

    def full(self, *records):
        self.path.open("ab").close()  # as a write cut off at once leaves it
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Journal, "_write", full)
    session = Session(paths=[str(data)], state_dir=str(state))
    session.analyse()
    assert (
        session.journal.read_only
        == f"the state directory {state} cannot be written (No space left on device)"
    )
    assert list(state.glob("journal-*.jsonl")) == []
    with pytest.raises(JournalReadOnly):
        session.drop_rows(["d.jsonl:1"], reason="off topic")


def test_a_state_directory_whose_path_is_not_utf8_is_one_clear_error(tmp_path):
    # Its path went into the manifest: `split` ended in a UnicodeEncodeError traceback
    # with exit 1 (which says the read-back found a problem).
    import os

    data = _write(tmp_path / "d.jsonl", _rows())
    state = os.fsdecode(bytes(tmp_path) + b"/bad\xffdir/st")
    result = CliRunner().invoke(
        main, ["split", str(data), "--out", str(tmp_path / "o"), "--state-dir", state]
    )
    assert result.exit_code == 2
    said = (
        f"error: {tmp_path}/bad\\xffdir/st: the state directory's path is not valid UTF-8; "
        "give --state-dir another"
    )
    assert " ".join(result.output.split()) == said
    assert not (tmp_path / "o").exists()


# --- item 17: damaged journals -----------------------------------------------------------------


def test_invalid_journal_lines_are_reported_and_the_rest_applies(tmp_path):
    data = _write(tmp_path / "d.jsonl", _rows())
    state = tmp_path / "state"
    _decide(data, state)
    journal = next(state.glob("journal-*.jsonl"))
    lines = journal.read_bytes().splitlines()
    header = bytearray(lines[0])
    header[5] ^= 0x20  # one flipped byte in the header
    damaged = [bytes(header), *lines[1:]]
    damaged += [
        b"null",
        b"123",
        b"[1, 2]",
        b'{"seq": 20, "action": "drop_rows", "keys": "r1"}',
        b'{"seq": 21, "action": "cap", "label": "account", "max_rows": "five"}',
        b'{"seq": 22, "action": "keep", "keeper": "b1", "drop": ["b2"]}',
        b'{"seq": 23, "action": "cap", "label": "account", "max_rows": 5}',
    ]
    journal.write_bytes(b"\n".join(damaged) + b"\n")
    result = CliRunner().invoke(
        main, ["split", str(data), "--out", str(tmp_path / "out"), "--state-dir", str(state)]
    )
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    name = journal.name
    for number, why in [
        (5, "not a decision (a JSON NoneType), ignored"),
        (6, "not a decision (a JSON int), ignored"),
        (7, "not a decision (a JSON list), ignored"),
        (8, "drop_rows decision with field 'keys' is missing or of the wrong type, ignored"),
        (9, "cap decision with field 'max_rows' is missing or of the wrong type, ignored"),
        (10, "keep decision with field 'cluster' is missing or of the wrong type, ignored"),
    ]:
        assert f"{name} line {number}: {why}" in flat
    assert "4 decisions applied" in flat  # the three before the damage and the cap after it
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["decisions"]["caps"] == {"account": 5}
    assert sorted(manifest["counts"]["dropped_by"]) == ["class cap", "decision", "exact duplicate"]


def test_a_journal_that_is_a_dangling_link_or_a_folder_is_named_not_ignored(tmp_path):
    # A link to a missing journal was read as no journal: the decisions were silently not
    # applied. A folder in its place failed as "cannot write OUT: Is a directory".
    data = _write(tmp_path / "d.jsonl", _rows())
    state = tmp_path / "state"
    _decide(data, state)
    journal = next(state.glob("journal-*.jsonl"))
    journal.rename(tmp_path / "kept-elsewhere.jsonl")
    for make, said in [
        (
            lambda: journal.symlink_to(tmp_path / "gone.jsonl"),
            f"is a link to {tmp_path / 'gone.jsonl'}, which leads to no file",
        ),
        (lambda: journal.mkdir(), "is not a file: move it away"),
    ]:
        make()
        out = tmp_path / "out"
        result = CliRunner().invoke(main, ["split", str(data), "--out", str(out), "--state-dir", str(state)])
        assert result.exit_code == 2, result.output
        assert f"the decisions journal {journal} {said}" in " ".join(result.output.split())
        assert not out.exists() and "cannot write" not in result.output
        journal.unlink() if journal.is_symlink() else journal.rmdir()


# --- item 18: a full disk while the position is saved ---------------------------------------------


async def test_a_full_disk_when_saving_the_position_is_a_notice_not_a_crash(tmp_path, monkeypatch):
    data = _write(tmp_path / "d.jsonl", _rows())
    app = make_app([data], tmp_path / "state", out=tmp_path / "out", group="")

    def full(self, position):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Session, "save_position", full)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("f2", "a", "a")
        await settle(pilot)
        assert app.return_code is None and app.is_running
        assert len(app.session.journal.effective()) == 2  # both decisions were saved
        notices = [n.message for n in app._notifications if "where you are" in n.message]
        assert notices == [
            "Could not save where you are (No space left on device); your decisions are saved."
        ]


def test_journal_open_without_create_writes_nothing(tmp_path):
    data = _write(tmp_path / "d.jsonl", _rows())
    session = Session(paths=[str(data)], settings=ScanSettings(load=LoadSettings()))
    session.analyse()
    session.journal.close()
    from sfttui.engine.io.load import load

    journal = Journal.open(load([data]).inputs, tmp_path / "nowhere", create=False)
    assert journal.read_only and not (tmp_path / "nowhere").exists()


def test_a_headless_read_leaves_a_cut_journal_as_it_is(tmp_path):
    # Reading mended a cut last line (appended a newline) before it knew it was only
    # reading: `split` wrote to the journal it promises to leave alone.
    from sfttui.engine.io.load import load

    data = _write(tmp_path / "d.jsonl", _rows())
    state = tmp_path / "state"
    session = Session(paths=[str(data)], state_dir=str(state))
    session.analyse()
    session.cap("a", 3)
    session.journal.close()
    path = session.journal.path
    path.write_bytes(path.read_bytes() + b'{"seq": 9, "action": "cap", "lab')  # a crash mid-line
    before = path.read_bytes()
    journal = Journal.open(load([data]).inputs, state, create=False)
    assert journal.read_only and path.read_bytes() == before
    assert [d.action for d in journal.decisions] == ["cap"] and len(journal.problems) == 1
    # The window that takes the lock mends it, so its next decision starts a line.
    writer = Journal.open(load([data]).inputs, state)
    assert not writer.read_only and path.read_bytes() == before + b"\n"
    writer.close()
