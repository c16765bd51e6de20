"""The pictures of a video call on this computer: the camera (or a looping video file) as an aiortc track
(``OpenCVCamera``), and the others' pictures received (``VideoReceiver``)."""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import fractions
import time
from typing import Callable

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame

from .devices import NoDeviceError


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


class VideoReceiver:
    """Consumes remote video tracks; counts the frames per member and hands pictures to ``on_frame``."""

    def __init__(self, on_frame: Callable[[str, np.ndarray], None] | None = None, every: float = 0.0,
                 on_gone: Callable[[str], None] | None = None):
        self.frames: dict[str, int] = collections.Counter()
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
