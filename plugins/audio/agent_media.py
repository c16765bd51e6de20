"""The Support Manager's (agent's) side of audio and video calls: aiortc instead of a browser.

``AgentMedia`` speaks the same signalling as the browser panels (plugins/audio/calls.py) over a
session WebSocket it is given: it joins a call as an "agent" member. Browsers always offer to it;
between two agents the one with the lower participant id offers (so there is never glare). It keeps
one RTCPeerConnection per other member. Audio comes from a PyAudio input stream (``PyAudioMicrophone``) and remote audio
is played to PyAudio output streams (``PyAudioSpeaker``; PulseAudio mixes them). Video comes from an
OpenCV capture (``OpenCVCamera``: a camera index, or a video file that loops, e.g. a synthetic one).

Use::

    media = AgentMedia(send=ws_send_json, me_id=hello["you"]["id"], microphone=PyAudioMicrophone(),
                       speaker=PyAudioSpeaker(), camera=lambda limits: OpenCVCamera(0, **limits))
    asyncio.create_task(media.run(ws))       # or call media.handle(message) for every message
    await media.join("audio"); await media.join("video", send_camera=True)
    await media.set_muted(True); await media.leave("video"); await media.close()
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import fractions
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import numpy as np
from aiortc import (MediaStreamTrack, RTCConfiguration, RTCIceServer, RTCPeerConnection,
                    RTCSessionDescription)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp
from av import AudioFrame, AudioResampler, VideoFrame

log = logging.getLogger("supporthost.agent_media")
RATE = 48000
PTIME = 0.02


class NoDeviceError(RuntimeError):
    """No microphone, speaker or camera could be opened; the text says which, for the user."""


def _pyaudio():
    import pyaudio
    return pyaudio


# PortAudio's set-up and tear-down are process-wide and not thread-safe: several PyAudio objects
# initialised and terminated from different threads (a microphone and one speaker stream per peer)
# abort the process. So there is one shared PyAudio, counted, and opening/closing streams is serialised.
_PA_LOCK = threading.Lock()
_PA: list = [None, 0]      # [the PyAudio object, how many users]


def _quiet_init():
    """PyAudio(), without the pages of ALSA / JACK probing messages the C libraries write to stderr
    (they would land on the customer's terminal): file descriptor 2 points at /dev/null meanwhile."""
    import os
    import sys
    try:
        sys.stderr.flush()
        saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return _pyaudio().PyAudio()
    try:
        os.dup2(null, 2)
        return _pyaudio().PyAudio()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _pa_acquire():
    with _PA_LOCK:
        if _PA[0] is None:
            _PA[0] = _quiet_init()
        _PA[1] += 1
        return _PA[0]


def _pa_release() -> None:
    with _PA_LOCK:
        _PA[1] -= 1
        if _PA[1] <= 0 and _PA[0] is not None:
            _PA[0].terminate()
            _PA[0], _PA[1] = None, 0


def _pa_open(pa, **kwargs):
    with _PA_LOCK:
        return pa.open(**kwargs)


def _device_index(pa, name: str | int | None, want_input: bool) -> int | None:
    """A PyAudio device by index or (part of) its name; None for the default."""
    if name is None or isinstance(name, int):
        return name
    key = "maxInputChannels" if want_input else "maxOutputChannels"
    for i in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(i)
        if info[key] > 0 and name.lower() == str(info["name"]).lower():
            return i
    for i in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(i)
        if info[key] > 0 and name.lower() in str(info["name"]).lower():
            return i
    raise NoDeviceError(f"No {'microphone' if want_input else 'speaker'} named {name!r} was found.")


def check_device(index: int, want_input: bool) -> str:
    """The name of PyAudio device number ``index`` if it can record (want_input) or play; else a
    NoDeviceError saying so (the numbers are those ``list_devices`` gives)."""
    what = "microphone" if want_input else "speaker"
    pa = _pa_acquire()
    try:
        if isinstance(index, int) and 0 <= index < pa.get_device_count():
            info = pa.get_device_info_by_index(index)
            if info["maxInputChannels" if want_input else "maxOutputChannels"] > 0:
                return str(info["name"])
    finally:
        _pa_release()
    raise NoDeviceError(f"There is no {what} number {index}: type 'devices' to see the numbers.")


def list_devices() -> dict:
    """Microphones and speakers PyAudio sees, to let the user pick."""
    pa = _pa_acquire()
    try:
        out = {"microphones": [], "speakers": []}
        for i in range(pa.get_device_count()):
            info = pa.get_device_info_by_index(i)
            if info["maxInputChannels"] > 0:
                out["microphones"].append({"index": i, "name": info["name"]})
            if info["maxOutputChannels"] > 0:
                out["speakers"].append({"index": i, "name": info["name"]})
        return out
    finally:
        _pa_release()


# -- who is speaking ------------------------------------------------------------------------------
class SpeakingMeter:
    """Who is speaking, from the sound itself: the RMS level of each source's decoded samples over a
    short window; a source is speaking while a window above ``threshold`` (of full scale) was seen in
    the last ``hold`` seconds. Decided by time, so a source that stops sending (muted) stops speaking."""

    def __init__(self, window: float = 0.1, threshold: float = 0.01, hold: float = 0.6,
                 clock: Callable[[], float] = time.monotonic):
        self.window_samples = int(window * RATE)
        self.threshold = threshold
        self.hold = hold
        self.clock = clock
        self.rms: dict[str, float] = {}           # key -> RMS of its last full window
        self._sums: dict[str, list] = {}          # key -> [sum of squares, samples] of the window so far
        self._loud_at: dict[str, float] = {}

    def feed(self, key: str, pcm: np.ndarray) -> None:
        """int16 mono samples (48 kHz) of one source."""
        acc = self._sums.setdefault(key, [0.0, 0])
        x = pcm.astype(np.float32) / 32768.0
        acc[0] += float(np.dot(x, x))
        acc[1] += x.size
        if acc[1] >= self.window_samples:
            rms = (acc[0] / acc[1]) ** 0.5
            self.rms[key] = rms
            acc[0], acc[1] = 0.0, 0
            if rms >= self.threshold:
                self._loud_at[key] = self.clock()

    def forget(self, key: str) -> None:
        for d in (self.rms, self._sums, self._loud_at):
            d.pop(key, None)

    def speaking(self) -> set[str]:
        now = self.clock()
        return {k for k, t in self._loud_at.items() if now - t <= self.hold}


# -- local audio: PyAudio microphone --------------------------------------------------------------
class PyAudioMicrophone(MediaStreamTrack):
    """An audio track read from a PyAudio input stream: 48 kHz mono, 20 ms frames."""

    kind = "audio"

    def __init__(self, device: str | int | None = "pulse", rate: int = RATE):
        super().__init__()
        pa_mod = _pyaudio()
        self._pa = _pa_acquire()
        self.rate = rate
        self.samples = int(rate * PTIME)
        try:
            index = _device_index(self._pa, device, True) if device != "pulse" or self._has("pulse") else None
            self._stream = _pa_open(self._pa, format=pa_mod.paInt16, channels=1, rate=rate, input=True,
                                         input_device_index=index, frames_per_buffer=self.samples)
        except NoDeviceError:
            _pa_release()
            raise
        except Exception as exc:
            _pa_release()
            raise NoDeviceError(f"No microphone could be opened ({exc}).") from exc
        self._pts = 0
        self._reader = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mic")
        self.on_pcm: Callable[[np.ndarray], None] | None = None    # every frame read (for the level)

    async def switch(self, device: int) -> None:
        """Record from another PyAudio device from the next frame on; the track (and so the call)
        goes on. The new stream is opened first: if it cannot be, the old one stays."""
        if self.readyState != "live":
            return
        await asyncio.get_running_loop().run_in_executor(self._reader, self._swap, device)

    def _swap(self, device: int) -> None:
        pa_mod = _pyaudio()
        _pa_acquire()
        try:
            new = _pa_open(self._pa, format=pa_mod.paInt16, channels=1, rate=self.rate, input=True,
                           input_device_index=device, frames_per_buffer=self.samples)
        except Exception as exc:
            _pa_release()
            raise NoDeviceError(f"Microphone number {device} could not be opened ({exc}).") from exc
        old, self._stream = self._stream, new
        _close_stream(old)

    def _read(self) -> bytes:
        return self._stream.read(self.samples, False)

    def _has(self, name: str) -> bool:
        return any(self._pa.get_device_info_by_index(i)["name"] == name for i in range(self._pa.get_device_count()))

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        try:
            # self._stream looked up on the reader thread: a switch() queued before this read applies to it
            data = await loop.run_in_executor(self._reader, self._read)
        except (OSError, RuntimeError) as exc:   # device gone, or stopped meanwhile
            raise MediaStreamError from exc
        samples = np.frombuffer(data, dtype=np.int16).reshape(1, -1)
        if self.on_pcm is not None:
            self.on_pcm(samples[0])
        frame = AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = self.rate
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, self.rate)
        self._pts += samples.shape[1]
        return frame

    def stop(self) -> None:
        if self.readyState == "live":
            super().stop()
            self._reader.submit(self._close)
            self._reader.shutdown(wait=False)

    def _close(self) -> None:
        _close_stream(self._stream)


# -- remote audio: PyAudio speaker ----------------------------------------------------------------
class PyAudioSpeaker:
    """Plays remote audio tracks to PyAudio (one output stream each; the sound server mixes them).
    Keeps the last few seconds it played and a level per track, for "who is speaking" and tests."""

    def __init__(self, device: str | int | None = "pulse", keep_seconds: float = 4.0, play: bool = True):
        self.device = device
        self.play_out = play
        self.recent: collections.deque = collections.deque(maxlen=int(keep_seconds / PTIME))
        self.levels: dict[str, float] = {}
        self.meter = SpeakingMeter()
        self.tasks: dict[str, asyncio.Task] = {}
        self.generation = 0        # bumped by switch(): the playing streams reopen on the new device

    def switch(self, device: int) -> None:
        """Play to another PyAudio device: each remote track's stream is reopened there at its next frame."""
        self.device = device
        self.generation += 1

    def play(self, key: str, track: MediaStreamTrack) -> None:
        old = self.tasks.pop(key, None)
        if old:
            old.cancel()
        self.tasks[key] = asyncio.create_task(self._run(key, track))

    def samples(self) -> np.ndarray:
        """What was played recently (int16 mono, 48 kHz)."""
        return np.concatenate(list(self.recent)) if self.recent else np.zeros(0, np.int16)

    def _open(self, pa, old):
        """(On the writer thread) close `old` and open a stream on the current device; None if none can be."""
        if old is not None:
            with _PA_LOCK:
                old.stop_stream()
                old.close()
        try:
            index = _device_index(pa, self.device, False) if self.device != "pulse" or any(
                pa.get_device_info_by_index(i)["name"] == "pulse" for i in range(pa.get_device_count())) else None
            return _pa_open(pa, format=_pyaudio().paInt16, channels=1, rate=RATE, output=True,
                            output_device_index=index, frames_per_buffer=int(RATE * PTIME))
        except Exception as exc:
            log.warning("no speaker (%s): remote audio is received but not played", exc)
            return None

    def _finish(self, stream) -> None:
        try:
            if stream is not None:
                with _PA_LOCK:
                    stream.stop_stream()
                    stream.close()
        finally:
            _pa_release()

    async def _run(self, key: str, track: MediaStreamTrack) -> None:
        loop = asyncio.get_running_loop()
        writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="speaker")
        pa = _pa_acquire() if self.play_out else None
        stream, opened_for = None, None
        resampler = AudioResampler(format="s16", layout="mono", rate=RATE)
        try:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    return
                if pa is not None and opened_for != self.generation:
                    opened_for = self.generation
                    stream = await loop.run_in_executor(writer, self._open, pa, stream)
                for out in resampler.resample(frame):
                    pcm = out.to_ndarray().reshape(-1).astype(np.int16)
                    self.recent.append(pcm)
                    self.levels[key] = float(np.abs(pcm).max()) / 32768.0 if pcm.size else 0.0
                    self.meter.feed(key, pcm)
                    if stream is not None:
                        await loop.run_in_executor(writer, stream.write, pcm.tobytes())
        finally:
            self.levels.pop(key, None)
            self.meter.forget(key)
            if pa is not None:
                await loop.run_in_executor(writer, self._finish, stream)
            writer.shutdown(wait=False)

    def stop(self, key: str | None = None) -> None:
        for k in [key] if key else list(self.tasks):
            task = self.tasks.pop(k, None)
            if task:
                task.cancel()


def _close_stream(stream) -> None:
    try:
        with _PA_LOCK:
            stream.stop_stream()
            stream.close()
    finally:
        _pa_release()


# -- local video: OpenCV capture -----------------------------------------------------------------
class OpenCVCamera(MediaStreamTrack):
    """A video track from cv2.VideoCapture: a camera index, or a file (looped). Frames larger than
    the site's limits are scaled down; frames are paced at max_fps."""

    kind = "video"

    def __init__(self, source: int | str = 0, max_width: int = 1280, max_height: int = 720, max_fps: int = 15):
        super().__init__()
        import cv2
        self._cv2 = cv2
        self.source = source
        self.capture = cv2.VideoCapture(source)
        if not self.capture.isOpened():
            raise NoDeviceError("No camera was found (or it is in use by another program).")
        self.max_width, self.max_height = max_width, max_height
        self.fps = max(1, int(max_fps))
        self._reader = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="camera")
        self._start: float | None = None
        self._count = 0

    def _read(self):
        ok, image = self.capture.read()
        if not ok and isinstance(self.source, str):   # a file: start again
            self.capture.set(self._cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self.capture.read()
        if not ok:
            return None
        h, w = image.shape[:2]
        scale = min(1.0, self.max_width / w, self.max_height / h)
        if scale < 1.0:
            image = self._cv2.resize(image, (int(w * scale) // 2 * 2, int(h * scale) // 2 * 2),
                                     interpolation=self._cv2.INTER_AREA)
        return image

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._count / self.fps - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        if self.readyState != "live":
            raise MediaStreamError
        try:
            image = await asyncio.get_running_loop().run_in_executor(self._reader, self._read)
        except RuntimeError as exc:   # stopped meanwhile
            raise MediaStreamError from exc
        if image is None:
            self.stop()
            raise MediaStreamError
        frame = VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = int(self._count * 90000 / self.fps)
        frame.time_base = fractions.Fraction(1, 90000)
        self._count += 1
        return frame

    def stop(self) -> None:
        if self.readyState == "live":
            super().stop()
            self._reader.submit(self.capture.release)
            self._reader.shutdown(wait=False)


def write_test_video(path: str, width: int = 640, height: int = 480, fps: int = 15, seconds: float = 2.0) -> str:
    """A synthetic video file (moving bars and a frame counter) for an OpenCVCamera without a camera."""
    import cv2
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    try:
        for i in range(int(fps * seconds)):
            image = np.zeros((height, width, 3), np.uint8)
            x = np.arange(width, dtype=np.int32)
            image[:, :, 0] = ((x + i * 8) % 256).astype(np.uint8)
            image[:, :, 1] = 128
            image[:, :, 2] = (np.arange(height, dtype=np.int32)[:, None] * 255 // height).astype(np.uint8)
            cv2.putText(image, f"agent {i}", (20, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
            writer.write(image)
    finally:
        writer.release()
    return path


# -- remote video ---------------------------------------------------------------------------------
class VideoReceiver:
    """Consumes remote video tracks; keeps a frame count and the last picture per member."""

    def __init__(self, on_frame: Callable[[str, np.ndarray], None] | None = None, every: float = 0.0,
                 on_gone: Callable[[str], None] | None = None):
        self.frames: dict[str, int] = collections.Counter()
        self.last: dict[str, tuple[int, int]] = {}
        self.on_frame = on_frame          # (member id, BGR picture), at most once per `every` seconds
        self.every = every
        self.on_gone = on_gone            # (member id): its picture stopped
        self.tasks: dict[str, asyncio.Task] = {}

    def play(self, key: str, track: MediaStreamTrack) -> None:
        old = self.tasks.pop(key, None)
        if old:
            old.cancel()
        self.tasks[key] = asyncio.create_task(self._run(key, track))

    async def _run(self, key: str, track) -> None:
        shown = 0.0
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.frames[key] += 1
            self.last[key] = (frame.width, frame.height)
            if self.on_frame is not None and time.monotonic() - shown >= self.every:
                shown = time.monotonic()
                self.on_frame(key, frame.to_ndarray(format="bgr24"))

    def stop(self, key: str | None = None) -> None:
        for k in [key] if key else list(self.tasks):
            task = self.tasks.pop(k, None)
            if task:
                task.cancel()
                if self.on_gone is not None:
                    self.on_gone(k)


# -- signalling -----------------------------------------------------------------------------------
@dataclass
class _Peer:
    id: str
    epoch: int
    pc: RTCPeerConnection
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    sender: object = None
    copies: list = field(default_factory=list)
    offering: bool = False      # we made the offer (to an agent with a higher id)


class _CallLeg:
    """The agent in one call (audio or video) of the session: one peer connection per member."""

    def __init__(self, media: "AgentMedia", kind: str):
        self.media = media
        self.kind = kind
        self.epoch: int | None = None
        self.ice: list[RTCIceServer] = []
        self.peers: dict[str, _Peer] = {}
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

    async def _offer(self, peer: "_Peer") -> None:
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

    def _drop(self, peer: _Peer) -> None:
        if self.peers.get(peer.id) is peer:
            del self.peers[peer.id]
        self.states.pop(peer.id, None)
        self.media._stop_remote(self.kind, peer.id)
        for copy in peer.copies:
            copy.stop()
        asyncio.ensure_future(peer.pc.close())

    def _new_peer(self, pid: str, epoch: int) -> _Peer:
        # An empty list, not None: aiortc would otherwise try a public STUN server (and wait for it).
        pc = RTCPeerConnection(RTCConfiguration(iceServers=list(self.ice)))
        peer = _Peer(pid, epoch, pc)
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

    async def _apply(self, peer: _Peer, msg: dict) -> None:
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
            c = msg["candidate"]
            text = c.get("candidate") or ""
            if not text:
                return
            cand = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
            cand.sdpMid = c.get("sdpMid")
            cand.sdpMLineIndex = c.get("sdpMLineIndex")
            await pc.addIceCandidate(cand)

    def set_track(self, track: MediaStreamTrack | None) -> None:
        self.track = track
        for peer in self.peers.values():
            if peer.sender is not None:
                self._attach(peer.sender, track, peer)

    def _attach(self, sender, track: MediaStreamTrack | None, peer: _Peer | None = None) -> None:
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
        self.legs = {"audio": _CallLeg(self, "audio"), "video": _CallLeg(self, "video")}
        self._pending: dict[str, asyncio.Future] = {}
        self._n = 0
        self._mic_track: MediaStreamTrack | None = None
        self._camera_track: MediaStreamTrack | None = None
        self.muted = False
        self.errors: list[str] = []
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
        if kind == "error" and str(msg.get("re") or "").startswith(("audio.", "video.")):
            self.errors.append(msg.get("error", ""))
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
