"""Worker processes for the pure-Python part of a stage, which one process runs on one
core however many threads it starts (parsing JSON into dicts holds the GIL).

Each worker is a fresh interpreter running this module (`python -m`), fed pickled
calls on its stdin and answering with pickled results on its stdout. Not
multiprocessing: its spawned children import the caller's main module again, so a
script without an `if __name__ == "__main__"` guard (or `python -m sfttui`) would
run itself once per worker; and a forked child inherits Polars' and NumPy's thread
pools in whatever state they are, and can hang on a lock held at that moment.
A worker imports the engine afresh (about 0.7 s, in parallel with the others), so a
stage hands work over only when it takes several seconds.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO

from ..errors import SfttuiError
from ..text.minhash import cores
from .memory import JEMALLOC_OPTIONS

__all__ = ["WorkerError", "cores", "map_on_workers"]


class WorkerError(SfttuiError):
    """A worker process stopped before it answered."""

    title = "sfttui lost a worker process"


# A worker's allocators keep the memory it frees. It lives for one stage and makes the
# same allocations block after block; handing the pages back between blocks only had
# them faulted in again (1M chat rows, 16 blocks on 2 workers: 930k page faults and
# 1.8 s of system time, against 570k and 1.2-1.3 s). The price is the large buffers
# of a block (its bytes read, its rows' IPC) kept between blocks: a worker's peak RSS
# went from 363-384 to 443-451 MB, a fixed amount whatever the file's size. glibc's
# malloc: no trimming, and blocks of up to 256 MB from the heap, not fresh mappings
# (values set in the environment stand). Polars' jemalloc: no decay, added after the
# options Polars put in this process's environment when it was imported (jemalloc
# keeps the last value of each).
_KEEP_FREED = {"MALLOC_MMAP_THRESHOLD_": str(256 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
_NO_DECAY = "dirty_decay_ms:-1,muzzy_decay_ms:-1"


class _Worker:
    """One process and the answers read from it, in the order its calls were sent."""

    def __init__(self, fn: Callable[..., Any], calls: list[tuple[Any, ...]]):
        env = {**_KEEP_FREED, **os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        env[JEMALLOC_OPTIONS] = ",".join(filter(None, [os.environ.get(JEMALLOC_OPTIONS), _NO_DECAY]))
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr,  # never the terminal: the app owns it
                env=env,
            )
        except OSError:
            self.stderr.close()
            raise
        self.answers: list[tuple[bool, Any]] = []
        self.ready = threading.Condition()
        self.ended = False
        assert self.proc.stdin is not None
        try:
            # The calls are small (what to read, not the data), so they fit the pipe at once.
            pickle.dump((fn, calls), self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.proc.stdin.close()
        except OSError:
            self.proc.kill()
            self.proc.wait()
            self.stderr.close()
            raise
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            while True:
                answer = pickle.load(self.proc.stdout)
                with self.ready:
                    self.answers.append(answer)
                    self.ready.notify_all()
        except (EOFError, pickle.UnpicklingError, OSError):
            pass
        with self.ready:
            self.ended = True
            self.ready.notify_all()

    def answer(self, k: int) -> Any:
        """The result of this worker's k-th call; its exception is raised here."""
        with self.ready:
            self.ready.wait_for(lambda: len(self.answers) > k or self.ended)
            if len(self.answers) <= k:
                raise WorkerError(self._why_stopped())
            ok, value = self.answers[k]
        if not ok:
            raise value
        return value

    def _why_stopped(self) -> str:
        code = self.proc.wait()
        self.stderr.seek(0)
        lines = self.stderr.read().decode(errors="replace").strip().splitlines()
        last = f": {lines[-1]}" if lines else ""
        return f"a worker process stopped (exit code {code}){last}"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.reader.join()
        self.stderr.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def map_on_workers(
    fn: Callable[..., Any],
    calls: Sequence[tuple[Any, ...]],
    workers: int,
    meanwhile: Callable[[], Any] | None = None,
    tick: Callable[[float], None] | None = None,
) -> tuple[list[Any], Any]:
    """`fn(*call)` for every call on `workers` processes (call k on worker k % workers),
    results in call order, and what `meanwhile()` returned: it runs here while they work.
    An exception a call raised is raised here; the workers are stopped on the way out."""
    count = max(1, min(workers, len(calls)))
    pool: list[_Worker] = []
    try:
        for w in range(count):
            try:
                pool.append(_Worker(fn, list(calls[w::count])))
            except OSError as exc:  # no interpreter to start, or it died at once
                raise WorkerError(f"cannot start a worker process ({exc})") from None
        during = meanwhile() if meanwhile else None
        results = []
        for k in range(len(calls)):
            results.append(pool[k % count].answer(k // count))
            if tick:
                tick((k + 1) / len(calls))
        return results, during
    finally:
        for worker in pool:
            worker.close()


def _serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """A worker's life: the function and its calls from stdin, each answer to stdout."""
    fn, calls = pickle.load(stdin)
    for call in calls:
        try:
            answer = pickle.dumps((True, fn(*call)), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # sent back to be raised by the caller
            try:
                answer = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:
                answer = pickle.dumps((False, WorkerError(f"{type(exc).__name__}: {exc}")))
        stdout.write(answer)
        stdout.flush()


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
