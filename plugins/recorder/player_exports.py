"""Exports asked for from the player: made in the background, one at a time, in a thread at a lower CPU priority
(nice 10) so live sessions keep the processor; with progress; the file kept for an hour for download.

An export of an hour-long recording takes tens of minutes on a small machine: far longer than an HTTP request
may wait, so the player starts a job, polls its progress, then downloads the finished file.
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from host.api import background_task

from .export import export_webm
from .reader import RecordingDamaged, RecordingIndex

log = logging.getLogger("supporthost.recorder.exports")
KEEP_SECONDS = 3600
EXPORT_NICE = 10


class ExportCancelled(Exception):
    """The host is stopping: the export gives up and leaves no file (export_webm removes its partial file)."""


@dataclass
class ExportJob:
    recording_id: str
    path: Path
    state: str = "waiting"            # waiting, running, done, failed
    progress: float = 0.0
    error: str = ""
    finished_at: float | None = None
    cancelled: bool = field(default=False, repr=False)
    task: asyncio.Task | None = field(default=None, repr=False)

    def public(self) -> dict:
        return {"state": self.state, "progress": round(self.progress, 3), "error": self.error}


class Exports:
    """The export jobs of one host (one per recording at a time)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.jobs: dict[str, ExportJob] = {}
        self.turn = asyncio.Semaphore(1)
        self._forget_old_files()

    def _forget_old_files(self) -> None:
        """Files of exports made before the host last stopped, older than KEEP_SECONDS."""
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                if time.time() - path.stat().st_mtime > KEEP_SECONDS:
                    path.unlink(missing_ok=True)

    def get(self, recording_id: str) -> ExportJob | None:
        job = self.jobs.get(recording_id)
        if job is not None and job.finished_at is not None and time.monotonic() - job.finished_at > KEEP_SECONDS:
            job.path.unlink(missing_ok=True)
            del self.jobs[recording_id]
            job = None
        return job

    def start(self, app, index: RecordingIndex) -> ExportJob:
        """The recording's job: the one under way or finished, else a new one (a task the host cancels when it
        stops)."""
        job = self.get(index.id)
        if job is not None and job.state != "failed":
            return job
        self.folder.mkdir(mode=0o700, exist_ok=True)
        job = self.jobs[index.id] = ExportJob(index.id, self.folder / f"{index.id}-{os.urandom(6).hex()}.webm")
        job.task = background_task(app, f"recorder.export.{index.id}", lambda: self._run(job, index))
        return job

    async def _run(self, job: ExportJob, index: RecordingIndex) -> None:
        try:
            async with self.turn:
                job.state = "running"
                await _in_low_priority_thread(self._export, job, index)
            job.state = "done"
        except RecordingDamaged as exc:
            job.state, job.error = "failed", str(exc)
        except asyncio.CancelledError:
            job.cancelled = True            # the thread stops at its next step and removes its partial file
            job.state, job.error = "failed", "The host stopped before the export was finished."
            raise
        except Exception as exc:
            log.exception("export of recording %s failed", job.recording_id)
            job.state, job.error = "failed", f"The export failed: {exc}"
        finally:
            job.finished_at = time.monotonic()

    @staticmethod
    def _export(job: ExportJob, index: RecordingIndex) -> None:
        def progress(fraction: float) -> None:
            if job.cancelled:
                raise ExportCancelled()
            job.progress = fraction
        export_webm(index, job.path, progress=progress)
        job.progress = 1.0


async def _in_low_priority_thread(fn, *args) -> None:
    """Run ``fn(*args)`` in a thread of its own at nice EXPORT_NICE or more (the encoder's threads inherit it);
    a pool thread is never left with a lowered priority."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    # once the export was cancelled nobody awaits ``done``: its outcome is read here so it is never "not retrieved"
    done.add_done_callback(lambda f: f.cancelled() or f.exception())

    def settle(exc: BaseException | None) -> None:
        if not done.done():
            done.set_exception(exc) if exc is not None else done.set_result(None)

    def work():
        tid = threading.get_native_id()
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < EXPORT_NICE:
                os.setpriority(os.PRIO_PROCESS, tid, EXPORT_NICE)
        except OSError:
            pass                                   # not allowed here: run at the usual priority
        outcome = None
        try:
            fn(*args)
        except BaseException as exc:
            outcome = exc
        try:
            loop.call_soon_threadsafe(settle, outcome)
        except RuntimeError:
            pass                                   # the loop is gone: the host stopped meanwhile

    threading.Thread(target=work, name="recorder-export", daemon=True).start()
    await asyncio.shield(done)


_EXPORTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def exports_of(app, folder: Path) -> Exports:
    """The host's export jobs (made on first use)."""
    exports = _EXPORTS.get(app)
    if exports is None:
        exports = _EXPORTS[app] = Exports(folder)
    return exports
