"""The plugin's per-site settings."""
from __future__ import annotations

from host.appkeys import PLUGINS
from host.options import Setting

from .protocol import P

MB = 1024 * 1024
SETTINGS = [Setting("max_file_mb", "Largest file transferred to or from a customer's computer (MB)", "int", 4096,
                    min=1, max=1_000_000),
            Setting("retention_hours", "Keep files copied from customers after the session ends (hours)", "int", 24,
                    min=0, max=24 * 365),
            Setting("stall_seconds", "End a transfer as failed when no data moved for this long (seconds)", "int",
                    120, min=2, max=3600)]


def max_file_bytes(app, site) -> int:
    for spec in app[PLUGINS].settings.get(P, []):
        if spec.name == "max_file_mb":
            return int(site.setting(P, spec) or 4096) * MB
    return 4096 * MB


def stall_seconds(app, site) -> int:
    for spec in app[PLUGINS].settings.get(P, []):
        if spec.name == "stall_seconds":
            return int(site.setting(P, spec) or 120)
    return 120
