"""The core traffic observer (host.api.observe_traffic) and the traffic_refresh hook, on a real host: a chat
between a rep and a customer, and desktop sharing from the real Support Manager on a real X screen."""
from __future__ import annotations

import asyncio

import pytest

from host import traffic as traffic_module
from agent.consent import Answer
from agent_harness import ScriptedConsent, start_agent, stop_agent
from host import api
from host.router import parse_binary
from test_desktop_sharing import Viewer
from xscreen import xscreen  # noqa: F401  (fixture)


async def chat_session(host):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    cust = await host.client()
    assert (await cust.join(s["number"], "Carla Customer")).status == 302
    cust_ws = await cust.ws(s["id"])
    return s, rep_ws, cust_ws


@pytest.mark.supporthost(plugins=["chat"])
async def test_an_observer_sees_messages_in_and_out_in_order_until_it_unsubscribes(host):
    s, rep_ws, cust_ws = await chat_session(host)
    live = api.live_session(host.app, s["id"])
    seen = []
    stop = api.observe_traffic(host.app, s["id"], seen.append)

    await cust_ws.request({"type": "chat.send", "text": "my printer is on fire"})
    await rep_ws.expect("chat.message")
    kinds = [(r.direction, r.kind, (r.message or {}).get("type")) for r in seen]
    assert kinds == [("in", "json", "chat.send"), ("out", "json", "chat.message"), ("out", "json", "chat.ack")]
    got_in, broadcast, ack = seen
    customer_id = cust_ws.hello["you"]["id"]
    assert got_in.participant_id == customer_id and got_in.message["text"] == "my printer is on fire"
    assert broadcast.participant_id is None and broadcast.to == [rep_ws.hello["you"]["id"]]
    assert broadcast.message["message"]["text"] == "my printer is on fire"
    assert ack.to == [customer_id] and '"chat.ack"' in ack.text
    assert got_in.t <= broadcast.t <= ack.t

    stop()
    stop()          # twice is harmless
    await cust_ws.request({"type": "chat.send", "text": "never mind"})
    await rep_ws.expect("chat.message")
    assert len(seen) == 3 and live.observers == []

    with pytest.raises(LookupError):
        api.observe_traffic(host.app, "no-such-session", seen.append)


@pytest.mark.supporthost(plugins=["chat"])
async def test_nothing_is_built_while_nobody_observes_and_a_failing_observer_is_dropped(host, monkeypatch):
    s, rep_ws, cust_ws = await chat_session(host)

    class NoRecord:
        def __init__(self, *args):
            raise AssertionError("a traffic record was built while nobody observes")
    monkeypatch.setattr(traffic_module, "TrafficRecord", NoRecord)
    await cust_ws.request({"type": "chat.send", "text": "hello"})
    await rep_ws.expect("chat.message")
    monkeypatch.undo()

    def broken(record):
        raise RuntimeError("observer bug")
    good = []
    api.observe_traffic(host.app, s["id"], broken)
    api.observe_traffic(host.app, s["id"], good.append)
    await cust_ws.request({"type": "chat.send", "text": "still there?"})
    assert (await rep_ws.expect("chat.message"))["message"]["text"] == "still there?"   # the session goes on
    live = api.live_session(host.app, s["id"])
    assert live.observers == [good.append] and len(good) == 3


async def test_hook_traffic_refresh_asks_the_sharing_support_manager_for_a_full_frame(host, xscreen):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    agent, task = await start_agent(host, s["number"], consent=ScriptedConsent(Answer(True)))
    try:
        await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"])
        live = api.live_session(host.app, s["id"])
        site = api.site_by_id(host.app, live.site_id)
        # nothing shared yet: the hook has nothing to ask for and sends nothing
        assert await api.call_hook(host.app, "traffic_refresh", site, app=host.app, session=live) == []

        await rep_ws.request({"type": "desktop.request", "level": "view"})
        viewer = Viewer(rep_ws)
        await viewer.pump(lambda v: v.frames >= 1)
        try:                                # the still screen sends nothing more once drawn
            await viewer.pump(lambda v: False, timeout=1.5)
        except TimeoutError:
            pass
        frames = []

        def watch(record):
            if record.kind == "binary" and record.direction == "out":
                header, _payload = parse_binary(record.frame)
                if header["type"] == "desktop.frame":
                    frames.append(header)
        api.observe_traffic(host.app, s["id"], watch)
        before = viewer.frames
        await api.call_hook(host.app, "traffic_refresh", site, app=host.app, session=live)
        await viewer.pump(lambda v: v.frames > before and frames)
        first = frames[0]
        assert first.get("c", 0) == 0 and first["w"] > 0 and first["h"] > 0     # a full frame names its size
        assert first["from"] == agent.me["id"]
    finally:
        await stop_agent(agent, task)


@pytest.mark.supporthost(plugins=["chat"])
async def test_a_frame_the_host_makes_for_one_participant_is_sent_and_observed(host):
    s, rep_ws, cust_ws = await chat_session(host)
    live = api.live_session(host.app, s["id"])
    hub = api.sessions(host.app)
    customer_id = cust_ws.hello["you"]["id"]
    frame = api.make_binary({"type": "probe.put", "o": 0}, b"\x00\x01payload")
    got = []

    async def arrived(f):
        got.append(f)

    async def received(n):       # the customer's socket gets the frames (a ping between them shows the order)
        await cust_ws.request({"type": "session.ping"}, on_binary=arrived)
        assert got == [frame] * n
    assert hub.send_bytes(live, customer_id, frame) is True       # nobody observes: just sent
    await received(1)
    seen = []
    stop = api.observe_traffic(host.app, s["id"], seen.append)
    assert hub.send_bytes(live, customer_id, frame) is True
    await received(2)
    assert hub.send_bytes(live, "nobody-here", frame) is False
    stop()
    assert [(r.direction, r.kind, r.to, r.frame) for r in seen if r.kind == "binary"] == [
        ("out", "binary", [customer_id], frame)]
