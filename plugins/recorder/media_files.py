"""One received call track written to a WebM file of the recording (Opus audio or VP8 video), with PyAV.

Encoding and file writes run on a thread of the file's own, never on the event loop. Audio keeps its place
on the recording's timeline: a gap in what arrives (the member muted, the network dropped) becomes silence.
Video frames carry the time they arrived; a frame that comes while the previous one is still being encoded
is skipped (the file gets fewer frames, never a growing backlog).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import fractions
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import av
import numpy as np

log = logging.getLogger("supporthost.recorder.media")
AUDIO_RATE = 48000
AUDIO_GAP = 0.2          # seconds of missing audio filled with silence (less is network jitter)
VIDEO_RATE = 30          # the encoder's nominal frame rate; the real times are in the frames' pts
MS = fractions.Fraction(1, 1000)


@dataclass
class MediaFile:
    """A closed track file: its ``recording_files`` row (kind 'media')."""
    name: str
    kind: str
    first_ms: int
    last_ms: int
    bytes: int
    sha256: str
    records: int          # frames written

    def row(self) -> dict:
        return {"name": self.name, "kind": "media", "first_ms": self.first_ms, "last_ms": self.last_ms,
                "bytes": self.bytes, "sha256": self.sha256, "records": self.records}


def media_file_name(taken: set[str], kind: str, participant: str, part: int) -> str:
    """``media-<kind>-<participant>-<part>.webm``; ``...-<part>-2.webm`` and on when that one is in
    ``taken`` (the member joined the call again within the part). The name is added to ``taken``."""
    base = f"media-{kind}-{participant}-{part}"
    name, n = f"{base}.webm", 1
    while name in taken:
        n += 1
        name = f"{base}-{n}.webm"
    taken.add(name)
    return name


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class TrackFile:
    """Writes the frames of one track to ``folder/name``. ``clock()`` is the recording's clock (ms); the
    file starts at its time of the first frame. ``write(frame)`` is awaited on the event loop and encodes
    on the file's thread."""

    def __init__(self, folder: Path, name: str, kind: str, clock: Callable[[], int]):
        self.path = Path(folder) / name
        self.name = name
        self.kind = kind
        self.clock = clock
        self.start_ms: int | None = None
        self.frames = 0
        self.skipped = 0
        self._t0 = 0.0
        self._last_ms = 0
        self._busy = False
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"rec-{kind}")
        self._container = None
        self._stream = None
        self._resampler = None
        self._samples = 0           # audio: samples written so far (the next pts)
        self._video_pts = -1

    async def open(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._open)

    def _open(self) -> None:
        self._container = av.open(str(self.path), "w", format="webm")
        if self.kind == "audio":
            self._stream = self._container.add_stream("libopus", rate=AUDIO_RATE)
            self._stream.layout = "mono"
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_RATE)

    async def write(self, frame) -> None:
        """Encode ``frame`` (an av AudioFrame or VideoFrame as aiortc hands it) into the file."""
        if self.start_ms is None:
            self._t0, self.start_ms = time.monotonic(), int(self.clock())
        elapsed = time.monotonic() - self._t0
        if self.kind == "video" and self._busy:
            self.skipped += 1
            return
        self._busy = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._encode, frame, elapsed)
        finally:
            self._busy = False

    def _encode(self, frame, elapsed: float) -> None:
        if self.kind == "audio":
            self._encode_audio(frame, elapsed)
        else:
            self._encode_video(frame, elapsed)
        self.frames += 1
        self._last_ms = int(elapsed * 1000)

    def _encode_audio(self, frame, elapsed: float) -> None:
        missing = int(elapsed * AUDIO_RATE) - self._samples
        if self._samples and missing > AUDIO_GAP * AUDIO_RATE:
            self._mux_pcm(np.zeros(missing - int(0.02 * AUDIO_RATE), np.int16))
        frame.pts = None
        for out in self._resampler.resample(frame):
            self._mux_pcm(out.to_ndarray().reshape(-1))

    def _mux_pcm(self, pcm: np.ndarray) -> None:
        if not pcm.size:
            return
        out = av.AudioFrame.from_ndarray(pcm.astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        out.sample_rate = AUDIO_RATE
        out.pts = self._samples
        out.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._samples += pcm.size
        for packet in self._stream.encode(out):
            self._container.mux(packet)

    def _encode_video(self, frame, elapsed: float) -> None:
        if self._stream is None:    # the first picture sets the file's size
            self._stream = self._container.add_stream("libvpx", rate=VIDEO_RATE)
            self._stream.width, self._stream.height = frame.width // 2 * 2, frame.height // 2 * 2
            self._stream.pix_fmt = "yuv420p"
            self._stream.time_base = MS
            self._stream.codec_context.time_base = MS
            self._stream.options = {"deadline": "realtime", "cpu-used": "8"}
            self._stream.bit_rate = 1_000_000
        picture = frame.reformat(width=self._stream.width, height=self._stream.height, format="yuv420p")
        pts = max(int(elapsed * 1000), self._video_pts + 1)
        self._video_pts = pts
        picture.pts = pts
        picture.time_base = MS
        for packet in self._stream.encode(picture):
            self._container.mux(packet)

    async def close(self) -> MediaFile | None:
        """Finish the file (flush the encoder, write the index), fsync it and hash it: its row. A track
        that never sent a frame leaves no file (None)."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._close)

    def _close(self) -> MediaFile | None:
        try:
            if self.frames == 0:
                self._discard()
                return None
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._container.close()
        except Exception:
            self._discard()
            raise
        finally:
            self._thread.shutdown(wait=False)
        with open(self.path, "rb") as f:
            os.fsync(f.fileno())
        if self.skipped:
            log.info("%s: %d video frames skipped (the encoder was busy)", self.name, self.skipped)
        return MediaFile(self.name, self.kind, self.start_ms, self.start_ms + self._last_ms,
                         self.path.stat().st_size, sha256_of(self.path), self.frames)

    def _discard(self) -> None:
        try:
            if self._container is not None:
                self._container.close()
        except Exception:   # a video file without its stream cannot be finished: it goes anyway
            pass
        self.path.unlink(missing_ok=True)
