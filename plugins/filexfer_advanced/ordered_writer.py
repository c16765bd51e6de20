"""Writing a stream to a file off the event loop, in order, without stopping to wait for each block.

Each block is written on a worker thread after the block before it, and hashed on another worker
thread (also in order), so writing and hashing overlap each other and the network. The caller goes on
receiving meanwhile and waits only when more than ``limit`` bytes are queued (backpressure). Every
``flush_every`` bytes the kernel is asked to start writing the data out (posix_fadvise DONTNEED starts
writeback on Linux without waiting), so the final fsync before the rename has little left to do.
A write error is raised by the next ``wait()`` / ``drain()``. ``written_event``, if given, is set each
time another block is on disk (a reader of the same file can follow the writer).
"""
from __future__ import annotations

import asyncio
import collections
import os

FLUSH_EVERY = 32 * 1024 * 1024
QUEUED_LIMIT = 16 * 1024 * 1024


class OrderedWriter:
    def __init__(self, fd: int, hasher, flush_every: int = FLUSH_EVERY, limit: int = QUEUED_LIMIT,
                 written_event: asyncio.Event | None = None):
        self.fd = fd
        self.written_event = written_event
        self.hasher = hasher
        self.flush_every = flush_every
        self.limit = limit
        self.written = 0
        self.queued = 0
        self._flushed = 0
        self._pending: collections.deque = collections.deque()
        self._last_write = None
        self._last_hash = None

    def _write(self, data) -> None:
        if isinstance(data, list):   # a block's frames as they came: one writev, no joined copy
            size = _writev_all(self.fd, data)
        else:
            view = memoryview(data)
            size = len(view)
            while view:
                view = view[os.write(self.fd, view):]
        self.written += size
        if self.written - self._flushed >= self.flush_every and hasattr(os, "posix_fadvise"):
            try:   # start writing this range out now, in the background
                os.posix_fadvise(self.fd, self._flushed, self.written - self._flushed, os.POSIX_FADV_DONTNEED)
            except OSError:
                pass
            self._flushed = self.written

    async def _chain(self, previous, fn, data: bytes) -> None:
        if previous is not None:
            await previous
        await asyncio.get_running_loop().run_in_executor(None, fn, data)
        if fn == self._write and self.written_event is not None:
            self.written_event.set()

    async def _both(self, write, digest, size: int) -> None:
        try:
            await asyncio.gather(write, digest)
        finally:
            self.queued -= size

    def _hash(self, data) -> None:
        if isinstance(data, list):
            for part in data:
                self.hasher.update(part)
        else:
            self.hasher.update(data)

    def submit(self, data) -> None:
        """Queue ``data`` (bytes, or a list of bytes-like parts written and hashed in order)."""
        size = sum(len(p) for p in data) if isinstance(data, list) else len(data)
        self.queued += size
        self._last_write = asyncio.ensure_future(self._chain(self._last_write, self._write, data))
        self._last_hash = asyncio.ensure_future(self._chain(self._last_hash, self._hash, data))
        self._pending.append(asyncio.ensure_future(self._both(self._last_write, self._last_hash, size)))

    async def wait(self, limit: int | None = None) -> None:
        """Until at most ``limit`` bytes are queued (default: the writer's limit)."""
        limit = self.limit if limit is None else limit
        while self._pending and (self.queued > limit or self._pending[0].done()):
            await self._pending.popleft()

    async def drain(self) -> None:
        await self.wait(0)

    async def settle(self) -> None:
        """Let queued writes finish, ignoring their errors (the file is being discarded): only then may
        the file descriptor be closed, so no late write lands in a reused descriptor."""
        for fut in (*self._pending, self._last_write, self._last_hash):
            if fut is not None:
                try:
                    await fut
                except Exception:
                    pass
        self._pending.clear()


def _writev_all(fd: int, parts: list) -> int:
    """Write every part, in order, with as few writev calls as the kernel allows (short writes resumed)."""
    views = [memoryview(p) for p in parts if len(p)]
    total = sum(len(v) for v in views)
    while views:
        n = os.writev(fd, views[:1024])   # IOV_MAX
        while n:
            if n >= len(views[0]):
                n -= len(views[0])
                views.pop(0)
            else:
                views[0] = views[0][n:]
                n = 0
    return total


class BlockBuffer:
    """Frames gathered into one block, handed on as the list of frames (written with writev, no copy)."""

    def __init__(self):
        self.parts: list = []
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, data) -> None:
        self.parts.append(data)
        self.size += len(data)

    def take(self) -> list:
        data = self.parts
        self.parts, self.size = [], 0
        return data
