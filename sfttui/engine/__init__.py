"""The headless engine: pure data work over Polars and NumPy; it never imports the UI.

Its folders are its layers, lowest first: the shared vocabulary here (settings, errors,
findings), text/ (normal forms, MinHash), runtime/ (where work runs), io/ (files in and
out), analyses/, and the application here (scan, session, journal, export, report).
docs/ARCHITECTURE.md describes them; tests/test_layers.py keeps imports flowing down.

Importing it changes nothing in the process: process-wide settings (runtime.memory's
one_heap) are made by the entry points that run analyses (the command line, the
analysis child, the benchmarks).
"""
