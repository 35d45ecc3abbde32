"""sfttui: make a fine-tuning dataset clean and honest before anyone trains on it."""

__version__ = "0.1.0"
