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
from .permissions import People, Permission, describe, gather, identity, numbered
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
        self.people = People()
        self.shown: list[Permission] = []       # the numbered list last shown (what `revoke <n>` refers to)
        for plugin, error in getattr(self.pm, "failures", {}).items():
            self.report(f"{plugin}: not available on this computer ({error})")
        self.capture = self._first("agent_capture_backend", config=self.config)
        self.input = self._first("agent_input_backend", config=self.config)
        self.consent = consent or self._first("agent_consent_prompt", config=self.config)
        self.status = status or make_status(self.stop_sharing, self.config.get("status", "auto"),
                                                on_command=self._terminal_command)
        self.use_terminal = use_terminal
        self._register("session.hello", self._on_hello)       # first: the plugins' parts see who is who
        self._register("session.participants", self._on_participants)
        list(self._each("agent_message_handlers", agent=self, register=self._register))

    # -- calling plugins: one plugin's exception never stops the others ----------------------------------
    def _each(self, hook: str, failed: list | None = None, **kwargs):
        """Call each implementation of ``hook`` in pluggy's order, yielding (plugin, result). An exception is
        logged with its traceback and told to the person as "<plugin>: <hook> failed: ..." (the plugin's
        name is added to ``failed``); the next plugin is called."""
        for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls()):
            if impl.hookwrapper or impl.wrapper:
                continue
            try:
                result = impl.function(*[kwargs[name] for name in impl.argnames])
            except Exception as exc:
                log.error("plugin %s: %s failed", impl.plugin_name, hook, exc_info=exc)
                what = "command" if hook == "agent_command" else hook
                plugin = impl.plugin_name.removeprefix("ext:")
                self.report(f"{plugin}: {what} failed: {exc.__class__.__name__}: {exc}")
                if failed is not None:
                    failed.append(impl.plugin_name)
                continue
            yield impl.plugin_name, result

    def _first(self, hook: str, **kwargs):
        """The first non-None answer of a firstresult hook (a backend), skipping plugins that raise."""
        return next((result for _, result in self._each(hook, **kwargs) if result is not None), None)

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

    def _on_hello(self, message: dict) -> None:
        you = message.get("you")
        self.me = you if isinstance(you, dict) and isinstance(you.get("id"), str) else None
        session = message.get("session")
        self._on_participants({"participants": session.get("participants") if isinstance(session, dict) else None})

    def _on_participants(self, message: dict) -> None:
        self.people.update(message.get("participants"))
        identify = getattr(self.status, "identify", None)
        if identify is not None:
            identify(identity(self.link.site_url, self.link.site_name, self.people))
        self.permissions_changed()

    async def _on_message(self, message: dict) -> None:
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

    def permissions_changed(self) -> None:
        """A plugin's grants changed: the status window and the terminal show the new list."""
        self.shown = gather(self.features)
        self.status.show(self.shown)

    def revoke(self, number: str) -> None:
        """`revoke <n>`: end the n-th permission of the list last shown, here first, then on the host."""
        n = int(number) if number.isdigit() else 0
        if not 1 <= n <= len(self.shown):
            print(f"[Support Manager] there is no permission {number[:10]!r} now (type 'who' for the list)",
                  flush=True)
            return
        p = self.shown[n - 1]
        feature = self.features.get(p.feature)
        if feature is not None:
            print(f"[Support Manager] Ending: {p.line()}.", flush=True)
            asyncio.ensure_future(feature.revoke_permission(p.key))

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
        elif line.lower().startswith("revoke ") or line.lower() == "revoke":
            self.revoke(line[7:].strip())
        elif line.lower() in ("who", "permissions"):
            self.permissions_changed()
            lines = numbered(self.shown) or [describe(self.shown)]
            print("\n".join(["[Support Manager] " + identity(self.link.site_url, self.link.site_name, self.people),
                             *(f"  {x}" for x in lines)]), flush=True)
        else:
            failed: list[str] = []
            if not any(handled for _, handled in self._each("agent_command", failed, agent=self, line=line)) \
                    and not failed:
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
        for plugin, result in list(self._each("agent_stopped", agent=self)):
            try:
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("plugin %s: stopping failed", plugin)
        await self.status.close()
        await self.link.close()
