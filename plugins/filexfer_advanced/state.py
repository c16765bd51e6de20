"""What the host knows about advanced file transfer in one live session: the Support Managers that offer
file access, the grants their people gave, pending requests and listings, and the transfers in flight.

Kept in memory with the live session (the plugin's state there, api.plugin_state); every grant,
revocation and transfer is also written to session_events, the audit log and the plugin's table.
"""
from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from host import api

from .ordered_writer import BlockBuffer
from .protocol import PLUGIN


@dataclass
class FileAgent:
    id: str
    name: str
    root: str


@dataclass
class Upload:
    """A file the rep is sending (to_customer): its bytes land in the host's temp file, which the relay reads
    as they arrive; the rep's browser resumes a dropped upload from ``have``. Not fsynced: it is a buffer,
    deleted when the transfer ends (the customer's copy is the one made durable)."""
    temp: Path
    fd: int
    writer: object                          # OrderedWriter of the temp file
    arrived: asyncio.Event = field(default_factory=asyncio.Event)   # set whenever more is on disk
    complete: bool = False                  # every byte is there and hashed (Transfer.sha256 is set)
    busy: bool = False                      # a request is streaming into it now
    resumed_at: list = field(default_factory=list)   # offsets the rep's uploads went on from
    transport: object = None                # the connection of the request in progress
    modified: int | None = None             # the file's last-modified time from the browser (finds it again)

    @property
    def have(self) -> int:
        return self.writer.written


@dataclass
class Transfer:
    id: str
    direction: str               # "to_rep" (customer's file to the host, for the rep) | "to_customer"
    agent: str
    rep: str
    rep_name: str
    name: str
    path: str                    # to_rep: the file's path under the root; to_customer: the target folder
    size: int | None = None
    done: int = 0                # to_rep: bytes the host has; to_customer: bytes the agent acknowledged
    status: str = "running"      # running | paused | checking (being verified) | done | failed
    expect: dict | None = None   # to_rep: the file's size and mtime when it started (resume checks it)
    temp: Path | None = None     # to_rep: the host's temp file
    fd: int = -1
    writer: object = None        # to_rep: the OrderedWriter of the temp file
    buffer: BlockBuffer = field(default_factory=BlockBuffer)
    sha256: str = ""
    stored_name: str = ""
    started_at: float = 0.0
    last_progress: float = 0.0
    trailing: asyncio.TimerHandle | None = None   # the progress message due at the end of the interval
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    relay: asyncio.Task | None = None
    started: asyncio.Task | None = None   # the write of its "started" record
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    upload: Upload | None = None          # to_customer: the rep's upload feeding the relay
    stall: int = 120                      # seconds without data before the transfer fails (the site's setting)
    moved_at: float = field(default_factory=time.monotonic)   # when data last moved (the stall watchdog)
    watchdog: asyncio.Task | None = None

    def moved(self) -> None:
        self.moved_at = time.monotonic()

    def public(self) -> dict:
        out = {"id": self.id, "direction": self.direction, "agent": self.agent, "rep": self.rep,
               "name": self.name, "path": self.path, "size": self.size, "done": self.done,
               "status": self.status}
        if self.upload is not None:
            out.update(uploaded=self.upload.have, upload_complete=self.upload.complete,
                       upload_resumed_at=list(self.upload.resumed_at), upload_modified=self.upload.modified)
        return out


@dataclass
class FilesState:
    agents: dict[str, FileAgent] = field(default_factory=dict)
    grants: dict[tuple[str, str], str] = field(default_factory=dict)   # (agent, rep) -> rep name
    pending: dict[str, tuple[str, str]] = field(default_factory=dict)   # request id -> (agent, rep)
    listings: dict[str, tuple[str, object]] = field(default_factory=dict)  # req -> (rep, the rep's message id)
    listing_parts: dict[str, list] = field(default_factory=dict)         # req -> entries received so far
    transfers: dict[str, Transfer] = field(default_factory=dict)

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(8)


def state_of(session: api.Session) -> FilesState:
    return api.plugin_state(session, PLUGIN, FilesState)
