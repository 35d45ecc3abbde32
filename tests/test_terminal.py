"""End to end in a real terminal: tmux runs `sfttui`, keys go in, the screen is read back."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from sfttui.cli import demo_path

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """One sfttui in a tmux server of its own (its own socket): a session started just
    as another test's server exits then cannot race it ("server exited unexpectedly")."""

    def __init__(self, cwd: Path, args: str, in_shell: bool = False) -> None:
        self.name = f"sfttui-{uuid.uuid4().hex[:8]}"
        python = shlex.quote(sys.executable)
        command = f"cd {shlex.quote(str(cwd))} && TERM=xterm-256color {python} -m sfttui {args}"
        if in_shell:  # typed into an interactive shell, which has job control (Ctrl-Z, fg)
            shell = "env PS1='$ ' bash --norc --noprofile -i"
            self._tmux("new-session", "-d", "-s", self.name, "-x", "100", "-y", "30", shell, check=True)
            self._tmux("send-keys", "-t", self.name, "-l", command, check=True)
            self._tmux("send-keys", "-t", self.name, "Enter", check=True)
        else:
            self._tmux("new-session", "-d", "-s", self.name, "-x", "100", "-y", "30", command, check=True)
        # Its socket file outlives the server: removed in kill(). Where tmux puts it (asking
        # tmux can race the new server's start).
        tmpdir = Path(os.environ.get("TMUX_TMPDIR", "/tmp"))
        self.socket = str(tmpdir / f"tmux-{os.getuid()}" / self.name)

    def _tmux(self, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.name, *args], capture_output=True, text=True, check=check)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name).stdout

    def keys(self, *keys: str) -> None:
        for key in keys:
            self._tmux("send-keys", "-t", self.name, key, check=True)
            time.sleep(0.15)

    def type(self, text: str) -> None:
        """Characters as typed (-l: literally, not as key names), in one go."""
        self._tmux("send-keys", "-t", self.name, "-l", text, check=True)

    def wait_for(self, *texts: str, timeout: float = 60) -> str:
        """The screen once it shows every one of `texts` (a list and its detail are drawn
        apart: on a slow machine one may be up before the other)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if all(text in screen for text in texts):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{texts!r} never all appeared; screen was:\n{self.screen()}")

    def pane(self, variable: str) -> str:
        """A tmux format variable of the pane (alternate_on, pane_pid, pane_tty)."""
        return self._tmux("display", "-p", "-t", self.name, f"#{{{variable}}}").stdout.strip()

    def wait_pane(self, variable: str, value: str, timeout: float = 20) -> str:
        """The pane's format variable once it is `value`, or as it is when time is up."""
        deadline = time.monotonic() + timeout
        while self.pane(variable) != value and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.pane(variable)

    def alive(self) -> bool:
        return self._tmux("has-session", "-t", self.name).returncode == 0

    def kill(self) -> None:
        self._tmux("kill-server")
        if self.socket:
            Path(self.socket).unlink(missing_ok=True)


def _listed_clusters(path: Path, state: Path) -> list[str]:
    """The Duplicates list's cluster ids in its order (conflicts, then largest first)."""
    from sfttui.engine.session import Session
    from sfttui.engine.settings import LoadSettings, ScanSettings

    settings = ScanSettings(load=LoadSettings(group_fields=("user_id",)))
    session = Session(paths=[str(path)], settings=settings, state_dir=str(state), writes_state=False)
    session.analyse()
    order = session.duplicates.clusters.sort(
        ["conflict", "size", "keeper_row"], descending=[True, True, False]
    )
    return order["id"].to_list()


def test_triage_write_and_resume_in_a_real_terminal(tmp_path):
    shutil.copyfile(demo_path(), tmp_path / "demo.jsonl")
    args = "demo.jsonl --by user_id --state-dir state --out splits"
    term = Tmux(tmp_path, args)
    try:
        term.wait_for("journal-")  # the status line once every analysis is done
        term.keys("F2")
        term.wait_for("329 clusters", "conflict")
        term.keys("a", "a")
        journal = next((tmp_path / "state").glob("journal-*.jsonl"))
        decisions = [json.loads(x) for x in journal.read_text().splitlines()[1:]]
        assert [d["action"] for d in decisions] == ["keep", "keep"]
        # Into the detail pane and out: j there scrolls the pane, not the list, so the
        # next decision is on the third cluster (the list would be on the fifth).
        term.keys("Enter", "j", "j", "Escape", "x")
        decisions = [json.loads(x) for x in journal.read_text().splitlines()[1:]]
        assert [d["action"] for d in decisions] == ["keep", "keep", "keep_all"]
        assert decisions[2]["cluster"] == _listed_clusters(tmp_path / "demo.jsonl", tmp_path / "none")[2]
        # Write splits from the command palette, by name.
        term.keys("C-p")
        term.wait_for("Search for commands")
        term.type("write splits")
        term.wait_for("Write splits")
        term.keys("Enter")
        term.wait_for("Write splits?")
        term.keys("Enter")
        term.wait_for("written to")
        manifest = json.loads((tmp_path / "splits" / "manifest.json").read_text())
        assert manifest["decisions"]["applied"][0]["action"] == "keep"
    finally:
        term.kill()  # as a dropped SSH connection would: no clean quit
    again = Tmux(tmp_path, args)
    try:
        again.wait_for("Resumed 3 decisions")
        again.keys("F6")
        again.wait_for("hard negatives", "Scorecard", "clarifying")
        again.keys("h")
        again.wait_for("hard negative · J 0.72")
        # The planted quality problems, each with its row.
        again.keys("F7")
        again.wait_for("ends on user", "t02654", "blank reply")
        again.keys("t")
        again.wait_for("Given to 8 rows")
        again.keys("a")
        again.wait_for("mojibake", "{customer_name}")
        again.keys("q")
        deadline = time.monotonic() + 10
        while again.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not again.alive(), "q did not quit"
    finally:
        again.kill()


def test_sigterm_quits_the_app_and_gives_the_terminal_back(tmp_path):
    # `kill` (or a session manager's stop) ended the app outright: the terminal stayed
    # in the alternate screen with echo off until the person typed `reset`.
    shutil.copyfile(demo_path(), tmp_path / "demo.jsonl")
    term = Tmux(tmp_path, "demo.jsonl --state-dir state; echo EXIT=$?; sleep 60")
    try:
        term.wait_for("journal-")
        term.keys("F2", "a")  # one decision, saved as it is made
        assert term.pane("alternate_on") == "1"
        shell = term.pane("pane_pid")
        app = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True).stdout.split()
        assert len(app) == 1
        os.kill(int(app[0]), signal.SIGTERM)
        term.wait_for("EXIT=143", "stopped (SIGTERM)")
        assert term.pane("alternate_on") == "0"
        with open(term.pane("pane_tty")) as tty:
            modes = subprocess.run(["stty", "-a"], stdin=tty, capture_output=True, text=True)
        assert " icanon " in f" {modes.stdout} " and " echo " in f" {modes.stdout} ", modes.stdout
        journal = next((tmp_path / "state").glob("journal-*.jsonl"))
        assert [json.loads(x)["action"] for x in journal.read_text().splitlines()[1:]] == ["keep"]
    finally:
        term.kill()


def test_ctrl_z_suspends_to_the_shell_and_fg_resumes(tmp_path):
    # Ctrl-Z did nothing (the app reads keys raw), so the shell could not be reached
    # without quitting; typing "fg" afterwards went into the app as keys.
    shutil.copyfile(demo_path(), tmp_path / "demo.jsonl")
    term = Tmux(tmp_path, "demo.jsonl --state-dir state", in_shell=True)
    try:
        term.wait_for("journal-")
        assert term.pane("alternate_on") == "1"
        term.keys("C-z")
        assert term.wait_pane("alternate_on", "0") == "0"  # the shell's screen, not the app's
        term.type("echo AT-THE-SHELL")
        term.keys("Enter")
        term.wait_for("AT-THE-SHELL")
        term.type("fg")
        term.keys("Enter")
        term.wait_for("journal-", "F2 Dup")
        assert term.pane("alternate_on") == "1"
        term.keys("F2", "a")  # keys reach the app again
        journal = next((tmp_path / "state").glob("journal-*.jsonl"))
        deadline = time.monotonic() + 20
        while len(journal.read_text().splitlines()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [json.loads(x)["action"] for x in journal.read_text().splitlines()[1:]] == ["keep"]
        term.keys("q")
        assert term.wait_pane("alternate_on", "0") == "0"
    finally:
        term.kill()


def _running(pid: int) -> bool:
    """Whether the process runs (an exited one may linger as a zombie, unreaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")
def test_a_dropped_connection_ends_the_app_and_its_analysis(tmp_path):
    # A dropped SSH connection hangs up the terminal while the analysis runs in its
    # child process: neither may outlive it, holding memory and the CPU for no one.
    lines = demo_path().read_bytes().splitlines()
    (tmp_path / "big.jsonl").write_bytes(b"\n".join(lines * 12) + b"\n")  # ~32k rows: seconds to analyse
    term = Tmux(tmp_path, "big.jsonl --state-dir state")
    try:
        deadline = time.monotonic() + 30
        app = child = None
        while child is None and time.monotonic() < deadline:
            found = subprocess.run(["pgrep", "-f", "sfttui.engine.isolated"], capture_output=True, text=True)
            for pid in map(int, found.stdout.split()):
                with contextlib.suppress(OSError):  # another test's child, gone meanwhile
                    parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                    if Path(f"/proc/{parent}/cwd").resolve() == tmp_path.resolve():
                        app, child = parent, pid
            time.sleep(0.05)
        assert child is not None, f"no analysis process appeared; screen was:\n{term.screen()}"
        assert _running(child)
    finally:
        term.kill()  # the terminal hangs up, as sshd's does when the connection drops
    deadline = time.monotonic() + 10
    while (_running(app) or _running(child)) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = {"the analysis": child, "the app": app}
    left = {name: pid for name, pid in left.items() if _running(pid)}
    for pid in left.values():
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{' and '.join(left)} outlived the terminal"


def test_sigterm_ends_the_app_while_its_terminal_takes_no_output(tmp_path):
    # A stalled SSH connection stops reading the terminal: the app's writes block, and
    # with them the quit SIGTERM asks for, which gives the terminal its modes back.
    # `kill` left the app running until the terminal drained (hours, for a connection
    # TCP has not given up on); now the process ends TERM_GRACE (5) seconds after SIGTERM.
    lines = demo_path().read_bytes().splitlines()
    (tmp_path / "big.jsonl").write_bytes(b"\n".join(lines * 12) + b"\n")  # seconds of progress
    term = Tmux(tmp_path, "big.jsonl --state-dir state; echo EXIT=$?; sleep 60")
    server = None
    try:
        term.wait_for("F1 Overview")
        shell = term.pane("pane_pid")
        [app] = map(
            int, subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True).stdout.split()
        )
        server = int(term._tmux("display", "-p", "#{pid}").stdout)
        os.kill(server, signal.SIGSTOP)  # reads the terminal no more, as a stalled sshd
        time.sleep(3)  # the progress the app draws fills the terminal's buffer
        os.kill(app, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _running(app) and time.monotonic() < deadline:
            time.sleep(0.1)
        ended = not _running(app)
        if not ended:
            os.kill(app, signal.SIGKILL)
        assert ended, "SIGTERM did not end the app while its terminal took no output"
    finally:
        if server is not None:
            os.kill(server, signal.SIGCONT)
        term.kill()
