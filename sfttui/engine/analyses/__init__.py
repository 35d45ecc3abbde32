"""The analyses: each a function from the row frame and its settings to a result
(duplicates, balance, splits, leakage, hard data, representativeness)."""
