"""Text kernels: normal forms, shingling and MinHash, sorted-side lookups. Pure NumPy
and Polars over columns of texts; they import only the engine's base modules."""
