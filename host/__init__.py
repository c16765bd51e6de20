"""supporthost: a self-hosted, plugin-based remote support host."""

__version__ = "0.1.0"
