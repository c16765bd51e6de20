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


def encode(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


class Connection:
    def __init__(self, ws: web.WebSocketResponse, queue_size: int = 512):
        self.ws = ws
        self.queue: asyncio.Queue = asyncio.Queue(queue_size)
        self.closed = False
        self.writer = asyncio.create_task(self._write_loop())

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
            asyncio.create_task(self.close(WSCloseCode.TRY_AGAIN_LATER, "too slow"))
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
        """Flush what is queued (briefly), then close the socket."""
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
        if not self.ws.closed:
            await self.ws.close(code=code, message=message.encode())
