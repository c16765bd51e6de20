"""The plugin's WebSocket messages and which module handles each: access (requests, grants, a Support
Manager's hello), browsing, fetches (customer -> rep), relay (rep -> customer) and lifecycle (the end
of a transfer, from either side).

The host is the second lock (the agent is the first): it forwards no listing, read or write to a
Support Manager for a rep without a grant its person gave, and drops everything of a transfer once the
grant is gone.
"""
from __future__ import annotations

from . import access, browsing, fetches, lifecycle, relay
from .protocol import PLUGIN

TEXT = {
    "request": access.request, "state": access.get_state, "revoke": access.revoke,
    "agent_hello": access.agent_hello, "consent": access.consent, "violation": access.violation,
    "agent_command": access.agent_command,
    "list": browsing.list_folder, "listing": browsing.listing,
    "fetch": fetches.fetch, "file_info": fetches.file_info, "sent": fetches.sent,
    "ready": relay.ready, "progress": relay.progress, "received": relay.received,
    "cancel": lifecycle.cancel, "failed": lifecycle.failed,
}
BINARY = {"chunk": fetches.chunk, "whole_file": fetches.whole_file}


def register_all(register) -> None:
    for verb, fn in TEXT.items():
        register(f"{PLUGIN}.{verb}", fn)
    for verb, fn in BINARY.items():
        register(f"{PLUGIN}.{verb}", fn, binary=True)
