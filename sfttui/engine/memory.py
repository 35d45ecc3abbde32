"""Handing freed memory back to the operating system between the stages of a scan.

NumPy allocates through the C library's malloc, which keeps memory freed by one stage
(signatures, candidate pairs) in its heap for reuse. The next stage's Polars buffers
come from another allocator (jemalloc) and cannot use it, so both allocators' spare
memory would add up in the process's footprint. `release()` asks glibc to return its
free heap pages, as Dask's workers do; it takes milliseconds and changes no result.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache


@cache
def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None


def release() -> None:
    """Return the C heap's free pages to the operating system, where that is possible."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
