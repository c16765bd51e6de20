"""Writing a recording's segment files: append-only, buffered in memory, written + flushed + fsynced by one
thread of the recording at least every ``flush_every`` seconds, rotated every 10 s of recording or 4 MiB.

Format (RECORDER.md): the file header ``MAGIC``, then records ``>I length, >I crc32(payload), payload`` with
the payload ``>Q t_ms, >B kind, >B direction, >H n, n bytes participant, body``. The event loop only appends
tuples to a list (``add``); the thread builds and writes the bytes. A closed file's name, times, size,
record count and SHA-256 come back as ``ClosedFile`` for its ``recording_files`` row.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

from host.api import open_private

MAGIC = b"SHREC\x00\x01\n"
RECORD_HEAD = struct.Struct(">II")
PAYLOAD_HEAD = struct.Struct(">QBBH")
KIND_JSON, KIND_BINARY, KIND_EVENT = 1, 2, 3
OUT, IN = 0, 1
SEGMENT_MS = 10_000                  # a new segment after 10 s of recording...
SEGMENT_BYTES = 4 * 1024 * 1024      # ...or 4 MiB
FLUSH_EVERY = 1.0                    # seconds between writes to disk (the design allows at most 2)
MAX_BUFFERED = 64 * 1024 * 1024      # more than this waiting for the disk: the disk cannot keep up


def segment_name(n: int) -> str:
    return f"seg-{n:06d}.rec"


def encode_record(t_ms: int, kind: int, direction: int, participant: str, body: bytes) -> bytes:
    pid = participant.encode("utf-8")[:65535]
    payload = PAYLOAD_HEAD.pack(t_ms, kind, direction, len(pid)) + pid + body
    return RECORD_HEAD.pack(len(payload), zlib.crc32(payload)) + payload


@dataclass
class ClosedFile:
    name: str
    first_ms: int
    last_ms: int
    bytes: int
    sha256: str
    records: int

    def row(self, recording_id: str) -> dict:
        return {"recording_id": recording_id, "name": self.name, "kind": "segment", "first_ms": self.first_ms,
                "last_ms": self.last_ms, "bytes": self.bytes, "sha256": self.sha256, "records": self.records}


class _Segment:
    """The open segment file, used by the writer's thread only."""

    def __init__(self, path: Path):
        self.name = path.name
        self.file = open_private(path)
        self.hash = hashlib.sha256()
        self.size = 0
        self.records = 0
        self.first_ms: int | None = None
        self.last_ms = 0
        self._put(MAGIC)

    def _put(self, data: bytes) -> None:
        self.file.write(data)
        self.hash.update(data)
        self.size += len(data)

    def add(self, t_ms: int, kind: int, direction: int, participant: str, body: bytes) -> None:
        self._put(encode_record(t_ms, kind, direction, participant, body))
        self.records += 1
        if self.first_ms is None:
            self.first_ms = t_ms
        self.last_ms = t_ms

    def sync(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> ClosedFile:
        self.sync()
        self.file.close()
        return ClosedFile(self.name, self.first_ms or 0, self.last_ms, self.size, self.hash.hexdigest(),
                          self.records)


_ROTATE = object()   # in the buffer: the records after it go to the next segment


class SegmentWriter:
    """One recording's segments. ``add`` never blocks; ``on_closed(files)`` (awaited on the loop) gets each
    batch of closed files; ``on_failed(exc)`` gets the error that stopped writing (disk full, I/O error).
    ``on_rotate()`` is called on the loop when a new segment starts (the recorder asks for key frames)."""

    def __init__(self, folder: Path, first_segment: int, on_closed: Callable[[list[ClosedFile]], Awaitable[None]],
                 on_failed: Callable[[BaseException], Awaitable[None]], on_rotate: Callable[[], None] | None = None,
                 flush_every: float = FLUSH_EVERY, segment_ms: int = SEGMENT_MS, segment_bytes: int = SEGMENT_BYTES):
        self.folder = folder
        self.on_closed, self.on_failed, self.on_rotate = on_closed, on_failed, on_rotate
        self.flush_every, self.segment_ms, self.segment_bytes = flush_every, segment_ms, segment_bytes
        self.next_segment = first_segment
        self.total_bytes = 0              # bytes handed to the writer (records), for the recording's row
        self.failed: BaseException | None = None
        self._buffer: list = []
        self._buffered = 0
        self._seg_first_ms: int | None = None
        self._seg_bytes = 0
        self._segment: _Segment | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="recorder-writer")
        self._wake = asyncio.Event()
        self._closing = False
        self._failing: asyncio.Task | None = None
        self._task = asyncio.get_running_loop().create_task(self._flush_loop())

    # -- on the event loop ---------------------------------------------------------------------------
    def add(self, t_ms: int, kind: int, direction: int, participant: str, body: bytes) -> bool:
        """Queue one record; False once writing failed or stopped (the record is dropped)."""
        if self.failed is not None or self._closing:
            return False
        size = RECORD_HEAD.size + PAYLOAD_HEAD.size + len(participant) + len(body)
        if self._seg_first_ms is None:
            self._seg_first_ms = t_ms
        elif t_ms - self._seg_first_ms >= self.segment_ms or self._seg_bytes + size > self.segment_bytes:
            self._buffer.append(_ROTATE)
            self._seg_first_ms, self._seg_bytes = t_ms, 0
            self._wake.set()
            if self.on_rotate is not None:
                self.on_rotate()
        self._buffer.append((t_ms, kind, direction, participant, body))
        self._seg_bytes += size
        self._buffered += size
        self.total_bytes += size
        if self._buffered > MAX_BUFFERED:
            self._fail(OSError("the disk does not keep up with the recording"))
            return False
        return True

    async def close(self) -> None:
        """Write what is left, close the open segment (its row comes through ``on_closed``) and stop."""
        if self._closing:
            await asyncio.shield(self._task)
            return
        self._closing = True
        self._wake.set()
        await asyncio.shield(self._task)

    def _fail(self, exc: BaseException) -> None:
        if self.failed is None:
            self.failed = exc
            self._buffer.clear()
            self._wake.set()

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    await asyncio.wait_for(self._wake.wait(), self.flush_every)
                except asyncio.TimeoutError:
                    pass
                self._wake.clear()
                if self.failed is not None:
                    break
                batch, self._buffer, self._buffered = self._buffer, [], 0
                last = self._closing
                try:
                    closed = await loop.run_in_executor(self._pool, self._write, batch, last)
                except Exception as exc:    # disk full, I/O error: the recording stops, the session goes on
                    self.failed = exc
                    break
                if closed:
                    await self.on_closed(closed)
                if last:
                    break
        finally:
            await loop.run_in_executor(self._pool, self._abandon)
            self._pool.shutdown(wait=False)
        if self.failed is not None:     # told from a task of its own: the handler may close this writer
            self._failing = loop.create_task(self.on_failed(self.failed))

    # -- in the writer's thread ----------------------------------------------------------------------
    def _write(self, batch: list, last: bool) -> list[ClosedFile]:
        closed = []
        for item in batch:
            if item is _ROTATE:
                if self._segment is not None:
                    closed.append(self._segment.close())
                    self._segment = None
                continue
            if self._segment is None:
                self._segment = _Segment(self.folder / segment_name(self.next_segment))
                self.next_segment += 1
            self._segment.add(*item)
        if self._segment is not None:
            if last:
                closed.append(self._segment.close())
                self._segment = None
            else:
                self._segment.sync()
        return closed

    def _abandon(self) -> None:
        """After a failure: the open file is closed as it is (recovery at the next start closes it)."""
        if self._segment is not None:
            try:
                self._segment.file.close()
            except OSError:
                pass
            self._segment = None


def close_leftover_segments(folder: Path, known: set[str]) -> list[ClosedFile]:
    """The segments in ``folder`` that have no ``recording_files`` row (``known`` names those that do): left
    open by a host that died or a write that failed. Each is cut back to its last complete record with a
    good checksum, fsynced and hashed. Blocking: run it off the event loop."""
    from .reader import RecordingDamaged, parse_records
    closed = []
    if not folder.is_dir():
        return closed
    for path in sorted(folder.glob("seg-*.rec")):
        if path.name in known:
            continue
        data = path.read_bytes()
        try:
            records, good = parse_records(data, path.name, strict=False)
        except RecordingDamaged:        # not even a whole header: nothing of it can be played
            records, good = [], 0
        if good < len(MAGIC):
            path.unlink()
            continue
        if good < len(data):
            with open(path, "r+b") as f:
                f.truncate(good)
                f.flush()
                os.fsync(f.fileno())
        closed.append(ClosedFile(path.name, records[0].t_ms if records else 0, records[-1].t_ms if records else 0,
                                 good, hashlib.sha256(data[:good]).hexdigest(), len(records)))
    return closed
