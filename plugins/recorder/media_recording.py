"""The calls' media of one recording part: a silent "Recording" member (media_peer.MediaRecorderPeer) in
each kind of call the site has on (found with the ``call_services`` hook), and each closed track file
registered in ``recording_files`` (kind 'media') as soon as it is closed, so a host that dies later
still knows it.

The recorder's ActiveRecording starts one with its part (``start()``, whether a call runs already or
starts later) and awaits ``stop()`` when the part ends (Stop, the session ending, a write error).
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Callable

from host.api import call_hook, database, site_by_id

from .media_files import MediaFile
from .media_peer import MediaRecorderPeer

log = logging.getLogger("supporthost.recorder.media")


class MediaRecording:
    def __init__(self, app, live, recording_id: str, folder: Path, part: int, clock: Callable[[], int]):
        self.app, self.live, self.recording_id = app, live, recording_id
        self.folder, self.part, self.clock = Path(folder), part, clock
        self.peers: list[MediaRecorderPeer] = []
        self.writes: set[asyncio.Task] = set()
        self.stopped = False

    async def start(self) -> None:
        found = await call_hook(self.app, "call_services", site_by_id(self.app, self.live.site_id))
        for plugin, service in found:
            if self.stopped:
                return
            peer = MediaRecorderPeer(self.app, self.live, service, self.folder, self.part, self.clock,
                                     on_file=self._closed)
            self.peers.append(peer)
            try:
                await peer.start()
            except Exception:       # one call plugin's trouble never stops the recording
                log.exception("recording %s: joining the %s call failed", self.recording_id, plugin)

    async def stop(self, reason: str) -> list[MediaFile]:
        """Leave the calls, close every file and wait until each is registered: the part's media files."""
        self.stopped = True
        files = []
        for peer in self.peers:
            try:
                files += await peer.stop(reason)
            except Exception:
                log.exception("recording %s: leaving the %s call failed", self.recording_id, peer.kind)
        while self.writes:
            await asyncio.gather(*list(self.writes), return_exceptions=True)
        return files

    def _closed(self, file: MediaFile) -> None:
        task = asyncio.get_running_loop().create_task(self._register(file))
        self.writes.add(task)
        task.add_done_callback(self.writes.discard)

    async def _register(self, file: MediaFile) -> None:
        row = {"recording_id": self.recording_id, **file.row()}

        def write(db):
            db["recording_files"].upsert(row, pk=("recording_id", "name"))
            db.execute("update recordings set has_media = 1 where id = ?", [self.recording_id])
        try:
            await database(self.app).write(write)
        except Exception:
            log.exception("recording %s: registering %s failed", self.recording_id, file.name)
