"""Desktop sharing through a real host with the real Support Manager on a real X screen (Xvfb).

The consent answer comes from ScriptedConsent here (the person at the dialog); test_desktop_e2e.py
clicks the real dialog with xdotool.
"""
from __future__ import annotations

import asyncio
import json

import aiohttp
import numpy as np
import pytest

from agent.consent import Answer
from agent_harness import CaptureSpy, InputSpy, ScriptedConsent, start_agent, stop_agent
from plugins.desktop.pipeline import apply_records
from host.router import parse_binary
from xscreen import Recorder, xscreen  # noqa: F401  (fixture)


class Viewer:
    """A rep's socket that draws the frames it gets, like the dashboard canvas, and acks them."""

    def __init__(self, sock, ack: bool = True):
        self.sock = sock
        self.ack = ack
        self.canvas = None
        self.frames = 0
        self.chunks = 0
        self.texts: list[dict] = []

    async def pump(self, until, timeout: float = 15):
        async with asyncio.timeout(timeout):
            while not until(self):
                msg = await self.sock.ws.receive()
                if msg.type == aiohttp.WSMsgType.BINARY:
                    header, payload = parse_binary(msg.data)
                    if self.canvas is None or self.canvas.shape[:2] != (header["h"], header["w"]):
                        self.canvas = np.zeros((header["h"], header["w"], 3), np.uint8)
                    apply_records(self.canvas, payload)
                    self.chunks += 1
                    if header["c"] == header["n"] - 1:
                        self.frames += 1
                        if self.ack:
                            await self.sock.send({"type": "desktop.ack", "agent": header["from"],
                                                  "seq": header["seq"]})
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    self.texts.append(json.loads(msg.data))
                else:
                    raise AssertionError(f"socket closed: {msg}")

    def seen(self, type_):
        return [m for m in self.texts if m.get("type") == type_]


async def session_with_agent(host, consent, extra=()):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    agent, task = await start_agent(host, s["number"], consent=consent, extra=extra)
    await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"])
    return rep, s, rep_ws, agent, task


async def events_of(host, session_id):
    return await host.db_read(lambda db: [(r["kind"], json.loads(r["details"])) for r in db["session_events"].rows_where(
        "session_id = ? and kind like 'desktop.%'", [session_id], order_by="id")])


async def test_control_granted_locally_reaches_the_application(host, xscreen, tmp_path):
    app = Recorder(xscreen, tmp_path / "rec.jsonl")
    ready = await app.ready()
    consent = ScriptedConsent(Answer(True))
    rep, s, rep_ws, agent, task = await session_with_agent(host, consent)
    try:
        reply = await rep_ws.request({"type": "desktop.request", "level": "control"})
        assert reply["type"] == "desktop.requested"
        viewer = Viewer(rep_ws)
        await viewer.pump(lambda v: v.frames >= 1 and v.seen("desktop.answer"))
        assert viewer.seen("desktop.answer")[0]["allow"] is True
        assert consent.asked[0].level == "control" and "Rita Rep" in consent.asked[0].who

        bx, by, bw, bh = ready["button"]
        cx, cy = bx + bw // 2, by + bh // 2
        await rep_ws.send({"type": "desktop.input", "agent": agent.me["id"], "events": [
            {"t": "move", "x": cx, "y": cy}, {"t": "button", "b": "left", "down": True, "x": cx, "y": cy},
            {"t": "button", "b": "left", "down": False, "x": cx, "y": cy}]})
        ex, ey, ew, eh = ready["entry"]
        keys = []
        for ch, code in (("H", "KeyH"), ("i", "KeyI"), ("!", "Digit1")):
            keys += [{"t": "key", "code": code, "key": ch, "down": True},
                     {"t": "key", "code": code, "key": ch, "down": False}]
        await rep_ws.send({"type": "desktop.input", "agent": agent.me["id"], "events": [
            {"t": "move", "x": ex + 20, "y": ey + 10}, *keys]})
        await app.wait_for(lambda evs: [e for e in evs if e["event"] == "click"])
        text = await app.wait_for(lambda evs: [e for e in evs if e["event"] == "text" and e["text"] == "Hi!"])
        assert text["text"] == "Hi!"
        clicks = [e for e in app.events() if e["event"] == "click"]
        assert len(clicks) == 1

        # what the rep has drawn matches the screen (after the picture settles)
        await asyncio.sleep(0.5)
        try:
            await viewer.pump(lambda v: False, timeout=1.0)
        except TimeoutError:
            pass
        screen = xscreen.grab()[:, :, 2::-1]
        region = (slice(0, 320), slice(0, 520))
        diff = np.abs(viewer.canvas[region].astype(int) - screen[region].astype(int))
        assert diff.mean() < 2, diff.mean()

        kinds = [k for k, _ in await events_of(host, s["id"])]
        assert "desktop.requested" in kinds and "desktop.granted" in kinds
    finally:
        await stop_agent(agent, task)
