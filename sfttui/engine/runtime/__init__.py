"""Where and how work runs: the Engine (map, parts, workers; it knows no stage),
progress stages, and the C heap's settings."""
