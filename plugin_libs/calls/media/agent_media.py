"""The Support Manager's (agent's) side of audio and video calls: aiortc instead of a browser.

``AgentMedia`` speaks the same signalling as the browser panels (plugin_libs/calls/service.py) over a
session WebSocket it is given: it joins a call as an "agent" member, with one call leg (call_leg.py) per
kind of call. Audio comes from a PyAudio input stream and remote audio is played to PyAudio output
streams (audio_tracks.py); video comes from an OpenCV capture: a camera index, or a video file that
loops (video_tracks.py).

Use::

    media = AgentMedia(send=ws_send_json, me_id=hello["you"]["id"], microphone=PyAudioMicrophone(),
                       speaker=PyAudioSpeaker(), camera=lambda limits: OpenCVCamera(0, **limits))
    asyncio.create_task(media.run(ws))       # or call media.handle(message) for every message
    await media.join("audio"); await media.join("video", send_camera=True)
    await media.set_muted(True); await media.leave("video"); await media.close()
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Awaitable, Callable

from aiortc import MediaStreamTrack

from .audio_tracks import PyAudioSpeaker
from .call_leg import CallLeg
from .devices import NoDeviceError, check_device
from .speaking import SpeakingMeter
from .video_tracks import VideoReceiver

log = logging.getLogger("supporthost.agent_media")


class AgentMedia:
    """The agent's audio and video in one session, over a session WebSocket.

    send: an async function sending one JSON message (a dict) over the session's WebSocket.
    me_id: the agent's participant id (from session.hello).
    microphone: a MediaStreamTrack (PyAudioMicrophone) or a function returning one, or None.
    speaker: a PyAudioSpeaker (or None: remote audio received, not played).
    camera: a function (limits dict) -> MediaStreamTrack (e.g. OpenCVCamera), or None.
    on_event: called with every audio.*/video.* message (to prompt the user when a call starts).
    """

    def __init__(self, send: Callable[[dict], Awaitable[None]], me_id: str, *, microphone=None,
                 speaker: PyAudioSpeaker | None = None, camera: Callable[[dict], MediaStreamTrack] | None = None,
                 video_receiver: VideoReceiver | None = None, on_event: Callable[[dict], None] | None = None):
        self._send_fn = send
        self.me_id = me_id
        self.microphone = microphone
        self.speaker = speaker
        self.camera_factory = camera
        self.video = video_receiver or VideoReceiver()
        self.on_event = on_event
        self.legs = {"audio": CallLeg(self, "audio"), "video": CallLeg(self, "video")}
        self._pending: dict[str, asyncio.Future] = {}
        self._n = 0
        self._mic_track: MediaStreamTrack | None = None
        self._camera_track: MediaStreamTrack | None = None
        self.muted = False
        self.problems: dict[str, str] = {}    # kind -> why no microphone / camera is sent
        self.mic_meter = SpeakingMeter()       # the level of what our own microphone records

    # -- the WebSocket ---------------------------------------------------------------------------
    async def _send(self, message: dict) -> None:
        await self._send_fn(message)

    async def request(self, message: dict, timeout: float = 15) -> dict:
        self._n += 1
        mid = f"agent-media-{self._n}"
        fut = asyncio.get_running_loop().create_future()
        self._pending[mid] = fut
        try:
            await self._send({**message, "id": mid})
            reply = await asyncio.wait_for(fut, timeout)
        finally:
            self._pending.pop(mid, None)
        if reply.get("type") == "error":
            raise RuntimeError(reply.get("error"))
        return reply

    async def handle(self, msg: dict) -> None:
        """Feed every message that arrives on the session WebSocket."""
        ref = msg.get("re")
        if ref in self._pending and not self._pending[ref].done():
            kind = str(msg.get("type", "")).split(".")[0]
            if msg.get("type") == f"{kind}.joined" and kind in self.legs:
                # Start now, before the next message (an offer may follow at once) is handled.
                self.legs[kind].start(msg)
            self._pending[ref].set_result(msg)
            return
        kind, _, verb = str(msg.get("type", "")).partition(".")
        leg = self.legs.get(kind)
        if leg is None:
            return
        if verb == "signal":
            await leg.on_signal(msg)
        elif verb == "members" and leg.active:
            leg.update(msg["members"])
        elif verb == "call" and not msg.get("active") and leg.active:
            await self._hang_up(kind)
        if self.on_event is not None:
            self.on_event(msg)

    async def run(self, ws) -> None:
        """Read an aiohttp client WebSocket until it closes, handling every message."""
        import aiohttp
        while True:
            m = await ws.receive()
            if m.type == aiohttp.WSMsgType.TEXT:
                try:
                    await self.handle(json.loads(m.data))
                except Exception:
                    log.exception("agent media: message failed")
            elif m.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR,
                            aiohttp.WSMsgType.CLOSING):
                break
        await self.close()

    # -- calls -------------------------------------------------------------------------------------
    async def join(self, kind: str, send_camera: bool = True, start: bool = False) -> dict:
        """Join the running audio or video call (start=True: start it; reps only)."""
        leg = self.legs[kind]
        if kind == "audio" and self._mic_track is None and self.microphone is not None:
            loop = asyncio.get_running_loop()
            try:
                self._mic_track = (self.microphone if isinstance(self.microphone, MediaStreamTrack)
                                   else await loop.run_in_executor(None, self.microphone))
                if hasattr(self._mic_track, "on_pcm"):
                    self._mic_track.on_pcm = lambda pcm: self.mic_meter.feed("me", pcm)
                self.problems.pop("audio", None)
            except NoDeviceError as exc:     # join anyway: listening only
                self.problems["audio"] = str(exc)
        if kind == "audio":
            leg.track = None if self.muted else self._mic_track   # ready before the first offer
        reply = await self.request({"type": f"{kind}.{'start' if start else 'join'}", "agent": True})
        if kind == "video" and send_camera:
            await self.camera_on()
        return reply

    async def camera_on(self) -> None:
        leg = self.legs["video"]
        if self.camera_factory is None:
            raise NoDeviceError("No camera is configured.")
        if self._camera_track is None:
            loop = asyncio.get_running_loop()
            self._camera_track = await loop.run_in_executor(None, self.camera_factory, leg.limits)
        leg.set_track(self._camera_track)
        await self.request({"type": "video.status", "camera": True})

    async def camera_off(self) -> None:
        self.legs["video"].set_track(None)
        if self._camera_track is not None:
            self._camera_track.stop()
            self._camera_track = None
        if self.legs["video"].active:
            await self.request({"type": "video.status", "camera": False})

    async def set_muted(self, muted: bool) -> None:
        self.muted = muted
        self.legs["audio"].set_track(None if muted else self._mic_track)
        if self.legs["audio"].active:
            await self.request({"type": "audio.status", "muted": muted})

    async def leave(self, kind: str) -> None:
        if self.legs[kind].active:
            await self._hang_up(kind)
            await self.request({"type": f"{kind}.leave"})

    async def _hang_up(self, kind: str) -> None:
        await self.legs[kind].close()
        if kind == "audio" and self._mic_track is not None:
            self._mic_track.stop()
            self._mic_track = None
            self.mic_meter.forget("me")
        if kind == "video" and self._camera_track is not None:
            self._camera_track.stop()
            self._camera_track = None

    async def close(self) -> None:
        for kind in self.legs:
            await self._hang_up(kind)
        if self.speaker is not None:
            self.speaker.stop()
        self.video.stop()

    # -- remote media -----------------------------------------------------------------------------
    def _play_remote(self, kind: str, pid: str, track) -> None:
        if kind == "audio" and track.kind == "audio":
            if self.speaker is not None:
                self.speaker.play(pid, track)
        elif kind == "video" and track.kind == "video":
            self.video.play(pid, track)

    def _stop_remote(self, kind: str, pid: str) -> None:
        if kind == "audio" and self.speaker is not None:
            self.speaker.stop(pid)
        elif kind == "video":
            self.video.stop(pid)

    def speaking(self) -> set[str]:
        """Who is speaking now: member ids whose audio we receive loud enough, and "me" for our own
        microphone (not while muted: nothing is read from it then)."""
        heard = set(self.speaker.meter.speaking()) if self.speaker is not None else set()
        heard &= set(self.legs["audio"].members)
        if self._mic_track is not None and not self.muted:
            heard |= self.mic_meter.speaking()
        return heard

    async def switch_microphone(self, device: int) -> str:
        """Record from PyAudio input device number `device` (the running call goes on); its name.
        A bad number raises NoDeviceError and changes nothing."""
        loop = asyncio.get_running_loop()
        name = await loop.run_in_executor(None, check_device, device, True)
        if self._mic_track is not None and hasattr(self._mic_track, "switch"):
            await self._mic_track.switch(device)
        return name

    async def switch_speaker(self, device: int) -> str:
        """Play to PyAudio output device number `device` (the running call goes on); its name."""
        name = await asyncio.get_running_loop().run_in_executor(None, check_device, device, False)
        if self.speaker is not None:
            self.speaker.switch(device)
        return name

    def stats(self) -> dict:
        """Connection states per member and call, frames received, audio levels."""
        return {"audio": dict(self.legs["audio"].states), "video": dict(self.legs["video"].states),
                "video_frames": dict(self.video.frames),
                "levels": dict(self.speaker.levels) if self.speaker else {}}
