"""The sound of a call on this computer: the microphone as an aiortc track (``PyAudioMicrophone``) and the
others' sound played to the speaker (``PyAudioSpeaker``; PulseAudio mixes the streams)."""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import fractions
import logging
from typing import Callable

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, AudioResampler

from .devices import (PA_LOCK, PTIME, RATE, NoDeviceError, close_stream, device_index, pa_acquire, pa_open,
                      pa_release, pyaudio_module)
from .speaking import SpeakingMeter

log = logging.getLogger("supporthost.agent_media")


class PyAudioMicrophone(MediaStreamTrack):
    """An audio track read from a PyAudio input stream: 48 kHz mono, 20 ms frames."""

    kind = "audio"

    def __init__(self, device: str | int | None = "pulse", rate: int = RATE):
        super().__init__()
        pa_mod = pyaudio_module()
        self._pa = pa_acquire()
        self.rate = rate
        self.samples = int(rate * PTIME)
        try:
            index = device_index(self._pa, device, True) if device != "pulse" or self._has("pulse") else None
            self._stream = pa_open(self._pa, format=pa_mod.paInt16, channels=1, rate=rate, input=True,
                                   input_device_index=index, frames_per_buffer=self.samples)
        except NoDeviceError:
            pa_release()
            raise
        except Exception as exc:
            pa_release()
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
        pa_mod = pyaudio_module()
        pa_acquire()
        try:
            new = pa_open(self._pa, format=pa_mod.paInt16, channels=1, rate=self.rate, input=True,
                          input_device_index=device, frames_per_buffer=self.samples)
        except Exception as exc:
            pa_release()
            raise NoDeviceError(f"Microphone number {device} could not be opened ({exc}).") from exc
        old, self._stream = self._stream, new
        close_stream(old)

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
        close_stream(self._stream)


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
            with PA_LOCK:
                old.stop_stream()
                old.close()
        try:
            index = device_index(pa, self.device, False) if self.device != "pulse" or any(
                pa.get_device_info_by_index(i)["name"] == "pulse" for i in range(pa.get_device_count())) else None
            return pa_open(pa, format=pyaudio_module().paInt16, channels=1, rate=RATE, output=True,
                           output_device_index=index, frames_per_buffer=int(RATE * PTIME))
        except Exception as exc:
            log.warning("no speaker (%s): remote audio is received but not played", exc)
            return None

    def _finish(self, stream) -> None:
        try:
            if stream is not None:
                with PA_LOCK:
                    stream.stop_stream()
                    stream.close()
        finally:
            pa_release()

    async def _run(self, key: str, track: MediaStreamTrack) -> None:
        loop = asyncio.get_running_loop()
        writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="speaker")
        pa = pa_acquire() if self.play_out else None
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
