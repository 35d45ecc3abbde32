"""SIGTERM ends a headless command as Ctrl-C does.

A CI job's timeout, `timeout`, `kill` and container stops send SIGTERM, whose default
ends the process at once: a split being written stayed in its temporary folder beside
--out (put back or removed by the next write's recovery), and `--low-memory`'s texts
stayed in the temporary folder (removed by the next scan's sweep). Raised as SystemExit
in the main thread instead, it unwinds through the same `finally` and `except
BaseException` blocks as an interrupt: the temporary output is removed, an output set
aside is put back, and the texts' folder goes with the process.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_ON_SIGTERM = 128 + signal.SIGTERM  # what a shell reports for a process it ended


def _stop(signum: int, frame: FrameType | None) -> None:
    print("sfttui: stopped (SIGTERM); nothing half-written is left", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_ON_SIGTERM)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM unwinds it (SystemExit 143) instead of killing the
    process. Only from the main thread (signal handlers can be set there alone)."""
    try:
        previous = signal.signal(signal.SIGTERM, _stop)
    except ValueError:  # not the main thread (a library caller's worker): left as it is
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
