"""The rep's upload of a file for the customer's computer, resumable and relayed while it arrives.

An upload is opened with the file's name, target folder and size: the host makes the transfer, tells the
Support Manager to get ready, and the relay (relay.py) sends on every block as soon as it is in the
host's temp file. The rep's browser streams the bytes in one or more requests, each going on from what the
host has (``offset`` must equal ``have``); a request cut off midway keeps what arrived, and the next one
resumes from there. When the last byte is in, the host knows the SHA-256 and the relay ends the stream
with it; the Support Manager checks it before giving the file its name.
"""
from __future__ import annotations

import asyncio
import hashlib

from .lifecycle import could_not_store, file_store, finish
from .relay import start_upload
from .ordered_writer import BlockBuffer, OrderedWriter
from .state import Transfer, Upload

HAND_ON = 1024 * 1024   # bytes gathered from the request before they go to the writer (and the relay)


class UploadRefused(Exception):
    """The request cannot go on; ``status`` is the HTTP status, the text is shown to the rep."""

    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status = status


def _ended(t: Transfer) -> bool:
    return t.status in ("done", "failed")


async def open_upload(app, live, t: Transfer, modified: int | None = None) -> Transfer:
    """Make ``t``'s temp file, start the transfer (the Support Manager gets ready to receive)."""
    loop = asyncio.get_running_loop()
    temp, fd = await loop.run_in_executor(None, file_store(app).open_temp, t.id)
    arrived = asyncio.Event()
    # A buffer the relay reads back at once: no early writeback (it would push the pages out of the cache
    # the relay reads from); it is deleted when the transfer ends.
    writer = OrderedWriter(fd, hashlib.sha256(), flush_every=1 << 62, written_event=arrived)
    t.upload = Upload(temp, fd, writer, arrived, modified=modified)
    if not t.size:
        _completed(t)
    await start_upload(app, live, t)
    return t


def _completed(t: Transfer) -> None:
    t.sha256 = t.upload.writer.hasher.hexdigest()
    t.upload.complete = True
    t.upload.arrived.set()


async def receive(app, live, t: Transfer, request, offset: int, expect_sha256: str = "") -> dict:
    """Stream the request's body into ``t``'s upload from ``offset``. What arrived is kept if the request is
    cut off (the next one resumes from ``have``). Returns what the host has now."""
    up = t.upload
    if up is None or _ended(t):
        raise UploadRefused(410, "this transfer has ended")
    if up.busy:   # an earlier request whose connection died without the host noticing: this one takes over
        if up.transport is not None:
            up.transport.abort()
        for _ in range(50):
            await asyncio.sleep(0.1)
            if not up.busy:
                break
        else:
            raise UploadRefused(409, "this file is being uploaded by another request")
    length = request.content_length
    if length is None:
        raise UploadRefused(411, "the upload needs a Content-Length")
    if up.complete:
        raise UploadRefused(409, "this file is complete already")
    if offset != up.have:
        raise UploadRefused(409, f"the host has {up.have} bytes of this file: go on from there")
    if offset + length > t.size:
        raise UploadRefused(400, f"that is more than the file's size ({t.size} bytes)")
    if offset:
        up.resumed_at.append(offset)
    up.busy = True
    up.transport = request.transport
    buffer = BlockBuffer()
    got = 0
    problem: UploadRefused | None = None
    try:
        while True:
            data = await request.content.readany()
            if not data:
                break
            if _ended(t):
                raise UploadRefused(410, "the transfer was stopped; nothing more is needed")
            got += len(data)
            if got > length:
                raise UploadRefused(400, "more data came than announced")
            buffer.add(data)
            t.moved()
            if len(buffer) >= HAND_ON:
                up.writer.submit(buffer.take())
                await up.writer.wait()
    except UploadRefused as exc:
        problem = exc
    except asyncio.CancelledError:   # the host is stopping or the client went away: keep what arrived
        await _keep(app, live, t, buffer)
        raise
    except Exception as exc:   # the connection dropped (reset, or the body ended short)
        problem = UploadRefused(400, f"the upload was cut off ({exc.__class__.__name__}); the host keeps what "
                                "arrived: resume from what it has")
    finally:
        up.busy = False
        up.transport = None
    if problem is None and got != length:   # the body ended before its announced length
        problem = UploadRefused(400, f"the upload stopped after {got} of {length} bytes; the host keeps what "
                                "arrived: resume from what it has")
    await _keep(app, live, t, buffer)
    if _ended(t):
        raise UploadRefused(410, "the transfer was stopped; nothing more is needed")
    if up.have == t.size and not up.complete:
        digest = up.writer.hasher.hexdigest()
        if expect_sha256 and expect_sha256.lower() != digest:
            await finish(app, live, t, "failed", f"{t.name} does not match its SHA-256 (the upload was "
                         "damaged on the way); nothing was kept", tell_agent=True)
            raise UploadRefused(400, f"{t.name} does not match its SHA-256; nothing was sent")
        _completed(t)
    if problem is not None:
        raise problem
    return {"have": up.have, "size": t.size, "complete": up.complete, "sha256": t.sha256 or None}


async def _keep(app, live, t: Transfer, buffer: BlockBuffer) -> None:
    """Everything that arrived goes to the temp file (unless the transfer ended): ``have`` is then exact."""
    up = t.upload
    if buffer and not _ended(t):
        up.writer.submit(buffer.take())
    try:
        await up.writer.drain()
    except OSError as exc:
        if not _ended(t):
            await finish(app, live, t, "failed", could_not_store(t, exc), tell_agent=True)
    up.arrived.set()
