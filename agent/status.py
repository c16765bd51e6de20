"""Showing the person at this computer who is viewing or controlling, with a way to stop it at once."""
from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Callable

from .window_process import close_window, display_present

log = logging.getLogger("support_manager.status")


def describe(viewers: dict) -> str:
    """viewers: {id: {"name", "level"}} -> one sentence."""
    if not viewers:
        return "Nobody sees your screen."
    control = [v["name"] for v in viewers.values() if v["level"] == "control"]
    view = [v["name"] for v in viewers.values() if v["level"] != "control"]
    parts = []
    if control:
        parts.append(f"{', '.join(control)} can see and control your screen")
    if view:
        parts.append(f"{', '.join(view)} can see your screen")
    return "; ".join(parts) + "."


class TerminalStatus:
    """Prints each change; typing ``stop`` (see agent.terminal) stops sharing."""

    def __init__(self, on_stop: Callable[[], None]):
        self.on_stop = on_stop
        self.last = None

    def show(self, viewers: dict) -> None:
        text = describe(viewers)
        if text != self.last:
            self.last = text
            hint = "  (type 'stop' and Enter to stop at once)" if viewers else ""
            print(f"[Support Manager] {text}{hint}", flush=True)

    def controls(self, key: str, text: str, buttons: list) -> None:
        """A plugin's line and buttons (the window shows them; on the terminal they are typed commands)."""

    async def close(self) -> None:
        pass


class WindowStatus:
    """A small always-on-top Tk window (its own process) with a Stop button."""

    def __init__(self, on_stop: Callable[[], None], on_command: Callable[[str], None] | None = None):
        self.on_stop = on_stop
        self.on_command = on_command
        self.viewers: dict = {}
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

    def show(self, viewers: dict) -> None:
        self.terminal.show(viewers)
        self.viewers = dict(viewers)
        self._push()

    def controls(self, key: str, text: str, buttons: list) -> None:
        self.extra[key] = (text, list(buttons))
        self._push()

    def _push(self) -> None:
        texts = [describe(self.viewers)] + [t for t, _ in self.extra.values() if t]
        buttons = [b for _, bs in self.extra.values() for b in bs]
        asyncio.create_task(self._send({"text": " ".join(texts), "sharing": bool(self.viewers),
                                        "buttons": buttons}))

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
