"""Making small files durable together (group commit), off the event loop.

A small file arrives whole in one frame. While one batch is being written on a worker thread, the
files that arrive meanwhile wait; the next batch takes all of them at once: each is checked against
its SHA-256 (nothing is written when it differs), written to its temp file and fsynced, then all are
renamed to their final names and the folder is fsynced once for the batch. A file's ``commit()``
returns only after its rename is durable; a failed file leaves nothing behind and fails alone (a
failed folder fsync fails, and removes, the whole batch).
"""
from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass

from .storage import TransferStore


@dataclass
class SmallFile:
    tid: str            # the transfer: its temp file is tmp/<tid>.part
    stored_name: str    # its final name under files/
    data: bytes
    sha256: str         # what the sender computed; the file is kept only if the data matches it


class IntegrityError(ValueError):
    """The data does not match the SHA-256 its sender computed."""


def commit_batch(store: TransferStore, files: list[SmallFile]) -> list[Exception | None]:
    """Write, fsync and rename every file, then fsync the folder once. Blocks: run on a worker thread.
    Returns, per file, None (durable under its final name) or the error (nothing of it kept)."""
    results: list[Exception | None] = [None] * len(files)
    temps: list = [None] * len(files)
    fds = [-1] * len(files)

    def fail(i: int, exc: Exception) -> None:
        results[i] = exc
        TransferStore.discard(fds[i], temps[i])
        fds[i] = -1

    def each(step) -> None:
        for i, f in enumerate(files):
            if results[i] is None:
                try:
                    step(i, f)
                except Exception as exc:   # noqa: BLE001 - reported to that file's waiter
                    fail(i, exc)

    def write(i: int, f: SmallFile) -> None:
        digest = hashlib.sha256(f.data).hexdigest()
        if digest != f.sha256:
            raise IntegrityError(f"does not match its SHA-256 (sent {f.sha256}, got {digest})")
        temps[i], fds[i] = store.open_temp(f.tid)
        view = memoryview(f.data)
        while view:
            view = view[os.write(fds[i], view):]
        if hasattr(os, "posix_fadvise"):   # start writing it out now: the fsyncs below find less to do
            os.posix_fadvise(fds[i], 0, 0, os.POSIX_FADV_DONTNEED)

    def make_durable(i: int, f: SmallFile) -> None:
        os.fsync(fds[i])
        fd, fds[i] = fds[i], -1
        os.close(fd)

    def rename(i: int, f: SmallFile) -> None:
        os.replace(temps[i], store.path_of(f.stored_name))

    store.ensure()
    each(write)
    each(make_durable)
    each(rename)
    renamed = [i for i, r in enumerate(results) if r is None]
    if renamed:
        try:
            dfd = os.open(store.files, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError as exc:   # the renames may not be durable: none of them is kept
            for i in renamed:
                results[i] = exc
                TransferStore.discard(-1, store.path_of(files[i].stored_name))
    return results


class GroupCommit:
    """One per host: hands the small files that arrive close together to a worker as one batch. Up to
    ``workers`` batches run at once (a file create or an fsync can wait for the disk's journal; the
    next batch need not wait behind it)."""

    def __init__(self, store: TransferStore, workers: int = 3):
        self.store = store
        self.workers = workers
        self._waiting: list[tuple[SmallFile, asyncio.Future]] = []
        self._running = 0

    async def commit(self, f: SmallFile) -> None:
        """Returns once ``f`` is durable under its final name; raises IntegrityError or OSError if not."""
        fut = asyncio.get_running_loop().create_future()
        self._waiting.append((f, fut))
        if self._running < self.workers:
            self._running += 1
            asyncio.get_running_loop().call_soon(self._start_batch)
        await asyncio.shield(fut)   # a cancelled caller never leaves a batch half reported

    def _start_batch(self) -> None:
        """Take everything waiting now (the files that came in the same turn of the loop go together)."""
        batch, self._waiting = self._waiting, []
        if not batch:
            self._running -= 1
            return
        work = asyncio.get_running_loop().run_in_executor(None, commit_batch, self.store, [f for f, _ in batch])
        work.add_done_callback(lambda done: self._batch_done(batch, done))

    def _batch_done(self, batch: list, done: asyncio.Future) -> None:
        try:
            results = done.result()
        except Exception as exc:   # noqa: BLE001 - the worker itself failed: so did every file
            results = [exc] * len(batch)
        for (_f, fut), error in zip(batch, results):
            if fut.done():
                continue
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)
        self._start_batch()   # this worker takes what came meanwhile (or stops)
