"""How long an fsync takes on the host's file system while the benchmark runs.

Every COMMIT of the host waits for one (SQLite WAL with synchronous=FULL), so when other work on the
machine keeps the disk busy the chat round trips grow with it. A thread writes 4 KiB and fsyncs it
every 20 ms next to the host's database and keeps (time, duration) pairs, sliced per measuring window.
"""
from __future__ import annotations

import os
import threading
import time


class FsyncProbe:
    def __init__(self, directory: str, interval: float = 0.02):
        self.path = os.path.join(directory, "fsync-probe.bin")
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fsync-probe", daemon=True)

    def start(self) -> "FsyncProbe":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        block = os.urandom(4096)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            while not self._stop.wait(self.interval):
                os.pwrite(fd, block, 0)
                t = time.monotonic()
                os.fsync(fd)
                self.samples.append((t, time.monotonic() - t))
        finally:
            os.close(fd)

    def between(self, start: float, end: float) -> list[int]:
        """fsync durations (µs) that started in [start, end)."""
        return [int(d * 1e6) for t, d in list(self.samples) if start <= t < end]
