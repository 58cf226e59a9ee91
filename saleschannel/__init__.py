"""Sales Channel: Amazon orders in a commerce back office."""

__version__ = "0.1.0"
