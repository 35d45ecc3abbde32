"""The headless engine: pure data work over Polars and NumPy; it never imports the UI."""

from .memory import one_heap

# Before any thread (Polars' pool, the scan's own) makes its first allocation: see
# memory.one_heap. A thread that allocated before this keeps an arena of its own.
one_heap()
