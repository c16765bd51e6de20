"""A fake, malicious host: it speaks the host's protocol to a real Support Manager but sends capture and
input commands the person at the computer never allowed. The agent captures and injects nothing, tells
its person, and reports each refusal to the host."""
from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from agent.consent import Answer
from agent_harness import CaptureSpy, InputSpy, ScriptedConsent
from agent.app import SupportManager
from agent.plugin_manager import make_plugin_manager
from agent.status import TerminalStatus
from xscreen import Recorder, xscreen  # noqa: F401  (fixture)


class EvilHost:
    def __init__(self):
        self.received: list[dict] = []
        self.binary = 0
        self.ws: web.WebSocketResponse | None = None
        self.connected = asyncio.Event()
        app = web.Application()
        app.router.add_get("/s/evil/join", self.join_page)
        app.router.add_post("/s/evil/join", self.join)
        app.router.add_get("/s/evil/ws/session/{sid}", self.socket)
        self.app = app

    async def join_page(self, request):
        return web.Response(text='<form><input type="hidden" name="csrf_token" value="tok"></form>',
                            content_type="text/html")

    async def join(self, request):
        resp = web.HTTPFound("/s/evil/session/abc123")
        resp.set_cookie("shp_abc123", "cookie", path="/s/evil")
        raise resp

    async def socket(self, request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.ws = ws
        await ws.send_json({"type": "session.hello", "you": {"id": "agentid", "role": "customer", "name": "C"},
                            "session": {"id": "abc123", "participants": []}})
        self.connected.set()
        async for msg in ws:
            if msg.type == 1:
                self.received.append(json.loads(msg.data))
            else:
                self.binary += 1
        return ws

    async def send(self, msg):
        await self.ws.send_json(msg)

    async def wait_for(self, pred, timeout=10):
        async with asyncio.timeout(timeout):
            while not [m for m in self.received if pred(m)]:
                await asyncio.sleep(0.02)
        return [m for m in self.received if pred(m)]


@pytest.fixture
async def evil():
    host = EvilHost()
    runner = web.AppRunner(host.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host.base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    yield host
    await runner.cleanup()


async def test_agent_refuses_capture_and_input_without_local_approval(evil, xscreen, tmp_path):
    app = Recorder(xscreen, tmp_path / "rec.jsonl")
    ready = await app.ready()
    capture, inputs = CaptureSpy(), InputSpy()
    consent = ScriptedConsent(Answer(False), Answer(True), Answer(True))
    agent = SupportManager(f"{evil.base}/s/evil", "123456789", "Carla", consent=consent,
                           pm=make_plugin_manager(extra=[("capture-spy", capture), ("input-spy", inputs)]),
                           status=TerminalStatus(lambda: None))
    task = asyncio.create_task(agent.run())
    try:
        await evil.connected.wait()
        await evil.wait_for(lambda m: m["type"] == "desktop.agent_hello")
        bx, by, bw, bh = ready["button"]
        click = [{"t": "move", "x": bx + 5, "y": by + 5}, {"t": "button", "b": "left", "down": True, "x": bx + 5, "y": by + 5},
                 {"t": "button", "b": "left", "down": False, "x": bx + 5, "y": by + 5}]
        # 1. commands without any grant
        await evil.send({"type": "desktop.start"})
        await evil.send({"type": "desktop.refresh"})
        await evil.send({"type": "desktop.input", "from": "rep", "events": click})
        await evil.send({"type": "desktop.monitor", "from": "rep", "monitor": 1})
        refusals = await evil.wait_for(lambda m: m["type"] == "desktop.violation")
        await asyncio.sleep(0.5)
        refusals = [m for m in evil.received if m["type"] == "desktop.violation"]
        assert {m["command"] for m in refusals} == {"desktop.start", "desktop.refresh", "desktop.input",
                                                    "desktop.monitor"}
        assert any("control your mouse and keyboard" in r for r in agent.reports)
        assert any("capture your screen" in r for r in agent.reports)

        # 2. the person denies a request: still nothing
        await evil.send({"type": "desktop.consent_request", "request_id": "r1", "level": "control",
                         "viewers": [{"id": "rep", "name": "Mallory"}]})
        denied = await evil.wait_for(lambda m: m["type"] == "desktop.consent" and m["request_id"] == "r1")
        assert denied[0]["allow"] is False
        await evil.send({"type": "desktop.input", "from": "rep", "events": click})
        await evil.wait_for(lambda m: m["type"] == "desktop.violation" and m["what"].startswith("control")
                            and len([x for x in evil.received if x["type"] == "desktop.violation"]) >= 5)
        await asyncio.sleep(0.3)
        assert capture.grabs == 0 and evil.binary == 0
        assert inputs.calls == []

        # 3. view is allowed for "rep": input from it (or anybody) is still refused; bad input is an error
        await evil.send({"type": "desktop.consent_request", "request_id": "r2", "level": "view",
                         "viewers": [{"id": "rep", "name": "Mallory"}]})
        await evil.wait_for(lambda m: m["type"] == "desktop.consent" and m["request_id"] == "r2" and m["allow"])
        await evil.send({"type": "desktop.input", "from": "rep", "events": click})
        await evil.send({"type": "desktop.input", "from": "someone-else", "events": click})
        await evil.wait_for(lambda m: m["type"] == "desktop.violation"
                            and len([x for x in evil.received if x["type"] == "desktop.violation"]) >= 7)
        assert inputs.calls == []
        assert capture.grabs >= 1          # viewing was allowed: capture started only now
        await asyncio.sleep(0.5)
        assert not [e for e in app.events() if e["event"] in ("click", "press")]

        # 4. with a control grant, malformed or out-of-range input is still ignored with an error
        await evil.send({"type": "desktop.consent_request", "request_id": "r3", "level": "control",
                         "viewers": [{"id": "rep", "name": "Mallory"}]})
        await evil.wait_for(lambda m: m["type"] == "desktop.consent" and m["request_id"] == "r3" and m["allow"])
        await evil.send({"type": "desktop.input", "from": "rep", "events": [{"t": "move", "x": 99999, "y": 5}]})
        await evil.send({"type": "desktop.input", "from": "rep", "events": [{"t": "key", "down": True}]})
        await evil.send({"type": "desktop.input", "from": "rep", "events": "click"})
        errors = await evil.wait_for(lambda m: m["type"] == "desktop.input_error"
                                     and len([x for x in evil.received if x["type"] == "desktop.input_error"]) >= 3)
        assert "outside the shared screen" in errors[0]["error"]
        assert inputs.calls == []
        await evil.send({"type": "desktop.input", "from": "rep", "events": click})
        await app.wait_for(lambda evs: [e for e in evs if e["event"] == "click"])
        assert len([c for c in inputs.calls if c[0] == "button"]) == 2
    finally:
        await agent.link.stop()
        await asyncio.wait_for(task, 5)
