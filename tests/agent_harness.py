"""Running the real Support Manager in a test's event loop, against a real host.

ScriptedConsent stands in for the person clicking the consent dialog (the end-to-end test clicks the
real Tk dialog with xdotool instead); it records every question it was asked.
"""
from __future__ import annotations

import asyncio

from agent.app import SupportManager
from agent.consent import Answer
from agent.hookspecs import hookimpl
from agent.plugin_manager import make_plugin_manager
from agent.status import TerminalStatus


class ScriptedConsent:
    kind = "scripted"

    def __init__(self, *answers: Answer):
        self.answers = list(answers)
        self.asked = []

    async def ask(self, request):
        self.asked.append(request)
        return self.answers.pop(0) if self.answers else Answer(False)


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


async def start_agent(host, number: str, consent=None, extra=(), name: str = "Carla", site: str = "demo",
                      pair: str = "") -> tuple[SupportManager, asyncio.Task]:
    pm = make_plugin_manager(extra=extra)
    if consent == "real":          # the real consent prompt (the Tk dialog when there is a display)
        consent = None
    elif consent is None:
        consent = ScriptedConsent()
    agent = SupportManager(f"{host.base}/s/{site}", number, name, pm=pm, consent=consent,
                           status=TerminalStatus(lambda: None), pair=pair)
    return await launch(agent)


async def launch(agent):
    """Run a Support Manager in this event loop until it has joined; returns (agent, its task)."""
    task = asyncio.create_task(agent.run())
    for _ in range(200):
        if agent.link.connected.is_set() and agent.me is not None:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the Support Manager did not connect")
    return agent, task


async def stop_agent(agent, task) -> None:
    await agent.link.stop()
    try:
        await asyncio.wait_for(task, 5)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        task.cancel()


class MediaSocket:
    """Wraps conftest's Socket: binary media frames are counted (and acked if asked) while waiting
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
