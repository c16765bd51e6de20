"""Lines typed on the terminal, read in a thread and handed to the event loop (never blocks the loop).

A line answers the pending question if there is one (the consent prompt), otherwise it is a command
(``stop`` stops all sharing at once).
"""
from __future__ import annotations

import asyncio
import sys
import threading
from typing import Callable


class TerminalLines:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdin
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.pending: asyncio.Future | None = None
        self.on_command: Callable[[str], None] | None = None

    def start(self, on_command: Callable[[str], None] | None = None) -> None:
        if on_command is not None:
            self.on_command = on_command
        if self.thread is not None:
            return
        self.loop = asyncio.get_running_loop()
        self.thread = threading.Thread(target=self._read, name="terminal-lines", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for line in self.stream:
                self.loop.call_soon_threadsafe(self._deliver, line.strip())
        except (ValueError, OSError):
            pass

    def _deliver(self, line: str) -> None:
        if self.pending is not None and not self.pending.done():
            self.pending.set_result(line)
        elif self.on_command is not None and line:
            self.on_command(line)

    async def ask(self) -> str:
        self.start()
        self.pending = self.loop.create_future()
        try:
            return await self.pending
        finally:
            self.pending = None


_shared: TerminalLines | None = None


def terminal_lines() -> TerminalLines:
    global _shared
    if _shared is None:
        _shared = TerminalLines()
    return _shared
