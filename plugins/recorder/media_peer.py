"""The recording's silent member of a call: the host joins a session's audio (or video) call with aiortc,
sends nothing, and writes every other member's track to a file in the recording's folder.

It is a host member of the calls library (plugin_libs/calls/service.py, ``attach_host_member``):
participants see "Recording" in the call's members, browsers and Support Managers offer to it, and it
only answers. Members who join later, or join again, are picked up (a new file each time). It leaves
when ``stop()`` is awaited (the recording stops, the session ends); when the call stops it closes its
files and waits, attached, for the session's next call.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from plugin_libs.calls.candidates import candidate_from_json

from .media_files import MediaFile, TrackFile, media_file_name

log = logging.getLogger("supporthost.recorder.media")
MEMBER_ID = "~recording"      # a host member's id (the calls library's HOST_MEMBER_PREFIX, then a name)
MEMBER_NAME = "Recording"


@dataclass
class RemotePeer:
    id: str
    epoch: int
    pc: RTCPeerConnection
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class MediaRecorderPeer:
    """The recording in one call kind of a live session. ``service`` is that kind's CallService (found with
    the ``call_services`` hook), ``folder`` the recording's folder, ``part`` the recording part, ``clock()``
    the recording's clock in ms. ``on_file(MediaFile)`` is called for each closed file (also kept in
    ``files``)."""

    def __init__(self, app, live, service, folder: Path, part: int, clock: Callable[[], int],
                 on_file: Callable[[MediaFile], None] | None = None):
        self.app, self.live, self.service = app, live, service
        self.kind = service.kind
        self.folder = Path(folder)
        self.part = part
        self.clock = clock
        self.on_file = on_file
        self.files: list[MediaFile] = []
        self.names: set[str] = set()     # file names given in this part
        self.epoch: int | None = None
        self.ice: list[RTCIceServer] = []
        self.peers: dict[str, RemotePeer] = {}
        self.tasks: set[asyncio.Task] = set()
        self.stopped = False

    # -- joining and leaving ----------------------------------------------------------------------
    async def start(self) -> None:
        """Join the session's call of this kind now if one runs, and every later one until ``stop()``."""
        await self.service.attach_host_member(self.app, self.live, MEMBER_ID, MEMBER_NAME, self.deliver)

    async def stop(self, reason: str = "recording stopped") -> list[MediaFile]:
        """Leave the call (the others see the member go), close every file: the files of this peer."""
        if not self.stopped:
            self.stopped = True
            await self.service.detach_host_member(self.app, self.live, MEMBER_ID, reason)
            await self._leave_call()
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
        return list(self.files)

    async def _leave_call(self) -> None:
        self.epoch = None
        peers, self.peers = list(self.peers.values()), {}
        await asyncio.gather(*(p.pc.close() for p in peers), return_exceptions=True)

    # -- what the call service delivers -------------------------------------------------------------
    def deliver(self, message: dict) -> None:
        """A message for this member (sync, from the call service): acted on in a task of its own."""
        if self.stopped:
            return
        verb = str(message.get("type", "")).split(".", 1)[-1]
        if verb == "joined":
            self.epoch = message["epoch"]
            self.ice = [RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
                        for s in message.get("ice_servers", [])]
            self._members(message["members"])
        elif verb == "members":
            self._members(message["members"])
        elif verb == "signal":
            self._spawn(self._on_signal(message))
        elif verb == "call" and not message.get("active"):
            self._spawn(self._leave_call())

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _members(self, members: list[dict]) -> None:
        """Drop the connection to a member who left or joined again (its new one comes with its offer)."""
        now = {m["id"]: m["epoch"] for m in members}
        for pid, peer in list(self.peers.items()):
            if pid not in now or now[pid] > peer.epoch:
                del self.peers[pid]
                self._spawn(peer.pc.close())

    async def _on_signal(self, msg: dict) -> None:
        if self.epoch is None or msg.get("to_epoch") != self.epoch:
            return
        pid, epoch = msg.get("from"), msg.get("epoch")
        peer = self.peers.get(pid)
        if peer is not None and peer.epoch > epoch:
            return
        if peer is None or peer.epoch < epoch:
            if peer is not None:
                self._spawn(peer.pc.close())
            peer = self._new_peer(pid, epoch)
        async with peer.lock:
            if self.peers.get(pid) is not peer:
                return
            try:
                await self._apply(peer, msg)
            except Exception as exc:    # one member's bad offer never stops the recording of the others
                log.warning("recording %s: signalling from %s failed: %s", self.kind, pid, exc)

    def _new_peer(self, pid: str, epoch: int) -> RemotePeer:
        # An empty list, not None: aiortc would otherwise try a public STUN server.
        pc = RTCPeerConnection(RTCConfiguration(iceServers=list(self.ice)))
        peer = RemotePeer(pid, epoch, pc)
        self.peers[pid] = peer

        @pc.on("track")
        def on_track(track):
            if track.kind == self.kind and self.peers.get(pid) is peer and not self.stopped:
                self._spawn(self._record(pid, track))

        @pc.on("connectionstatechange")
        async def on_state():
            if pc.connectionState == "failed" and self.peers.get(pid) is peer:
                del self.peers[pid]
                await pc.close()
        return peer

    async def _apply(self, peer: RemotePeer, msg: dict) -> None:
        pc = peer.pc
        if "description" in msg:
            d = msg["description"]
            if d.get("type") != "offer":
                return     # this member never offers, so it expects no answer
            await pc.setRemoteDescription(RTCSessionDescription(sdp=d["sdp"], type="offer"))
            for t in pc.getTransceivers():
                t.direction = "recvonly"
            await pc.setLocalDescription(await pc.createAnswer())   # aiortc puts every candidate in the SDP
            self.service.host_signal(self.app, self.live, MEMBER_ID, peer.id, {
                "peer_epoch": peer.epoch,
                "description": {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}})
        elif "candidate" in msg:
            cand = candidate_from_json(msg["candidate"])
            if cand is not None:
                await pc.addIceCandidate(cand)

    # -- writing --------------------------------------------------------------------------------------
    async def _record(self, pid: str, track) -> None:
        """Write ``track`` to its file until it ends (the member left, the call or the recording stopped)."""
        name = media_file_name(self.names, self.kind, pid, self.part)
        out = TrackFile(self.folder, name, self.kind, self.clock)
        try:
            await out.open()
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    break
                await out.write(frame)
        except Exception:
            log.exception("recording %s of %s: writing %s failed", self.kind, pid, name)
        finally:
            try:
                done = await out.close()
            except Exception:
                log.exception("recording %s: closing %s failed", self.kind, name)
                done = None
        if done is not None:
            self.files.append(done)
            if self.on_file is not None:
                self.on_file(done)
