"""Session recording: the session's traffic stored as it went (append-only segments of timestamped messages,
frames and recorder events, RECORDER.md), played back by the player and exported to WebM.

Record / Stop recording in the Session tab (each span is a part of the session's one recording), automatic
recording of every session of the reps an admin chose, the customer's notice and (per site) consent, chapters
from the traffic, retention, and the Recordings list.
"""
from __future__ import annotations

from host.api import Setting, hookimpl

from .migrations import migrations as recorder_migrations

__version__ = "0.1.0"
PLUGIN = "recorder"


@hookimpl
def migrations():
    return recorder_migrations


@hookimpl
def site_settings():
    return [
        Setting("ask_customer", "Ask the customer before recording", "bool", False,
                help="Recording starts only after the customer allows it on their side."),
        Setting("retention_days", "Keep recordings (days)", "int", 90, min=1, max=3650,
                help="Older recordings are deleted automatically."),
        Setting("record_file_contents", "Record the contents of transferred files", "bool", False,
                help="Off: only each file's name, size and SHA-256 are recorded."),
    ]
