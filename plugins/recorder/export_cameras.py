"""Webcam video in the export: each video media file of the recording (``media-video-*``, one per camera and
span) is decoded forward along the recording clock and drawn picture-in-picture over the exported picture, as
a small tile in the bottom-right corner (several cameras side by side, right to left), only while that camera
was on (from its first frame to its last).
"""
from __future__ import annotations

import logging

import av
import cv2
import numpy as np

from .reader import RecordingIndex

log = logging.getLogger("supporthost.recorder.export")
TILE_PART = 5              # a tile is at most 1/5 of the picture's width ...
TILE_MIN_W = 96            # ... and at least this wide
MARGIN = 8


class _Camera:
    """One video media file: its frames on the recording clock, read as the export moves forward."""

    def __init__(self, container, first_ms: int, name: str):
        self.container = container
        self.name = name
        self.first_ms = first_ms
        self.frames = container.decode(container.streams.video[0])
        self.shown = None          # (t_ms, bgr) of the frame on now
        self.next = None           # (t_ms, bgr) of the frame after it, once read
        self.done = False
        self.off = False           # past its last frame (and the picture without it was asked for)
        self._read()

    def _read(self) -> None:
        try:
            frame = next(self.frames)
        except (StopIteration, av.error.FFmpegError):
            self.next, self.done = None, True
            return
        t = self.first_ms + int(round((frame.time or 0.0) * 1000))
        self.next = (t, frame.to_ndarray(format="bgr24"))

    def next_change(self) -> int | None:
        """When the picture of this camera changes next: its next frame, or it ending (None: nothing more)."""
        if self.next is not None:
            return self.next[0]
        if self.shown is not None and not self.off:
            return self.shown[0] + 1
        return None

    def at(self, t_ms: int) -> np.ndarray | None:
        """The camera's picture at ``t_ms`` (None while it is off); moves forward only."""
        while self.next is not None and self.next[0] <= t_ms:
            self.shown = self.next
            self._read()
        if self.shown is None:
            return None            # not started yet
        if self.done and t_ms > self.shown[0]:
            self.off = True        # past its last frame
            return None
        return self.shown[1]


def media_with(index: RecordingIndex, kind: str, files=None):
    """(file, open container) for each of the recording's media files (or ``files``) that holds a ``kind``
    stream ("audio" or "video"); a file that cannot be read is logged and skipped, one without such a stream
    closed and skipped."""
    for f in index.media if files is None else files:
        try:
            container = av.open(str(f.path))
        except (av.error.FFmpegError, OSError) as exc:
            log.warning("media file %s of recording %s cannot be read: %s", f.name, index.id, exc)
            continue
        if not getattr(container.streams, kind):
            container.close()
            continue
        yield f, container


class Cameras:
    """The recording's cameras; ``overlay(pixels, t_ms)`` draws those on at ``t_ms``."""

    def __init__(self, index: RecordingIndex):
        self.cameras: list[_Camera] = []
        for f, container in media_with(index, "video", [f for f in index.media if f.name.startswith("media-video")]):
            self.cameras.append(_Camera(container, int(f.first_ms), f.name))

    def __bool__(self) -> bool:
        return bool(self.cameras)

    def next_change(self) -> int | None:
        times = [t for c in self.cameras if (t := c.next_change()) is not None]
        return min(times) if times else None

    def overlay(self, pixels: np.ndarray, t_ms: int) -> np.ndarray:
        """``pixels`` (BGR, the export's size) with a tile per camera on at ``t_ms``; a copy when drawn on."""
        shown = [p for c in self.cameras if (p := c.at(t_ms)) is not None]
        if not shown:
            return pixels
        out = pixels.copy()
        H, W = out.shape[:2]
        tile_w = min(W - 2 * MARGIN, max(TILE_MIN_W, W // TILE_PART))
        right = W - MARGIN
        for cam in shown:
            h, w = cam.shape[:2]
            tw = min(tile_w, right - MARGIN)
            th = min(H - 2 * MARGIN, max(1, h * tw // max(1, w)))
            if tw < 8 or th < 8:
                break              # no room for another tile
            x, y = right - tw, H - MARGIN - th
            out[y:y + th, x:x + tw] = cv2.resize(cam, (tw, th), interpolation=cv2.INTER_AREA)
            right = x - MARGIN
        return out

    def close(self) -> None:
        for c in self.cameras:
            c.container.close()
