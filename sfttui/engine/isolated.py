"""A scan in a separate process, so the caller's interpreter is never kept waiting.

The analyses run Python loops (parsing, the label model's vectoriser) and native calls
that hold the GIL for a long time. In a thread of the app's own process they make
the UI wait for the GIL, so a key can take a second to be answered. In a child
process they cannot: the child sends progress as it goes and, at the end, the whole
ScanResult (Polars frames pickle as Arrow IPC), which is unpickled here once.

The child is a plain `python -m sfttui.engine.isolated` with two pipes, rather than a
multiprocessing process: a full-screen app owns the terminal's file descriptors, and
multiprocessing's helper processes and inherited descriptors do not mix with that.
Each message is a kind byte, a length and a body: a pickle of the progress or error,
or for the result the ScanResult's own pickle (not wrapped again: it is most of the
memory the child holds).
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import traceback
from typing import IO, TYPE_CHECKING

from .errors import InputError
from .runtime.memory import one_heap
from .runtime.progress import Progress, no_progress
from .settings import ScanSettings

if TYPE_CHECKING:  # the child imports the scan only once its heap is set (see main)
    from .scan import ScanResult

_POLL = 0.1  # seconds between chances for the caller to stop the child
BACKGROUND_NICE = 10  # the child's niceness, added to the app's
_HEAD = struct.Struct("<cQ")  # kind, body length
_CHILD = [sys.executable, "-m", __name__]


class AnalysisCrashed(RuntimeError):
    """The child process failed in a way that is not an input error (the message holds its traceback)."""


def available() -> bool:
    """Whether scans can run isolated here (select() on pipes is POSIX only)."""
    return os.name == "posix"


def run_scan_isolated(
    paths: list[str | os.PathLike[str]],
    settings: ScanSettings,
    progress: Progress = no_progress,
    explore_floor: float | None = None,
) -> ScanResult:
    """`run_scan` in a child process, with the same result, progress and InputError.

    An exception raised by `progress` (the app's cancellation) stops the child.
    """
    request = pickle.dumps(([str(p) for p in paths], settings, explore_floor))
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            _CHILD,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            close_fds=True,
        )
        try:
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write(request)
            child.stdin.close()
            result = _receive(child, child.stdout, progress)
        except BaseException:
            child.kill()
            child.wait()
            raise
        child.wait()
        if result is None:
            errors.seek(0)
            said = errors.read().decode("utf-8", "replace").strip()
            raise AnalysisCrashed(_how_it_ended(child.returncode) + (f": {said}" if said else ""))
    return result


def _how_it_ended(code: int) -> str:
    """The child's end in words: a signal by its name, and SIGKILL with what most often
    sends it to an analysis (\"exit code -9\" said nothing to the person)."""
    if code >= 0:
        return f"the analysis process stopped (exit code {code})"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    why = " (as the system does when memory runs out)" if name == "SIGKILL" else ""
    return f"the analysis process was killed by {name}{why}"


def _receive(child: subprocess.Popen, pipe: IO[bytes], progress: Progress) -> ScanResult | None:
    """Progress until the result (None if the child ended without one)."""
    last: tuple[str, float] = ("load", 0.0)
    while True:
        ready, _, _ = select.select([pipe], [], [], _POLL)
        if not ready:
            progress(*last)  # again, so a caller that wants to stop can say so between messages
            continue
        head = pipe.read(_HEAD.size)
        if len(head) < _HEAD.size:
            return None
        kind, size = _HEAD.unpack(head)
        body = _read_exactly(pipe, size)
        if kind == b"r":
            return pickle.loads(body)
        said = pickle.loads(body)
        if kind == b"p":
            last = said
            progress(*said)
        elif kind == b"i":
            raise InputError(said)
        else:
            raise AnalysisCrashed(said)


def _read_exactly(pipe: IO[bytes], size: int) -> bytes:
    data = pipe.read(size)
    if len(data) != size:
        raise AnalysisCrashed("the analysis process stopped while sending its result")
    return data


def _send(channel: IO[bytes], kind: bytes, body: bytes) -> None:
    channel.write(_HEAD.pack(kind, len(body)))
    channel.write(body)
    channel.flush()


def main() -> None:
    """The child: one request on stdin, messages on stdout."""
    # The channel gets its own descriptor; anything else printed goes to stderr.
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    # Background work: the analyses use every core, and the screen's process should
    # win the CPU whenever a key arrives (on two cores they otherwise shared it).
    os.nice(BACKGROUND_NICE)
    # Before NumPy and its BLAS threads load: glibc fixes its arena limit when the first
    # thread's arena is made, and ignores the setting after that.
    one_heap()
    from .scan import run_scan

    paths, settings, explore_floor = pickle.loads(sys.stdin.buffer.read())
    last: dict[str, float] = {}

    def progress(stage: str, fraction: float) -> None:
        # Whole percents are enough for a progress bar, and keep the pipe quiet.
        if fraction >= 1.0 or fraction - last.get(stage, -1.0) >= 0.01:
            last[stage] = fraction
            _send(channel, b"p", pickle.dumps((stage, fraction)))

    try:
        result = run_scan(paths, settings, progress, explore_floor=explore_floor)
        # Pickled before sending, so a failure to pickle is reported as a crash.
        payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except InputError as exc:
        _send(channel, b"i", pickle.dumps(str(exc)))
        return
    except BaseException:
        _send(channel, b"c", pickle.dumps(traceback.format_exc()))
        return
    del result
    _send(channel, b"r", payload)


if __name__ == "__main__":
    main()
