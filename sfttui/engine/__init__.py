"""The headless engine: pure data work over Polars and NumPy; it never imports the UI.

Importing it changes nothing in the process: process-wide settings (memory.one_heap)
are made by the entry points that run analyses (the command line, the analysis child,
the benchmarks).
"""
