"""A fake, malicious host for the Support Manager's tests: it speaks the host's protocol (the join page,
the join form, the session socket) on loopback, records what the agent sends, and sends whatever a test
wants. ``evil`` is its pytest fixture."""
from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web


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

    async def send_bytes(self, frame: bytes):
        await self.ws.send_bytes(frame)

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
