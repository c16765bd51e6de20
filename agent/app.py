"""The Support Manager: joins a session as a participant and hosts the agent parts of feature plugins.

It knows no feature by name: plugins register the host message types they handle
(``agent_message_handlers``) and use the backends other plugins provide (capture, input, consent).
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from collections import defaultdict
from typing import Callable

from .connection import HostLink
from .frames import parse_binary
from .plugin_manager import make_plugin_manager
from .status import make_status
from .terminal import terminal_lines

log = logging.getLogger("support_manager")


class SupportManager:
    def __init__(self, site_url: str, number: str, name: str = "Support Manager", *, pair: str = "",
                 pm=None, config: dict | None = None, status=None, consent=None, use_terminal: bool = False):
        self.config = dict(config or {})
        self.pm = pm or make_plugin_manager()
        self.pair = pair
        self.name = name
        self.link = HostLink(site_url, number, name, self._on_message, on_binary=self._on_binary)
        self.handlers: dict[str, list[Callable]] = defaultdict(list)
        self.binary_handlers: dict[str, Callable] = {}
        self.me: dict | None = None
        self.reports: list[str] = []
        self.features: dict[str, object] = {}
        self.capture = self.pm.hook.agent_capture_backend(config=self.config)
        self.input = self.pm.hook.agent_input_backend(config=self.config)
        self.consent = consent or self.pm.hook.agent_consent_prompt(config=self.config)
        self.status = status or make_status(self.stop_sharing, self.config.get("status", "auto"),
                                                on_command=self._terminal_command)
        self.use_terminal = use_terminal
        self.pm.hook.agent_message_handlers(agent=self, register=self._register)

    def _register(self, type_: str, fn: Callable, binary: bool = False) -> None:
        if binary:   # binary frames from the host: fn(header, payload), one handler per stream
            self.binary_handlers[type_] = fn
        else:
            self.handlers[type_].append(fn)

    async def _on_binary(self, frame: bytes) -> None:
        try:
            header, payload = parse_binary(frame)
        except (ValueError, UnicodeDecodeError):
            return
        fn = self.binary_handlers.get(header["type"])
        if fn is None:
            return
        try:
            result = fn(header, payload)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("handling a %s frame failed", header["type"])

    async def _on_message(self, message: dict) -> None:
        if message.get("type") == "session.hello":
            self.me = message.get("you")
        for fn in list(self.handlers.get(message.get("type"), ())):
            result = fn(message)
            if inspect.isawaitable(result):
                await result

    # -- what plugins use ------------------------------------------------------------------------
    async def send(self, message: dict) -> bool:
        return await self.link.send(message)

    async def send_bytes(self, frame: bytes) -> bool:
        return await self.link.send_bytes(frame)

    def report(self, text: str) -> None:
        """Tell the person at this computer (terminal and log) something they should know."""
        self.reports.append(text)
        log.warning("%s", text)
        print(f"[Support Manager] {text}", flush=True)

    def stop_sharing(self) -> None:
        """Stop everything at once, locally first (from the status window or the terminal)."""
        for feature in self.features.values():
            stop = getattr(feature, "stop_all", None)
            if stop is not None:
                asyncio.ensure_future(stop("stopped by the customer"))

    def _terminal_command(self, line: str) -> None:
        if line.lower() in ("stop", "s"):
            self.stop_sharing()
        elif line.lower() in ("quit", "exit", "q"):
            asyncio.ensure_future(self.quit())
        elif not any(self.pm.hook.agent_command(agent=self, line=line)):
            print(f"[Support Manager] unknown command {line[:40]!r}", flush=True)

    # -- running ---------------------------------------------------------------------------------
    async def run(self) -> str:
        await self.link.join()
        if self.use_terminal:
            terminal_lines().start(self._terminal_command)
        try:
            return await self.link.run()
        finally:
            await self.shutdown()

    async def quit(self) -> None:
        await self.send({"type": "session.leave"})
        await self.link.stop()

    async def shutdown(self) -> None:
        results = self.pm.hook.agent_stopped(agent=self)
        for r in results:
            if inspect.isawaitable(r):
                await r
        await self.status.close()
        await self.link.close()
