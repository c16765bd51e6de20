"""SQLite storage: one writer thread with group commit, a small pool of readers, all off the event loop.

Writes are functions ``fn(db) -> result`` run in the writer thread. Jobs that queue up while a
transaction is being written are committed together (group commit); each job runs in its own
savepoint, so one failing job never undoes another. A write's future resolves only after COMMIT,
so "acknowledged after commit" is simply ``await db.write(...)``.
"""
from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import sqlite_utils

from .private_files import private_file, private_folder

MAX_BATCH = 256


def connect(path: str | Path) -> sqlite_utils.Database:
    """Open a connection in autocommit mode (transactions via ``db.atomic()``) with WAL and FULL sync.
    The database file is made 0600 in a 0700 folder first: SQLite gives its WAL and shared-memory files
    the database file's mode."""
    private_folder(Path(path).parent)
    private_file(path)
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return sqlite_utils.Database(conn)


class Database:
    def __init__(self, path: str | Path, readers: int = 2):
        self.path = Path(path)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._writer_db = connect(self.path)
        self._local = threading.local()
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="db-read")
        self._writer = threading.Thread(target=self._write_loop, name="db-write", daemon=True)
        self._closed = False
        self._writer.start()

    # -- synchronous use, before the event loop runs or from tools ------------------------------
    def sync(self) -> sqlite_utils.Database:
        """The writer connection, for start-up work (migrations) before any job is queued."""
        return self._writer_db

    # -- async API -------------------------------------------------------------------------------
    async def write(self, fn: Callable[[sqlite_utils.Database], Any]) -> Any:
        """Run ``fn(db)`` in the writer thread inside a transaction; resolves after COMMIT."""
        if self._closed:
            raise RuntimeError("database is closed")
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._jobs.put((fn, loop, fut))
        return await fut

    async def read(self, fn: Callable[[sqlite_utils.Database], Any]) -> Any:
        """Run ``fn(db)`` on a reader connection (sees every committed write)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._run_read, fn)

    def _run_read(self, fn):
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.path)
        return fn(db)

    def _write_loop(self) -> None:
        db = self._writer_db
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch = [job]
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._jobs.put(None)
                    break
                batch.append(nxt)
            if len(batch) == 1:  # alone in its transaction: no savepoint needed
                try:
                    with db.atomic():
                        results = [(True, batch[0][0](db))]
                except Exception as exc:  # the job failed (rolled back) or COMMIT failed
                    results = [(False, exc)]
            else:
                results = []
                try:
                    with db.atomic():
                        for fn, _loop, _fut in batch:
                            results.append(_in_savepoint(db, fn))
                except Exception as exc:  # COMMIT itself failed: every job in the batch failed
                    results = [(False, exc)] * len(batch)
            # one wake-up of each event loop per batch, not one per job
            by_loop: dict = {}
            for (ok, value), (_fn, loop, fut) in zip(results, batch):
                by_loop.setdefault(loop, []).append((fut, ok, value))
            for loop, settled in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_settle_all, settled)
                except RuntimeError:  # that loop is closed: nobody is waiting any more
                    pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        self._writer.join(timeout=10)
        self._readers.shutdown(wait=True)
        self._writer_db.close()


def _in_savepoint(db: sqlite_utils.Database, fn) -> tuple[bool, Any]:
    """Run one job of a batch in its own savepoint: its failure undoes only its own changes.
    (A fixed savepoint name: the jobs of a batch run one after the other, never nested.)"""
    conn = db.conn
    conn.execute("SAVEPOINT job")
    try:
        result = fn(db)
    except Exception as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK TO SAVEPOINT job")
            conn.execute("RELEASE SAVEPOINT job")
        return False, exc
    conn.execute("RELEASE SAVEPOINT job")
    return True, result


def _settle_all(settled: list) -> None:
    for fut, ok, value in settled:
        if fut.done():
            continue
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)
