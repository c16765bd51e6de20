"""A sliding-window counter per key (an address, a username), with an injectable clock."""
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

    def retry_after(self, key: str) -> int:
        hits = self._prune(key)
        if len(hits) < self.limit:
            return 0
        return max(1, int(hits[0] + self.window - self.clock()) + 1)
