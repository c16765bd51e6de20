"""The plugin's per-site settings."""
from __future__ import annotations

from host import api

from .protocol import PLUGIN

MB = 1024 * 1024
SETTINGS = [api.Setting("max_file_mb", "Largest file transferred to or from a customer's computer (MB)", "int", 4096,
                        min=1, max=1_000_000),
            api.Setting("retention_hours", "Keep files copied from customers after the session ends (hours)", "int",
                        24, min=0, max=24 * 365),
            api.Setting("stall_seconds", "End a transfer as failed when no data moved for this long (seconds)",
                        "int", 120, min=2, max=3600)]


def max_file_bytes(app, site) -> int:
    return int(api.setting(app, site, PLUGIN, "max_file_mb") or 4096) * MB


def stall_seconds(app, site) -> int:
    return int(api.setting(app, site, PLUGIN, "stall_seconds") or 120)


def retention_hours(app, site) -> float:
    value = api.setting(app, site, PLUGIN, "retention_hours")
    return float(24 if value is None else value)
