"""Test doubles around the real Support Manager: input and capture backends that record what passes
through them, and a socket that counts media frames.

Running the Support Manager itself (``ScriptedConsent``, ``start_agent``, ``launch``, ``stop_agent``) is
part of the test kit, ``host.testing``; the names are imported here too for the tests that use them from
this module. (The end-to-end test clicks the real Tk consent dialog with xdotool instead.)
"""
from __future__ import annotations

from agent.hookspecs import hookimpl
from host.testing.support_manager import ScriptedConsent, launch, start_agent, stop_agent

__all__ = ["ScriptedConsent", "launch", "start_agent", "stop_agent", "InputSpy", "CaptureSpy", "MediaSocket"]


class InputSpy:
    """An input backend plugin that records every injection and passes it on to the real default backend."""

    def __init__(self):
        from agent.backends_x11 import XTestInput
        self.real = XTestInput()
        self.calls = []

    @hookimpl
    def agent_input_backend(self, config):
        return self

    def move(self, x, y):
        self.calls.append(("move", x, y))
        self.real.move(x, y)

    def button(self, name, down):
        self.calls.append(("button", name, down))
        self.real.button(name, down)

    def scroll(self, dx, dy):
        self.calls.append(("scroll", dx, dy))
        self.real.scroll(dx, dy)

    def key(self, code, key, down):
        self.calls.append(("key", code, key, down))
        self.real.key(code, key, down)

    def release_keys(self):
        self.real.release_keys()

    def close(self):
        self.real.close()


class CaptureSpy:
    """Wraps the real mss capture backend and counts grabs."""

    def __init__(self):
        from agent.backends_x11 import MssCapture
        self.real = MssCapture()
        self.grabs = 0

    @hookimpl
    def agent_capture_backend(self, config):
        return self

    def monitors(self):
        return self.real.monitors()

    def grab(self, monitor):
        self.grabs += 1
        return self.real.grab(monitor)

    def cursor(self):
        return self.real.cursor()

    def close(self):
        self.real.close()


class MediaSocket:
    """Wraps the kit's Socket (host.testing): binary media frames are counted (and acked if asked) while waiting
    for text messages, instead of being taken for a closed socket."""

    def __init__(self, sock, ack: bool = True):
        self.sock = sock
        self.hello = sock.hello
        self.ack = ack
        self.frames = 0
        self.chunks = 0

    async def send(self, msg):
        await self.sock.send(msg)

    async def request(self, msg, timeout: float = 10):
        return await self.sock.request(msg, timeout, on_binary=self._frame)

    async def expect(self, match, timeout: float = 10):
        return await self.sock.expect(match, timeout, on_binary=self._frame)

    async def _frame(self, frame: bytes) -> None:
        from host.router import parse_binary
        header, _ = parse_binary(frame)
        if header["type"].endswith(".cursor_shape"):
            return
        self.chunks += 1
        if header.get("c", 0) == header.get("n", 1) - 1:
            self.frames += 1
            if self.ack:
                await self.send({"type": "desktop.ack", "agent": header["from"], "seq": header["seq"]})
