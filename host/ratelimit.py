"""A sliding-window counter per key (an address, a username), with an injectable clock.

Under concurrency an attempt is counted *before* the slow work it leads to (a database look-up, a
password hash), not after: ``reserve(key)`` takes a place in the window at once, or answers None when
the key is at its limit. The caller then ``confirm()``s it (the attempt counts, e.g. a wrong number)
or ``release()``s it (it does not, e.g. a right one). So 2,000 simultaneous tries from one address
with a limit of 5 are 5 looked up and 1,995 refused, never 2,000 looked up.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Callable


class RateLimiter:
    def __init__(self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.time):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque] = {}

    def _prune(self, key: str) -> deque:
        """The key's hits inside the window; a key with none left is forgotten (no entry per address
        ever seen stays behind)."""
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        cutoff = self.clock() - self.window
        while hits and hits[0] <= cutoff:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    def blocked(self, key: str) -> bool:
        return len(self._prune(key)) >= self.limit

    def hit(self, key: str) -> None:
        hits = self._prune(key)
        hits.append(self.clock())
        self._hits[key] = hits

    def reserve(self, key: str) -> "Reservation | None":
        """Count an attempt now, before its slow work; None (nothing counted) when ``key`` is at its
        limit. Settle it with ``confirm()`` or ``release()``; an unsettled one counts."""
        if self.blocked(key):
            return None
        hits = self._prune(key)
        stamp = self.clock()
        hits.append(stamp)
        self._hits[key] = hits
        return Reservation(self, key, stamp)

    def _unhit(self, key: str, stamp: float) -> None:
        hits = self._hits.get(key)
        if hits is None:
            return
        try:
            hits.remove(stamp)
        except ValueError:   # already out of the window
            return
        if not hits:
            del self._hits[key]

    def retry_after(self, key: str) -> int:
        hits = self._prune(key)
        if len(hits) < self.limit:
            return 0
        return max(1, int(hits[0] + self.window - self.clock()) + 1)


class Reservation:
    """One attempt counted ahead by ``RateLimiter.reserve``."""

    def __init__(self, limiter: RateLimiter, key: str, stamp: float):
        self._limiter = limiter
        self._key = key
        self._stamp = stamp
        self.settled = False

    def confirm(self) -> None:
        """The attempt counts (it failed): it stays in the window."""
        self.settled = True

    def release(self) -> None:
        """The attempt does not count (it succeeded): its place in the window is given back."""
        if not self.settled:
            self._limiter._unhit(self._key, self._stamp)
        self.settled = True
