"""Export a recording to one WebM file anyone can play: VP9 video of the shared screen (rebuilt from the
recorded frames by export_screen.Compositor) and Opus audio mixed from the recording's media track files.

- Video frames are written only when the picture changed (variable frame rate, at most MAX_FPS), plus the
  last picture again at the end so the video lasts as long as the recording.
- A recording without a shared screen (audio and chat only) exports as a black 640x360 video of its length.
- Without media files the audio track is silence, so every export has both tracks.
- Webcam video (video media files) is drawn picture-in-picture in the bottom-right corner while each camera
  was on (export_cameras.Cameras); a picture is then written at each camera frame too (at most MAX_FPS).
- Blocking (file work and encoding): run it in a thread. Writes ``<target>.partial`` and renames it at the
  end; a damaged recording raises reader.RecordingDamaged and leaves no file behind.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from .export_cameras import Cameras, media_with
from .export_screen import Compositor, records_for
from .reader import IN, KIND_BINARY, KIND_JSON, RecordingIndex, read_segment, records_from

MAX_FPS = 10
RATE = 48000
OPUS_FRAME = 960                       # 20 ms
BLANK_SIZE = (640, 360)
MS = Fraction(1, 1000)


@dataclass
class ExportResult:
    duration_ms: int
    video_frames: int
    has_screen: bool
    audio_tracks: int
    cameras: int = 0


class AudioMix:
    """The media track files' audio, each from its place on the recording clock, summed into mono 48 kHz."""

    def __init__(self, index: RecordingIndex):
        self.tracks = []
        for f, container in media_with(index, "audio"):
            self.tracks.append(_Track(container, int(f.first_ms) * RATE // 1000))

    def read(self, start: int, n: int) -> np.ndarray:
        """Samples [start, start + n) of the mix, int16."""
        out = np.zeros(n, dtype=np.int32)
        for track in self.tracks:
            track.add_into(out, start)
        return np.clip(out, -32768, 32767).astype(np.int16)

    def close(self) -> None:
        for track in self.tracks:
            track.container.close()


class _Track:
    def __init__(self, container, offset: int):
        self.container = container
        self.frames = container.decode(container.streams.audio[0])
        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        self.buffer = np.zeros(0, dtype=np.int16)
        self.at = offset                    # the recording-clock sample of buffer[0]
        self.done = False

    def _more(self) -> None:
        try:
            frame = next(self.frames)
        except (StopIteration, av.error.FFmpegError):
            self.done = True
            for out in self.resampler.resample(None):
                self.buffer = np.concatenate([self.buffer, out.to_ndarray().reshape(-1)])
            return
        for out in self.resampler.resample(frame):
            self.buffer = np.concatenate([self.buffer, out.to_ndarray().reshape(-1)])

    def add_into(self, out: np.ndarray, start: int) -> None:
        end = start + len(out)
        while not self.done and self.at + len(self.buffer) < end:
            self._more()
        lo, hi = max(start, self.at), min(end, self.at + len(self.buffer))
        if hi > lo:
            out[lo - start:hi - start] += self.buffer[lo - self.at:hi - self.at]
        drop = max(0, min(len(self.buffer), end - self.at))
        self.buffer, self.at = self.buffer[drop:], self.at + drop


def _screen_size(index: RecordingIndex) -> tuple[int, int] | None:
    """The size of the first screen picture of the recording (the export's video size), None without one."""
    compositor = Compositor()
    for rec in records_from(index):
        if rec.kind == KIND_BINARY and rec.direction == IN and compositor.feed(rec.participant, rec.body):
            w, h = compositor.current.size
            return w - w % 2, h - h % 2
    return None


class _Writer:
    """The WebM file; times are on the recording clock, written from ``offset`` on as 0."""

    def __init__(self, path: Path, size: tuple[int, int], mix: AudioMix, offset: int = 0, cameras: Cameras | None = None):
        self.out = av.open(str(path), mode="w", format="webm")
        self.size = size
        v = self.video = self.out.add_stream("libvpx-vp9", rate=MAX_FPS)
        v.width, v.height, v.pix_fmt = size[0], size[1], "yuv420p"
        v.codec_context.time_base = MS
        v.options = {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "lag-in-frames": "0",
                     "crf": "32", "b": "0", "g": str(MAX_FPS * 5), "threads": "2", "tile-columns": "1"}
        a = self.audio = self.out.add_stream("libopus", rate=RATE)
        a.layout = "mono"
        a.codec_context.time_base = Fraction(1, RATE)
        self.mix = mix
        self.cameras = cameras
        self.offset = offset
        self.samples = 0                      # audio written up to this sample (of the file)
        self.frames = 0
        self.last_pts = -1
        self.progress: Callable[[int], None] | None = None

    def next_slot(self, t_ms: int, step: int) -> int:
        """When a picture changed at ``t_ms`` is written: then, or ``step`` ms after the previous one."""
        return t_ms if self.frames == 0 else max(t_ms, self.last_pts + step)

    def picture(self, pixels: np.ndarray, t_ms: int) -> None:
        """One video frame at ``t_ms`` (BGR), after the audio up to then."""
        self.audio_until(t_ms)
        if t_ms <= self.last_pts:
            return
        h, w = pixels.shape[:2]
        if (w, h) != self.size:
            pixels = _fit(pixels, self.size)
        if self.cameras:
            pixels = self.cameras.overlay(pixels, t_ms)
        frame = av.VideoFrame.from_ndarray(pixels, format="bgr24")
        frame.pts, frame.time_base = t_ms - self.offset, MS
        self.out.mux(self.video.encode(frame))
        self.frames += 1
        self.last_pts = t_ms
        if self.progress is not None and self.frames % MAX_FPS == 0:
            self.progress(t_ms)

    def cameras_until(self, t_ms: int, picture: Callable[[], np.ndarray], start: int) -> bool:
        """Write a picture at each camera change up to ``t_ms`` (at most MAX_FPS); whether one was written."""
        wrote = False
        step = 1000 // MAX_FPS
        while self.cameras and (change := self.cameras.next_change()) is not None and change <= t_ms:
            slot = self.next_slot(max(change, start), step)
            if slot > t_ms:
                break
            self.picture(picture(), slot)
            wrote = True
        return wrote

    def audio_until(self, t_ms: int) -> None:
        target = (t_ms - self.offset) * RATE // 1000
        while self.samples + OPUS_FRAME <= target:
            pcm = self.mix.read(self.offset * RATE // 1000 + self.samples, OPUS_FRAME)
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = RATE, self.samples, Fraction(1, RATE)
            self.out.mux(self.audio.encode(frame))
            self.samples += OPUS_FRAME

    def close(self) -> None:
        self.out.mux(self.video.encode(None))
        self.out.mux(self.audio.encode(None))
        self.out.close()


def _fit(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A picture of another size scaled into the export's size, centred on black."""
    W, H = size
    h, w = pixels.shape[:2]
    scale = min(W / w, H / h)
    nw, nh = max(1, int(w * scale)), max(1, int(h * scale))
    canvas = np.zeros((H, W, 3), dtype=np.uint8)
    x, y = (W - nw) // 2, (H - nh) // 2
    canvas[y:y + nh, x:x + nw] = cv2.resize(pixels, (nw, nh), interpolation=cv2.INTER_AREA)
    return canvas


def export_webm(index: RecordingIndex, target: Path, start_ms: int = 0, end_ms: int | None = None,
                progress: Callable[[float], None] | None = None) -> ExportResult:
    """Write the recording (or its span ``start_ms``..``end_ms`` of the recording clock) as WebM (VP9 + Opus)
    to ``target``. ``progress(fraction)`` is called as it goes; an exception it raises stops the export (and
    leaves no file)."""
    target = Path(target)
    partial = target.with_name(target.name + ".partial")
    end = max(index.duration_ms, 1) if end_ms is None else min(end_ms, max(index.duration_ms, 1))
    start = max(0, min(start_ms, end - 1))
    size = _screen_size(index)
    mix = AudioMix(index)
    cameras = Cameras(index)
    writer = _Writer(partial, size or BLANK_SIZE, mix, offset=start, cameras=cameras)
    writer.progress = progress and (lambda t: progress(min(1.0, max(0.0, (t - start) / max(1, end - start)))))
    try:
        if size is None:
            blank = np.zeros((BLANK_SIZE[1], BLANK_SIZE[0], 3), dtype=np.uint8)
            for t in range(start, end, 1000):
                writer.cameras_until(t, lambda: blank, start)
                writer.picture(blank, t)
            last = blank
        else:
            last = _composite(index, writer, start, end)
        writer.cameras_until(end - 1, lambda: last, start)
        writer.picture(last, end)
        writer.audio_until(end)
        writer.close()
    except BaseException:
        try:
            writer.out.close()
        except Exception:
            pass
        partial.unlink(missing_ok=True)
        raise
    finally:
        mix.close()
        cameras.close()
    partial.replace(target)
    return ExportResult(end - start, writer.frames, size is not None, len(mix.tracks), len(cameras.cameras))


def _composite(index: RecordingIndex, writer: _Writer, start: int, end: int) -> np.ndarray:
    """Feed the screen frames to the compositor from the whole picture before ``start``; from ``start`` to ``end``
    write the picture when it changed, at most MAX_FPS. Returns the last picture."""
    compositor = Compositor()
    blank = np.zeros((writer.size[1], writer.size[0], 3), dtype=np.uint8)
    step = 1000 // MAX_FPS
    pending = None                           # the time a changed picture waits to be written
    for rec in (records_from(index) if start == 0 else records_for(index, start, read_segment)):
        if rec.t_ms > end:
            break
        if pending is not None and rec.t_ms >= writer.next_slot(pending, step):
            writer.picture(compositor.current.picture(), writer.next_slot(pending, step))
            pending = None
        if writer.cameras and writer.cameras_until(min(rec.t_ms, end), lambda: _now(compositor, blank), start):
            pending = None
        if rec.direction != IN:
            continue
        if (rec.kind == KIND_BINARY and compositor.feed(rec.participant, rec.body)) or \
                (rec.kind == KIND_JSON and b"cursor" in rec.body and compositor.message(rec.participant, rec.json())):
            pending = max(rec.t_ms, start)
    if pending is not None:
        writer.picture(compositor.current.picture(), writer.next_slot(pending, step))
    return _now(compositor, blank)


def _now(compositor: Compositor, blank: np.ndarray) -> np.ndarray:
    return blank if compositor.current is None else compositor.current.picture()
