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
from agent_harness import CaptureSpy, InputSpy, MediaSocket, ScriptedConsent, start_agent, stop_agent
from host.appkeys import HUB
from host.router import parse_binary
from plugin_libs.screenshare.pipeline import KIND_JPEG, KIND_ZLIB
from plugin_libs.screenshare.state import state_of
from screen_records import apply_records, decode_records
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
        self.scales: set[int] = set()
        self.shapes: list[dict] = []
        self.monitors: list = []          # the monitor of each complete frame

    async def pump(self, until, timeout: float = 15):
        async with asyncio.timeout(timeout):
            while not until(self):
                msg = await self.sock.ws.receive()
                if msg.type == aiohttp.WSMsgType.BINARY:
                    header, payload = parse_binary(msg.data)
                    if header["type"].endswith(".cursor_shape"):
                        self.shapes.append(header)
                        continue
                    if "w" in header and (self.canvas is None or self.canvas.shape[:2] != (header["h"], header["w"])):
                        self.canvas = np.zeros((header["h"], header["w"], 3), np.uint8)
                    if self.canvas is not None:           # the size comes with full frames and changes
                        apply_records(self.canvas, payload)
                    self.scales.update(rec[5] for rec in decode_records(payload) if rec[4] in (KIND_JPEG, KIND_ZLIB))
                    self.chunks += 1
                    if header.get("c", 0) == header.get("n", 1) - 1:
                        self.frames += 1
                        self.monitors.append(header.get("mon", self.monitors[-1] if self.monitors else None))
                        if self.ack:
                            plugin = header["type"].split(".")[0]
                            await self.sock.send({"type": f"{plugin}.ack", "agent": header["from"],
                                                  "seq": header["seq"]})
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    self.texts.append(json.loads(msg.data))
                else:
                    raise AssertionError(f"socket closed: {msg}")

    def seen(self, type_):
        return [m for m in self.texts if m.get("type") == type_]


async def session_with_agent(host, consent, extra=(), media=False):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    if media:
        rep_ws = MediaSocket(rep_ws)
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
        assert viewer.shapes and viewer.shapes[0]["w"] > 0    # the pointer's image, apart from the picture
        assert viewer.seen("desktop.cursor")                  # and its position
        screen = xscreen.grab()[:, :, 2::-1]
        region = (slice(0, 320), slice(0, 520))
        diff = np.abs(viewer.canvas[region].astype(int) - screen[region].astype(int))
        assert diff.mean() < 2, diff.mean()

        kinds = [k for k, _ in await events_of(host, s["id"])]
        assert "desktop.requested" in kinds and "desktop.granted" in kinds
    finally:
        await stop_agent(agent, task)


async def test_customer_stops_from_page_then_input_is_dropped_and_recorded(host, xscreen, tmp_path):
    """The customer page gives the command (fresh number + pairing code); stop from the page acts at once;
    input after revocation is dropped by the host (error) and would be refused by the agent too."""
    inputs = InputSpy()
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = MediaSocket(await rep.ws(s["id"]))
    cust = await host.client()
    await cust.join(s["number"], "Carla")
    cust_ws = MediaSocket(await cust.ws(s["id"]))
    cmd = await cust_ws.request({"type": "desktop.agent_command"})
    assert cmd["number"].isdigit() and cmd["pair"]
    agent, task = await start_agent(host, cmd["number"], consent=ScriptedConsent(Answer(True)),
                                    extra=[("input-spy", inputs)], name=cmd["name"], pair=cmd["pair"])
    try:
        state = await cust_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"])
        assert state["agents"][0]["side"] == "customer" and state["agents"][0]["owner"] == cust_ws.hello["you"]["id"]
        await rep_ws.request({"type": "desktop.request", "level": "control"})
        granted = await cust_ws.expect(lambda m: m.get("type") == "desktop.state" and m["grants"])
        assert granted["grants"][0]["viewer_name"] == "Rita Rep" and granted["grants"][0]["level"] == "control"
        aid = agent.me["id"]
        move = {"type": "desktop.input", "agent": aid, "events": [{"t": "move", "x": 3, "y": 4}]}
        await rep_ws.send(move)
        for _ in range(100):
            if inputs.calls:
                break
            await asyncio.sleep(0.05)
        assert inputs.calls == [("move", 3, 4)]

        stopped = await cust_ws.request({"type": "desktop.stop"})
        assert stopped["type"] == "desktop.stopped" and stopped["grants"] == 1
        err = await rep_ws.request(move)
        assert err["type"] == "error" and "do not have control" in err["error"]
        for _ in range(100):
            if not agent.features["desktop"].grants:
                break
            await asyncio.sleep(0.05)
        assert agent.features["desktop"].grants == {}
        # even if a host forwarded it now, the agent refuses it
        await agent.features["desktop"].on_input({"type": "desktop.input", "from": rep_ws.hello["you"]["id"],
                                                  "events": [{"t": "move", "x": 9, "y": 9}]})
        await asyncio.sleep(0.2)
        assert inputs.calls == [("move", 3, 4)]

        kinds = [(k, d) for k, d in await events_of(host, s["id"])]
        revoked = [d for k, d in kinds if k == "desktop.revoked"]
        assert revoked and revoked[0]["by"] == "Carla"
        audit = await host.db_read(lambda db: [r["action"] for r in db["audit_log"].rows_where("action like 'desktop.%'")])
        assert {"desktop.requested", "desktop.granted", "desktop.revoked", "desktop.violation_refused"} <= set(audit)
    finally:
        await stop_agent(agent, task)


async def test_stop_from_support_manager_and_control_handover(host, xscreen):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = MediaSocket(await rep.ws(s["id"]))
    agent, task = await start_agent(host, s["number"], consent=ScriptedConsent(Answer(True), Answer(True), Answer(True)))
    rep2 = await host.rep("rep2")
    try:
        await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"])
        added = await rep_ws.request({"type": "session.add_rep", "user_id": 3})
        assert added["type"] == "session.ok", added
        rep2_ws = MediaSocket(await rep2.ws(s["id"]))
        await rep_ws.request({"type": "desktop.request", "level": "control"})
        await rep_ws.expect(lambda m: m.get("type") == "desktop.answer")
        await rep2_ws.request({"type": "desktop.request", "level": "control"})
        state = await rep_ws.expect(lambda m: m.get("type") == "desktop.state"
                                    and sorted(g["level"] for g in m["grants"]) == ["control", "view"])
        levels = {g["viewer_name"]: g["level"] for g in state["grants"]}
        assert levels == {"Rita Rep": "view", "Sam Second": "control"}
        local = agent.features["desktop"].grants
        assert sorted(g["level"] for g in local.values()) == ["control", "view"]

        agent.stop_sharing()        # the Stop button of the Support Manager
        await asyncio.sleep(0)      # it stops locally at once, before the host hears of it
        assert agent.features["desktop"].grants == {}
        await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and not m["grants"])
        err = await rep2_ws.request({"type": "desktop.input", "agent": agent.me["id"],
                                     "events": [{"t": "move", "x": 1, "y": 1}]})
        assert "do not have control" in err["error"]
        kinds = [k for k, _ in await events_of(host, s["id"])]
        assert "desktop.control_handover" in kinds and kinds[-1] == "desktop.revoked"
    finally:
        await stop_agent(agent, task)


async def test_malformed_and_out_of_range_input_is_refused_by_the_host(host, xscreen):
    inputs = InputSpy()
    rep, s, rep_ws, agent, task = await session_with_agent(host, ScriptedConsent(Answer(True)),
                                                           extra=[("input-spy", inputs)], media=True)
    try:
        await rep_ws.request({"type": "desktop.request", "level": "control"})
        await rep_ws.expect(lambda m: m.get("type") == "desktop.answer")
        aid = agent.me["id"]
        bad = [
            ([{"t": "move", "x": 1280, "y": 10}], "outside the shared screen"),
            ([{"t": "move", "x": -1, "y": 10}], "outside the shared screen"),
            ([{"t": "button", "b": "fourth", "down": True, "x": 1, "y": 1}], "button must be"),
            ([{"t": "key", "code": "Key A;rm", "key": "a", "down": True}], "code must be"),
            ([{"t": "wheel", "dx": 0, "dy": 1000, "x": 1, "y": 1}], "wheel step"),
            ([{"t": "teleport"}], "unknown input event type"),
            ("click", "non-empty list"),
            ([{"t": "move", "x": 1, "y": 1}] * 201, "at most 200"),
        ]
        for events, text in bad:
            err = await rep_ws.request({"type": "desktop.input", "agent": aid, "events": events})
            assert err["type"] == "error" and text in err["error"], (events, err)
        assert (await rep_ws.request({"type": "session.ping"}))["type"] == "session.pong"
        await asyncio.sleep(0.3)
        assert inputs.calls == []
        err = await rep_ws.request({"type": "desktop.input", "agent": "nobody", "events": [{"t": "move", "x": 1, "y": 1}]})
        assert "no such shared screen" in err["error"]
        # only a Support Manager may send screen frames (a viewer cannot inject pictures)
        from host.router import make_binary
        await rep_ws.sock.ws.send_bytes(make_binary({"type": "desktop.frame", "seq": 1, "c": 0, "n": 1,
                                                     "w": 10, "h": 10}, b"x"))
        err = await rep_ws.expect(lambda m: m.get("type") == "error" and m.get("re") == "desktop.frame")
        assert "only a Support Manager" in err["error"]
    finally:
        await stop_agent(agent, task)


async def test_reconnect_asks_again_unless_all_requests_were_allowed(host, xscreen):
    consent = ScriptedConsent(Answer(True), Answer(True, all_requests=True))
    rep, s, rep_ws, agent, task = await session_with_agent(host, consent, media=True)
    try:
        await rep_ws.request({"type": "desktop.request", "level": "view"})
        await rep_ws.expect(lambda m: m.get("type") == "desktop.answer" and m["allow"])
        await agent.link.drop()
        await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"] and not m["grants"],
                            timeout=15)
        # the host drops the grant when the link goes; the Support Manager's own reconnect may come later
        for _ in range(300):   # and the host has taken its new hello (it drops the grant "by reconnect")
            if agent.link.connections == 2 and agent.features["desktop"].grants == {} and any(
                    k == "desktop.revoked" and d.get("by") == "reconnect" for k, d in await events_of(host, s["id"])):
                break
            await asyncio.sleep(0.05)
        assert agent.link.connections == 2 and agent.features["desktop"].grants == {}
        assert len(consent.asked) == 1
        # asked again: this time the customer allows all requests for this session
        await rep_ws.request({"type": "desktop.request", "level": "view"})
        await rep_ws.expect(lambda m: m.get("type") == "desktop.answer" and m["allow"])
        assert len(consent.asked) == 2
        await agent.link.drop()
        for _ in range(200):
            if agent.link.connections == 3 and any(e[0] == "desktop.granted" and e[1].get("restored")
                                                   for e in await events_of(host, s["id"])):
                break
            await asyncio.sleep(0.05)
        live = host.app[HUB].sessions[s["id"]]
        assert state_of(live, "desktop").grants == {(agent.me["id"], rep_ws.hello["you"]["id"]): "view"}
        assert len(consent.asked) == 2      # not asked again
        before = rep_ws.frames
        for _ in range(100):
            if rep_ws.frames > before:
                break
            try:
                await rep_ws.expect(lambda m: False, timeout=0.1)
            except TimeoutError:
                pass
        assert rep_ws.frames > before       # the picture flows again without a new question
        kinds = [(k, d) for k, d in await events_of(host, s["id"])]
        assert ("desktop.revoked", {"agent": agent.me["id"], "by": "reconnect", "viewers": ["Rita Rep"]}) in kinds
        assert any(k == "desktop.granted" and d.get("restored") for k, d in kinds)
    finally:
        await stop_agent(agent, task)


async def test_stalled_viewer_gets_frames_dropped_and_agent_memory_stays_flat(host, xscreen, tmp_path):
    """Two reps view an animating screen; one stops reading. The other keeps getting frames, the stalled
    one gets nothing new (frames dropped for it), and the agent (a real subprocess) does not grow."""
    import psutil
    from pathlib import Path
    import sys
    from test_desktop_e2e import ALLOW
    ALL = (40, 94)
    Recorder(xscreen, tmp_path / "rec.jsonl", animate=True)
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = MediaSocket(await rep.ws(s["id"]))
    await rep_ws.request({"type": "session.add_rep", "user_id": 3})
    rep2 = await host.rep("rep2")
    stalled = await rep2.ws(s["id"])          # this one will never read again
    proc = xscreen.spawn([str(Path(sys.executable).parent / "support-manager"), "join", f"{host.base}/s/demo",
                          s["number"], "--name", "Carla"], stdout=open(tmp_path / "agent.log", "w"),
                         stderr=open(tmp_path / "agent.err", "w"))
    try:
        await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"], timeout=15)
        await rep_ws.request({"type": "desktop.request", "level": "view"})
        dialog = await xscreen.wait_window("permission request")
        await asyncio.sleep(0.3)
        await xscreen.click_in_window(dialog, *ALL)        # "don't ask again" (for this rep viewing)
        await xscreen.click_in_window(dialog, *ALLOW)
        await rep_ws.expect(lambda m: m.get("type") == "desktop.answer" and m["allow"])
        await stalled.send({"type": "desktop.request", "level": "view"})    # another rep: asked again
        dialog = await xscreen.wait_window("permission request")
        await asyncio.sleep(0.3)
        await xscreen.click_in_window(dialog, *ALLOW)
        live = host.app[HUB].sessions[s["id"]]
        state = state_of(live, "desktop")
        stalled_id = stalled.hello["you"]["id"]
        agent_id = next(iter(state.agents))

        async def pump(seconds):
            end = asyncio.get_running_loop().time() + seconds
            while asyncio.get_running_loop().time() < end:
                try:
                    await rep_ws.expect(lambda m: False, timeout=0.1)
                except TimeoutError:
                    pass
        await pump(1.5)
        assert (agent_id, stalled_id) in state.grants
        agent_proc = psutil.Process(proc.pid)
        rss_before = agent_proc.memory_info().rss
        frames_before, stalled_before = rep_ws.frames, state.pace[(agent_id, stalled_id)].forwarded
        await pump(5)
        rss_after = agent_proc.memory_info().rss
        pace = state.pace[(agent_id, stalled_id)]
        assert rep_ws.frames - frames_before >= 10               # the healthy viewer is not held up
        assert pace.forwarded == stalled_before                  # nothing more went to the stalled one
        assert pace.dropped >= 10                                # its frames were dropped, not queued
        assert rss_after - rss_before < 15 * 1024 * 1024, (rss_before, rss_after)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except Exception:
            proc.kill()


async def test_display_mode_switches_live(host, xscreen, tmp_path):
    Recorder(xscreen, tmp_path / "rec.jsonl", animate=True)
    rep, s, rep_ws, agent, task = await session_with_agent(host, ScriptedConsent(Answer(True)))
    try:
        await rep_ws.request({"type": "desktop.request", "level": "view"})
        viewer = Viewer(rep_ws)
        await viewer.pump(lambda v: v.frames >= 3)
        assert viewer.scales == {1}                  # Standard: full resolution tiles
        await rep_ws.send({"type": "desktop.set_mode", "mode": "sampling", "id": "m1"})
        await viewer.pump(lambda v: v.seen("desktop.mode_set"))
        viewer.scales.clear()
        await viewer.pump(lambda v: v.frames >= 8 and 2 in v.scales)
        assert agent.features["desktop"].mode == "sampling"
        state = [m for m in viewer.texts if m.get("type") == "desktop.state"][-1]
        assert state["mode"] == "sampling"
        await rep_ws.send({"type": "desktop.set_mode", "mode": "turbo", "id": "m2"})
        await viewer.pump(lambda v: [m for m in v.texts if m.get("re") == "m2"])
        assert [m for m in viewer.texts if m.get("re") == "m2"][0]["type"] == "error"
        kinds = [k for k, _ in await events_of(host, s["id"])]
        assert "desktop.mode" in kinds
    finally:
        await stop_agent(agent, task)


async def test_rep_shares_own_screen_with_control_to_the_customer(host, xscreen):
    """Share view / Share control: the rep's own Support Manager (paired with the rep) shows the rep's
    screen to the customer, after the rep allowed it there; the customer's input reaches it."""
    inputs = InputSpy()
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = MediaSocket(await rep.ws(s["id"]))
    cust = await host.client()
    await cust.join(s["number"], "Carla")
    cust_ws = MediaSocket(await cust.ws(s["id"]))
    err = await rep_ws.request({"type": "desktop.share", "level": "view"})
    assert "start your own Support Manager first" in err["error"]
    cmd = await rep_ws.request({"type": "desktop.agent_command"})
    consent = ScriptedConsent(Answer(True))
    agent, task = await start_agent(host, cmd["number"], consent=consent, extra=[("input-spy", inputs)],
                                    name=cmd["name"], pair=cmd["pair"])
    try:
        state = await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"])
        assert state["agents"][0]["side"] == "rep"
        err = await cust_ws.request({"type": "desktop.request", "level": "view"})
        assert "only a rep" in err["error"]
        reply = await rep_ws.request({"type": "desktop.share", "level": "control"})
        assert reply["type"] == "desktop.requested"
        granted = await cust_ws.expect(lambda m: m.get("type") == "desktop.state" and m["grants"])
        assert granted["grants"][0]["viewer_name"] == "Carla" and granted["grants"][0]["level"] == "control"
        assert consent.asked[0].kind == "share" and "Carla" in consent.asked[0].question()
        for _ in range(100):
            if cust_ws.frames:
                break
            try:
                await cust_ws.expect(lambda m: False, timeout=0.1)
            except TimeoutError:
                pass
        assert cust_ws.frames >= 1 and rep_ws.frames == 0      # the customer sees it, not the rep's own page
        await cust_ws.send({"type": "desktop.input", "agent": agent.me["id"],
                            "events": [{"t": "key", "code": "ShiftLeft", "key": "Shift", "down": True},
                                       {"t": "key", "code": "ShiftLeft", "key": "Shift", "down": False}]})
        for _ in range(100):
            if len(inputs.calls) >= 2:
                break
            await asyncio.sleep(0.05)
        assert inputs.calls == [("key", "ShiftLeft", "Shift", True), ("key", "ShiftLeft", "Shift", False)]
        stopped = await rep_ws.request({"type": "desktop.stop"})
        assert stopped["grants"] == 1
    finally:
        await stop_agent(agent, task)


async def test_a_second_request_while_the_customer_decides_is_refused(host, xscreen):
    class Held(ScriptedConsent):
        def __init__(self):
            super().__init__(Answer(False))
            self.release = asyncio.Event()

        async def ask(self, request):
            self.asked.append(request)
            await self.release.wait()
            return Answer(False)
    consent = Held()
    rep, s, rep_ws, agent, task = await session_with_agent(host, consent)
    try:
        first = await rep_ws.request({"type": "desktop.request", "level": "view"})
        assert first["type"] == "desktop.requested"
        again = await rep_ws.request({"type": "desktop.request", "level": "control"})
        assert again["type"] == "error" and "still waiting" in again["error"]
        consent.release.set()
        answer = await rep_ws.expect(lambda m: m.get("type") == "desktop.answer")
        assert answer["allow"] is False and len(consent.asked) == 1
        kinds = [k for k, _ in await events_of(host, s["id"])]
        assert kinds.count("desktop.requested") == 1 and "desktop.denied" in kinds
    finally:
        await stop_agent(agent, task)


async def test_xdamage_names_the_rectangles_drawn_and_nothing_when_idle(xscreen):
    """The capture backend's damage(): what the X server says was drawn, so only that is grabbed."""
    import subprocess
    import sys

    from agent.backends_x11 import MssCapture
    cover = ("import tkinter as tk; r = tk.Tk(); r.geometry('100x80+300+200'); "
             "r.configure(background='#00ff00'); r.mainloop()")
    import concurrent.futures
    cap = MssCapture()
    loop = asyncio.get_running_loop()
    one = concurrent.futures.ThreadPoolExecutor(1)       # the backend is used from one thread, as the agent does
    try:
        assert await loop.run_in_executor(one, cap.damage, 0) is None     # first call: start listening
        await asyncio.sleep(0.3)
        await loop.run_in_executor(one, cap.damage, 0)                    # drain the start-up
        xscreen.spawn([sys.executable, "-c", cover], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rects = []
        for _ in range(50):
            rects += await loop.run_in_executor(one, cap.damage, 0.2)
            if any(x <= 300 and y <= 200 and x + w >= 400 and y + h >= 280 for x, y, w, h in rects):
                break
        assert any(x <= 300 and y <= 200 and x + w >= 400 and y + h >= 280 for x, y, w, h in rects), rects
        await asyncio.sleep(0.5)
        await loop.run_in_executor(one, cap.damage, 0)
        assert await loop.run_in_executor(one, cap.damage, 0.3) == []      # nothing drawn: nothing named
    finally:
        await loop.run_in_executor(one, cap.close)
        one.shutdown()
