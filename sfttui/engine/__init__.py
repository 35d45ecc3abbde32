"""The headless engine: pure data work over Polars and NumPy; it never imports the UI."""
