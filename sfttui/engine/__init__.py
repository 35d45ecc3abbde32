"""The headless engine: pure data work over Polars and NumPy; it never imports the UI."""

from .memory import one_heap

# A process-wide setting, made here so that it comes before Polars' threads and the
# scan's own first allocate (an arena already made is kept; only new ones are
# limited): see memory.one_heap. Importing the engine in a notebook sets it there too.
one_heap()
