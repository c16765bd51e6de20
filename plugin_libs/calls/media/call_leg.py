"""The agent in one call (audio or video) of a session: one RTCPeerConnection per other member, and the
signalling that builds them. Browsers always offer to an agent; between two agents the one with the lower
participant id offers (so there is never glare)."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiortc import MediaStreamTrack, RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from ..candidates import candidate_from_json

if TYPE_CHECKING:
    from .agent_media import AgentMedia

log = logging.getLogger("supporthost.agent_media")


@dataclass
class Peer:
    id: str
    epoch: int
    pc: RTCPeerConnection
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    sender: object = None
    copies: list = field(default_factory=list)
    offering: bool = False      # we made the offer (to an agent with a higher id)


class CallLeg:
    """The agent in one call (audio or video) of the session: one peer connection per member."""

    def __init__(self, media: "AgentMedia", kind: str):
        self.media = media
        self.kind = kind
        self.epoch: int | None = None
        self.ice: list[RTCIceServer] = []
        self.peers: dict[str, Peer] = {}
        self.members: dict[str, dict] = {}
        self.track: MediaStreamTrack | None = None     # what we send (None: nothing)
        self.relay = MediaRelay()
        self.limits: dict = {}
        self.states: dict[str, str] = {}

    @property
    def active(self) -> bool:
        return self.epoch is not None

    def start(self, reply: dict) -> None:
        self.epoch = reply["epoch"]
        self.limits = reply.get("media") or {}
        self.ice = [RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
                    for s in reply.get("ice_servers", [])]
        self.update(reply["members"])

    def update(self, members: list[dict]) -> None:
        me = self.media.me_id
        now = {m["id"]: m for m in members if m["id"] != me}
        for pid, peer in list(self.peers.items()):
            if pid not in now or now[pid]["epoch"] > peer.epoch:
                self._drop(peer)
        self.members = now
        # Browsers always offer to agents. Between two agents the one with the lower participant id
        # offers (the same rule browsers use between themselves), so exactly one side does.
        for pid, m in now.items():
            if m.get("agent") and me < pid and pid not in self.peers:
                peer = self._new_peer(pid, m["epoch"])
                peer.offering = True
                asyncio.ensure_future(self._offer(peer))

    async def _offer(self, peer: "Peer") -> None:
        async with peer.lock:
            if self.peers.get(peer.id) is not peer:
                return
            try:
                t = peer.pc.addTransceiver(self.kind, direction="sendrecv")
                peer.sender = t.sender
                self._attach(t.sender, self.track, peer)
                await peer.pc.setLocalDescription(await peer.pc.createOffer())
                await self.media._send({"type": f"{self.kind}.signal", "to": peer.id, "peer_epoch": peer.epoch,
                                        "description": {"type": "offer", "sdp": peer.pc.localDescription.sdp}})
            except Exception as exc:
                log.warning("%s: offer to %s failed: %s", self.kind, peer.id, exc)

    def _drop(self, peer: Peer) -> None:
        if self.peers.get(peer.id) is peer:
            del self.peers[peer.id]
        self.states.pop(peer.id, None)
        self.media._stop_remote(self.kind, peer.id)
        for copy in peer.copies:
            copy.stop()
        asyncio.ensure_future(peer.pc.close())

    def _new_peer(self, pid: str, epoch: int) -> Peer:
        # An empty list, not None: aiortc would otherwise try a public STUN server (and wait for it).
        pc = RTCPeerConnection(RTCConfiguration(iceServers=list(self.ice)))
        peer = Peer(pid, epoch, pc)
        self.peers[pid] = peer

        @pc.on("track")
        def on_track(track):
            if self.peers.get(pid) is peer:
                self.media._play_remote(self.kind, pid, track)

        @pc.on("connectionstatechange")
        def on_state():
            self.states[pid] = pc.connectionState
        return peer

    async def on_signal(self, msg: dict) -> None:
        log.debug("%s signal from %s epoch %s to_epoch %s (mine %s): %s", self.kind, msg.get("from"), msg.get("epoch"),
                  msg.get("to_epoch"), self.epoch, "description" if "description" in msg else "candidate")
        if not self.active or msg.get("to_epoch", self.epoch) != self.epoch:
            return
        pid, epoch = msg["from"], msg["epoch"]
        peer = self.peers.get(pid)
        if peer is not None and peer.epoch > epoch:
            return
        if peer is None or peer.epoch < epoch:
            if peer is not None:
                self._drop(peer)
            peer = self._new_peer(pid, epoch)
        async with peer.lock:
            if self.peers.get(pid) is not peer:
                return
            try:
                await self._apply(peer, msg)
            except Exception as exc:   # a bad offer from one member never stops the others
                log.warning("%s: signalling from %s failed: %s", self.kind, pid, exc)

    async def _apply(self, peer: Peer, msg: dict) -> None:
        pc = peer.pc
        if "description" in msg:
            d = msg["description"]
            if d["type"] == "answer":    # to our offer (we offer to agents with a higher id only)
                if peer.offering and pc.signalingState == "have-local-offer":
                    await pc.setRemoteDescription(RTCSessionDescription(sdp=d["sdp"], type="answer"))
                return
            if d["type"] != "offer" or peer.offering:
                return
            await pc.setRemoteDescription(RTCSessionDescription(sdp=d["sdp"], type="offer"))
            if peer.sender is None:
                for t in pc.getTransceivers():
                    if t.kind == self.kind and t.sender.track is None:
                        t.direction = "sendrecv"
                        peer.sender = t.sender
                        self._attach(t.sender, self.track, peer)
                        break
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)   # aiortc gathers every candidate into the SDP
            await self.media._send({"type": f"{self.kind}.signal", "to": peer.id, "peer_epoch": peer.epoch,
                                    "description": {"type": pc.localDescription.type,
                                                    "sdp": pc.localDescription.sdp}})
        elif "candidate" in msg:
            cand = candidate_from_json(msg["candidate"])
            if cand is not None:
                await pc.addIceCandidate(cand)

    def set_track(self, track: MediaStreamTrack | None) -> None:
        self.track = track
        for peer in self.peers.values():
            if peer.sender is not None:
                self._attach(peer.sender, track, peer)

    def _attach(self, sender, track: MediaStreamTrack | None, peer: Peer | None = None) -> None:
        """Send `track` (through the relay: one source, many peers, latest frame only) or nothing.
        The copies are stopped with the peer: stopping one the sender still waits on would end its loop."""
        copy = self.relay.subscribe(track, buffered=False) if track is not None else None
        sender.replaceTrack(copy)
        if copy is not None:
            owner = peer or next((p for p in self.peers.values() if p.sender is sender), None)
            if owner is not None:
                owner.copies.append(copy)

    async def close(self) -> None:
        for peer in list(self.peers.values()):
            self._drop(peer)
        self.epoch = None
        await asyncio.sleep(0)
