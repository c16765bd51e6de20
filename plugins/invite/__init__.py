"""The invite plugin (being built)."""

__version__ = "0.1.0"
