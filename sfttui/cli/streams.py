"""Standard output as a file: whether a path names it, and whether it is an input.

`scan --json /dev/stdout` is `--json -` by another name, and `sfttui scan data.jsonl
>> data.jsonl` would print into the data it reads: standard output is compared with
files by device and inode, not by name.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable

from ..engine.errors import ReportRefused, SfttuiError
from ..engine.settings import ScanSettings


def _stat(stream: object) -> os.stat_result | None:
    try:
        return os.fstat(stream.fileno())  # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError):  # closed (None), or not a real file
        return None


class NoTerminal(SfttuiError):
    """The app was started where it can neither read keys nor draw a screen."""

    title = "sfttui needs a terminal"


def need_a_terminal() -> None:
    """NoTerminal unless standard input and standard error are terminals: the app reads
    its keys from the one and draws on the other (Textual's driver). Started from a pipe,
    a script or `ssh host sfttui FILE` (no -t), it drew its screen where no one saw it and
    read end-of-file without pause, a core busy until the process was killed."""
    for name, stream in (("standard input", sys.__stdin__), ("standard error", sys.__stderr__)):
        try:
            ok = stream is not None and stream.isatty()
        except (OSError, ValueError):  # closed
            ok = False
        if not ok:
            raise NoTerminal(
                f"the app needs a terminal to read keys from and draw on, and {name} is not one: "
                "run it in a terminal (over SSH: ssh -t), or use `sfttui scan` or `sfttui split`, "
                "which need none"
            )


def is_stdout(path: str) -> bool:
    """Whether `path` is this process's standard output by another name (`/dev/stdout`,
    `/proc/self/fd/1`, the file stdout is redirected to)."""
    out = _stat(sys.stdout)
    try:
        given = os.stat(path)
    except OSError:
        return False
    return out is not None and os.path.samestat(given, out)


def refuse_printing_into(inputs: Iterable[str | os.PathLike[str]]) -> None:
    """ReportRefused when standard output or standard error is one of `inputs` (`>>
    data.jsonl`, `2>> data.jsonl`): what sfttui prints, a summary, a report or a warning,
    would be written into the file it reads."""
    streams = {
        name: found
        for name, stream in (("standard error", sys.stderr), ("standard output", sys.stdout))
        if (found := _stat(stream)) is not None and stat.S_ISREG(found.st_mode)
    }
    if not streams:
        return
    files = []
    for given in inputs:
        try:
            files.append((given, os.stat(given)))
        except OSError:
            continue
    hit = {name: given for name, out in streams.items() for given, st in files if os.path.samestat(st, out)}
    if "standard error" in hit:
        # The refusal itself is printed on standard error: not into the input.
        _stderr_away("standard output" not in hit)
    for name, given in hit.items():
        raise ReportRefused(
            f"{name} is the input {given}: what sfttui prints would be written into it; send it elsewhere"
        )


def _stderr_away(to_stdout: bool) -> None:
    """Standard error off the input it points at: what Python or a library would write
    there goes nowhere, and what sfttui says goes to standard output when it may."""
    _to_devnull(2)
    sys.stderr = sys.stdout if to_stdout and sys.stdout is not None else open(os.devnull, "w")  # noqa: SIM115


def also_read(settings: ScanSettings) -> list[str]:
    """The files a run reads besides its data: eval sets, production samples, the
    response patterns and the tokenizer."""
    c = settings.coverage
    return [
        *settings.eval_paths,
        *c.reference_paths,
        *filter(None, [c.patterns_path, settings.lengths.tokenizer]),
    ]


def silence_stdout() -> None:
    """Standard output pointed at /dev/null: the interpreter flushes it again at exit,
    and a second failure there would print a traceback after the error line."""
    _to_devnull(sys.stdout.fileno())


def _to_devnull(fd: int) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
