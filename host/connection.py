"""One participant's WebSocket: the handler task reads, a writer task sends from a bounded queue.

A reader that cannot keep up never holds up anybody else: when its queue is full the connection is
closed with 1013 (try again later); the client reconnects and catches up from history.
"""
from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import WSCloseCode, web

log = logging.getLogger("supporthost.connection")


# One encoder for every message: json.dumps with options would build a new encoder on each call.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def encode(message: dict) -> str:
    return _encode(message)


CLOSE_WAIT = 3.0     # seconds to wait for the peer's answer to our close frame
ABORT_AFTER = 30.0   # seconds after closing before a transport still holding unread data is dropped


class Connection:
    def __init__(self, ws: web.WebSocketResponse, queue_size: int = 512):
        self.ws = ws
        self.queue: asyncio.Queue = asyncio.Queue(queue_size)
        self.closed = False
        self._closing: asyncio.Task | None = None  # the close a full queue started (a reference keeps it alive)
        self.writer = asyncio.create_task(self._write_loop())

    @property
    def backlog(self) -> int:
        """Messages queued for this participant and not written yet: a relay that can drop and catch up
        later (a fresh snapshot, a key frame) reads it to stop feeding a reader that is behind."""
        return self.queue.qsize()

    def send(self, message: dict | str | bytes) -> bool:
        """Queue a message (a dict, pre-encoded JSON text, or a binary frame); never waits."""
        if self.closed:
            return False
        if isinstance(message, dict):
            message = encode(message)
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("closing a connection whose reader is too slow")
            self.closed = True  # what follows is dropped: one close is enough
            self._closing = asyncio.create_task(self.close(WSCloseCode.TRY_AGAIN_LATER, "too slow"))
            return False
        return True

    async def _write_loop(self) -> None:
        try:
            while True:
                item = await self.queue.get()
                if item is None:
                    return
                if isinstance(item, (bytes, bytearray, memoryview)):
                    await self.ws.send_bytes(bytes(item))
                else:
                    await self.ws.send_str(item)
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            self.closed = True
        except Exception:  # a broken transport: the reader side notices and cleans up
            log.debug("writer stopped", exc_info=True)
            self.closed = True

    async def close(self, code: int = WSCloseCode.GOING_AWAY, message: str = "") -> None:
        """Flush what is queued (briefly), then close the socket.

        Never waits long for the peer: the close frame goes out behind whatever the peer has not read
        yet (so a reader that stalled still finds the close code when it reads again), we wait at most
        CLOSE_WAIT seconds for its answer, and a transport that still holds unread data ABORT_AFTER
        seconds later is dropped.
        """
        if self.closed and self.ws.closed:
            return
        self.closed = True
        try:
            self.queue.put_nowait(None)
            await asyncio.wait_for(asyncio.shield(self.writer), timeout=2)
        except (asyncio.QueueFull, asyncio.TimeoutError):
            self.writer.cancel()
        except Exception:
            pass
        if self.ws.closed:
            return
        transport = getattr(getattr(self.ws, "_req", None), "transport", None)  # aiohttp has no public accessor
        if transport is not None:
            asyncio.get_running_loop().call_later(ABORT_AFTER, transport.abort)  # harmless once closed
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=message.encode(), drain=False), CLOSE_WAIT)
        except (asyncio.TimeoutError, ConnectionError, RuntimeError):
            pass
