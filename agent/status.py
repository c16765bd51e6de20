"""Showing the person at this computer who is helping and what each person may do right now (numbered:
``revoke <n>`` ends one), with a way to stop everything at once."""
from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Callable

from .permissions import Permission, describe, numbered
from .window_process import close_window, display_present

log = logging.getLogger("support_manager.status")


class TerminalStatus:
    """Prints each change: who is helping, and the numbered list of what each person may do now;
    typing ``revoke <n>`` ends one, ``stop`` (see agent.terminal) ends everything."""

    def __init__(self, on_stop: Callable[[], None]):
        self.on_stop = on_stop
        self.last = None
        self.last_identity = None

    def show(self, permissions: list[Permission]) -> None:
        lines = numbered(permissions)
        text = "\n".join(["Who may do what now:", *(f"  {line}" for line in lines),
                          "  (type 'revoke <number>' to end one, 'stop' to end everything at once)"]) \
            if lines else describe(permissions)
        if text != self.last:
            self.last = text
            print(f"[Support Manager] {text}", flush=True)

    def identify(self, text: str) -> None:
        if text != self.last_identity:
            self.last_identity = text
            print(f"[Support Manager] {text}", flush=True)

    def controls(self, key: str, text: str, buttons: list) -> None:
        """A plugin's line and buttons (the window shows them; on the terminal they are typed commands)."""

    async def close(self) -> None:
        pass


class WindowStatus:
    """A small always-on-top Tk window (its own process) with a Stop button."""

    def __init__(self, on_stop: Callable[[], None], on_command: Callable[[str], None] | None = None):
        self.on_stop = on_stop
        self.on_command = on_command
        self.permissions: list[Permission] = []
        self.identity = ""
        self.extra: dict[str, tuple[str, list]] = {}     # plugin key -> (text, buttons)
        self.proc: asyncio.subprocess.Process | None = None
        self.reader: asyncio.Task | None = None
        self.terminal = TerminalStatus(on_stop)
        self.sending = asyncio.Lock()     # one window, and the states in the order they were made

    async def _ensure(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            return
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agent.status_window", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE)
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        proc = self.proc
        while True:
            line = await proc.stdout.readline()
            if not line:
                return
            if line.strip() == b"stop":
                self.on_stop()
            elif line.startswith(b"cmd ") and self.on_command is not None:
                self.on_command(line[4:].decode(errors="replace").strip())

    def show(self, permissions: list[Permission]) -> None:
        self.terminal.show(permissions)
        self.permissions = list(permissions)
        self._push()

    def identify(self, text: str) -> None:
        self.terminal.identify(text)
        if text != self.identity:
            self.identity = text
            self._push()

    def controls(self, key: str, text: str, buttons: list) -> None:
        self.extra[key] = (text, list(buttons))
        self._push()

    def _push(self) -> None:
        texts = [describe(self.permissions)] + [t for t, _ in self.extra.values() if t]
        buttons = [b for _, bs in self.extra.values() for b in bs]
        asyncio.create_task(self._send({"text": " ".join(texts), "sharing": bool(self.permissions),
                                        "buttons": buttons, "identity": self.identity,
                                        "grants": numbered(self.permissions)}))

    async def _send(self, state: dict) -> None:
        async with self.sending:
            try:
                await self._ensure()
                self.proc.stdin.write((json.dumps(state) + "\n").encode())
                await self.proc.stdin.drain()
            except (ConnectionError, RuntimeError) as exc:
                log.warning("status window: %s", exc)

    async def close(self) -> None:
        await close_window(self.proc)
        if self.reader is not None:
            self.reader.cancel()


def make_status(on_stop: Callable[[], None], prefer: str = "auto", on_command=None):
    if prefer == "terminal" or not display_present():
        return TerminalStatus(on_stop)
    try:
        import tkinter  # noqa: F401
    except ImportError:
        return TerminalStatus(on_stop)
    return WindowStatus(on_stop, on_command)
