"""SIGTERM and SIGHUP end a headless command as Ctrl-C does, and Ctrl-C exits 130.

A CI job's timeout, `timeout`, `kill` and container stops send SIGTERM, and a dropped
SSH connection SIGHUP; by default either ends the process at once: a split being
written stayed in its temporary folder beside --out (put back or removed by the next
write's recovery), and `--low-memory`'s texts stayed in the temporary folder (removed
by the next scan's sweep). Raised as SystemExit in the main thread instead, they unwind
through the same `finally` and `except BaseException` blocks as an interrupt: the
temporary output is removed, an output set aside is put back, and the texts' folder
goes with the process. The exit code is a shell's for the signal (128 + its number).
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

# SIGINT too: Click's "Aborted!" exited 1, which `scan --fail-on` also gives for a finding,
# so a script could not tell an interrupted gate from a failed one. SIGHUP does not
# exist on Windows.
STOPPING = tuple(
    s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s
)


def _stop(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    # After a hang-up the terminal may be gone: the message is not worth an error.
    with contextlib.suppress(OSError, ValueError):
        print(f"sfttui: stopped ({name}); nothing half-written is left", file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)


@contextmanager
def stopped_as_interrupted() -> Iterator[None]:
    """While the block runs, SIGINT, SIGTERM and SIGHUP unwind it (SystemExit 130, 143
    and 129) instead of killing the process; one already ignored (`nohup`) stays ignored. Only
    from the main thread (signal handlers can be set there alone)."""
    previous = {}
    try:
        for s in STOPPING:
            # Ignored by whoever started us (`nohup`: a split meant to outlive the
            # connection): still ignored.
            if signal.getsignal(s) is not signal.SIG_IGN:
                previous[s] = signal.signal(s, _stop)
    except ValueError:  # not the main thread (a library caller's worker)
        pass
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
