"""The filexfer_basic plugin (being built)."""

__version__ = "0.1.0"
