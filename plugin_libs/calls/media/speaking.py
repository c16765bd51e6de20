"""Who is speaking in a call, from the sound itself (not from what the others claim)."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from .devices import RATE


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
