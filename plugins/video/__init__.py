"""The video plugin (being built)."""

__version__ = "0.1.0"
