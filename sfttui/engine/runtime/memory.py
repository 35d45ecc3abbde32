"""Handing freed memory back to the operating system between the stages of a scan, and
keeping the garbage collector out of the loader's way.

NumPy allocates through the C library's malloc, which keeps memory freed by one stage
(signatures, candidate pairs) in its heap for reuse. The next stage's Polars buffers
come from another allocator (jemalloc) and cannot use it, so both allocators' spare
memory would add up in the process's footprint. `release()` asks glibc to return its
free heap pages, as Dask's workers do; it takes milliseconds and changes no result.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

_M_ARENA_MAX = -8  # mallopt's parameter number (malloc.h)


@cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 (not glibc: musl has neither)
        return libc
    except (OSError, AttributeError):
        return None


def release() -> None:
    """Return the C heap's free pages to the operating system, where that is possible."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


@cache
def one_heap() -> None:
    """Let threads share the C heap instead of each getting an arena of its own
    (as MALLOC_ARENA_MAX=1 does). Called by the entry points that run analyses (the
    command line, the analysis child, the benchmarks), before their first stage: an
    arena already made is kept, only new ones are limited, and a library importing
    the engine (a notebook) should not have its process's allocator changed.

    The near-duplicate and eval stages run NumPy work on a thread per core, beside
    Polars' own threads; glibc gives each thread an arena, and what those keep of freed
    arrays added ~90 MB to a million-row scan's peak (near pass 1,278 -> 1,190 MB,
    measured). Large blocks are allocated rarely, so one heap costs no measurable time.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, 1)


JEMALLOC_OPTIONS = "_RJEM_MALLOC_CONF"  # Polars' allocator reads its options from here, once
_AT_ONCE = "dirty_decay_ms:0,muzzy_decay_ms:0"
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
OWN_PAGES_FROM = 1 << 20  # bytes: blocks this large get pages of their own, unmapped when freed


def hand_freed_memory_back() -> None:
    """Have both allocators hand memory back as soon as it is freed (--low-memory).

    Polars' (jemalloc) keeps freed pages for its decay (500 ms dirty, then 1 s lazily
    freed, which the kernel counts as resident): set to 0 before Polars is loaded
    (jemalloc reads its options as it starts, and keeps the last value of each: ours go
    after any in the environment, such as the defaults Polars put there in a parent
    process); once Polars is loaded that part does nothing. With the texts in files the
    near and input passes read them a batch at a time on every thread; kept for the
    decay, those batches added 200-230 MB to a 1M scan's peak.

    The C library's (NumPy's arrays) serves blocks under its mmap threshold from its
    heap, and raises that threshold to the size of each mapped block freed, up to 32
    MiB: the passes' per-chunk arrays (signatures, shingles, candidates) then come from
    the heap, which keeps what they free until the next `release()`. A fixed threshold
    of 1 MiB gives each such array pages of its own, unmapped when it is freed: with the
    rest of --low-memory a 1M scan's peak 1,088-1,099 -> 994 MB (1.93x the input), for
    another 12-15% of its time (docs/BENCHMARKS.md, seventeenth).
    """
    if "polars" not in sys.modules:
        os.environ[JEMALLOC_OPTIONS] = ",".join(filter(None, [os.environ.get(JEMALLOC_OPTIONS), _AT_ONCE]))
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, OWN_PAGES_FROM)


class _Pause:
    """Loads under way, and whether the collector ran before the first began."""

    lock = threading.Lock()
    holders = 0
    resume = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic garbage collection while records are parsed and extracted.

    A chunk of parsed records holds about half a million dicts and lists at once, and
    each of Python's full collections walks every one of them: loading a million chat
    rows ran 65 of them, 2.6 s by gc.callbacks, and paused the load took 11.5 s, not
    15.3 s. Parsed JSON makes no reference cycles, so reference counting frees it all
    the same. Loads in several threads share one pause; the last to finish ends it.
    """
    with _Pause.lock:
        if _Pause.holders == 0:
            _Pause.resume = gc.isenabled()
            gc.disable()
        _Pause.holders += 1
    try:
        yield
    finally:
        with _Pause.lock:
            _Pause.holders -= 1
            if _Pause.holders == 0 and _Pause.resume:
                gc.enable()
