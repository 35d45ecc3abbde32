"""Numba's compiler as the engine uses it: compiled on first use, cached on disk.

Numba caches machine code beside the module (or in the user's cache when that is
read-only), so a later process loads a kernel in milliseconds. `nogil`: callers run
kernels on threads, and the app's screen keeps drawing while one runs. Modules that
hold kernels are imported where they are first needed, not at start: importing Numba
costs a few tenths of a second.
"""

from __future__ import annotations

from collections.abc import Callable

from numba import njit


def compiled(fn: Callable) -> Callable:
    try:
        return njit(nogil=True, cache=True)(fn)
    except RuntimeError:  # Numba found no writable cache directory: compile in each process
        return njit(nogil=True)(fn)
