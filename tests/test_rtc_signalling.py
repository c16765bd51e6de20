"""Audio/video call signalling through the host, over real HTTP and WebSockets (no browser)."""
import asyncio
import json

import pytest
from yarl import URL

from conftest import start_host, stop_host
from host.records import session_record

SDP = ("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
       "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n")
CANDIDATE = {"candidate": "candidate:842163049 1 udp 1677729535 127.0.0.1 52000 typ host generation 0",
             "sdpMid": "0", "sdpMLineIndex": 0}


async def session_with_customer(host, rep_name="rep1", customer="Carla"):
    rep = await host.rep(rep_name)
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    cust = await host.client()
    assert (await cust.join(s["number"], customer)).status == 302
    cust_ws = await cust.ws(s["id"])
    return s, rep, rep_ws, cust, cust_ws


async def in_call(kind, rep_ws, cust_ws):
    started = await rep_ws.request({"type": f"{kind}.start"})
    assert started["type"] == f"{kind}.joined", started
    call = await cust_ws.expect(f"{kind}.call")
    assert call["active"] and call["started_by"]["id"] == rep_ws.hello["you"]["id"]
    joined = await cust_ws.request({"type": f"{kind}.join"})
    assert joined["type"] == f"{kind}.joined", joined
    return started, joined


def ids(rep_ws, cust_ws):
    return rep_ws.hello["you"]["id"], cust_ws.hello["you"]["id"]


@pytest.mark.parametrize("kind", ["audio", "video"])
async def test_offer_answer_and_candidates_are_relayed_between_members(host, kind):
    s, rep, rep_ws, cust, cust_ws = await session_with_customer(host)
    await in_call(kind, rep_ws, cust_ws)
    rep_id, cust_id = ids(rep_ws, cust_ws)
    await rep_ws.send({"type": f"{kind}.signal", "to": cust_id, "description": {"type": "offer", "sdp": SDP}})
    got = await cust_ws.expect(f"{kind}.signal")
    assert got["from"] == rep_id and got["description"] == {"type": "offer", "sdp": SDP}
    await cust_ws.send({"type": f"{kind}.signal", "to": rep_id, "candidate": CANDIDATE})
    got = await rep_ws.expect(f"{kind}.signal")
    assert got["from"] == cust_id and got["candidate"]["candidate"] == CANDIDATE["candidate"]


async def test_signalling_to_a_participant_of_another_session_is_refused(host):
    s1, rep, rep_ws, cust, cust_ws = await session_with_customer(host, "rep1", "Carla")
    s2, rep2, rep2_ws, cust2, cust2_ws = await session_with_customer(host, "rep2", "Otto")
    await in_call("audio", rep_ws, cust_ws)
    await in_call("audio", rep2_ws, cust2_ws)
    other = cust2_ws.hello["you"]["id"]
    reply = await rep_ws.request({"type": "audio.signal", "to": other,
                                  "description": {"type": "offer", "sdp": SDP}})
    assert reply["type"] == "error" and "not in this session" in reply["error"]
    # The participant of the other session got nothing; its own call goes on.
    await rep2_ws.send({"type": "audio.signal", "to": other, "description": {"type": "offer", "sdp": SDP}})
    got = await cust2_ws.expect("audio.signal")
    assert got["from"] == rep2_ws.hello["you"]["id"]
    assert not any(m.get("from") == rep_ws.hello["you"]["id"] for m in cust2_ws.seen)


BAD_SDP = [
    ({"description": {"type": "offer", "sdp": "hello"}}, "malformed SDP"),
    ({"description": {"type": "offer", "sdp": "v=0\r\n<script>\r\n"}}, "malformed SDP at line 2"),
    ({"description": {"type": "bogus", "sdp": SDP}}, "description type"),
    ({"description": "v=0"}, "description must be an object"),
    ({"candidate": CANDIDATE, "description": {"type": "offer", "sdp": SDP}}, "either a description"),
]
BAD_ICE = [
    ({"candidate": {"candidate": "candidate:1 1 udp 1 1.2.3.4 x typ host", "sdpMid": "0"}}, "malformed ICE"),
    ({"candidate": {"candidate": CANDIDATE["candidate"], "sdpMLineIndex": "zero"}}, "sdpMLineIndex"),
    ({"candidate": "candidate:1"}, "candidate must be an object"),
]


async def check_bad_signals(host, cases):
    s, rep, rep_ws, cust, cust_ws = await session_with_customer(host)
    await in_call("audio", rep_ws, cust_ws)
    rep_id, cust_id = ids(rep_ws, cust_ws)
    for bad, words in cases:
        reply = await cust_ws.request({"type": "audio.signal", "to": rep_id, **bad})
        assert reply["type"] == "error" and words in reply["error"], reply
        # Nothing was relayed, and the same call still carries good signalling.
        await cust_ws.send({"type": "audio.signal", "to": rep_id, "candidate": CANDIDATE})
        got = await rep_ws.expect("audio.signal")
        assert "candidate" in got and got["from"] == cust_id
        assert not [m for m in rep_ws.seen if m.get("type") == "audio.signal"]


async def test_malformed_sdp_is_an_error_to_the_sender_and_the_call_goes_on(host):
    await check_bad_signals(host, BAD_SDP)


async def test_malformed_ice_candidate_is_an_error_to_the_sender_and_the_call_goes_on(host):
    await check_bad_signals(host, BAD_ICE)


async def test_only_members_signal_and_only_reps_start(host):
    s, rep, rep_ws, cust, cust_ws = await session_with_customer(host)
    rep_id, cust_id = ids(rep_ws, cust_ws)
    reply = await cust_ws.request({"type": "audio.start"})
    assert reply["type"] == "error" and "only a rep" in reply["error"]
    reply = await cust_ws.request({"type": "audio.join"})
    assert reply["type"] == "error" and "no audio call is running" in reply["error"]
    await rep_ws.request({"type": "audio.start"})
    reply = await cust_ws.request({"type": "audio.signal", "to": rep_id, "candidate": CANDIDATE})
    assert reply["type"] == "error" and "join the audio call" in reply["error"]
    reply = await rep_ws.request({"type": "audio.signal", "to": cust_id, "candidate": CANDIDATE})
    assert reply["type"] == "error" and "not in the audio call" in reply["error"]


async def test_settings_switch_voip_off_and_ice_credentials_go_only_to_call_members(host):
    admin = await host.rep("admin")
    r = await admin.post_form("/s/demo/admin/settings/audio", {
        "allow_voip": "on", "ice_urls": "stun:stun.example.org:3478 turn:turn.example.org:3478?transport=udp bogus",
        "ice_username": "turnuser", "ice_credential": "s3cret-turn"})
    assert r.status == 200
    s, rep, rep_ws, cust, cust_ws = await session_with_customer(host)
    state = await cust_ws.request({"type": "audio.state"})
    assert "s3cret-turn" not in json.dumps(state)
    async with cust.http.get(cust.url(f"/s/demo/session/{s['id']}")) as page:
        html = await page.text()
        assert "s3cret-turn" not in html and "turnuser" not in html
        assert "/static/lib/calls/media.css" in html and "audio.panel" in html and "video.panel" in html
    for path in ("plugins/audio/audio.js", "lib/calls/rtc_mesh.js", "plugins/video/video.js", "lib/calls/media.css"):
        async with cust.http.get(cust.url(f"/static/{path}")) as r:
            assert r.status == 200, path
    async with admin.http.get(admin.url("/s/demo/admin")) as page:
        assert "s3cret-turn" not in await page.text()
    started, joined = await in_call("audio", rep_ws, cust_ws)
    assert joined["ice_servers"] == [
        {"urls": ["stun:stun.example.org:3478"]},
        {"urls": ["turn:turn.example.org:3478?transport=udp"], "username": "turnuser", "credential": "s3cret-turn"}]
    r = await admin.post_form("/s/demo/admin/settings/audio", {"ice_urls": "", "autostart": ""})
    assert r.status == 200  # allow_voip left unticked: VoIP off
    reply = await rep_ws.request({"type": "audio.join"})
    assert reply["type"] == "error" and "VoIP is switched off" in reply["error"]
    state = await rep_ws.request({"type": "audio.state"})
    assert state["allowed"] is False


async def test_video_limits_come_from_the_site_settings(host):
    admin = await host.rep("admin")
    r = await admin.post_form("/s/demo/admin/settings/video",
                              {"allow_video": "on", "max_resolution": "640x480", "max_fps": "10"})
    assert r.status == 200
    s, rep, rep_ws, cust, cust_ws = await session_with_customer(host)
    started, joined = await in_call("video", rep_ws, cust_ws)
    assert joined["media"] == {"max_width": 640, "max_height": 480, "max_fps": 10}


async def test_call_start_stop_and_who_took_part_are_in_the_session_record(host):
    s, rep, rep_ws, cust, cust_ws = await session_with_customer(host)
    rep_id, cust_id = ids(rep_ws, cust_ws)
    await in_call("audio", rep_ws, cust_ws)
    await in_call("video", rep_ws, cust_ws)
    assert (await cust_ws.request({"type": "audio.status", "muted": True}))["type"] == "audio.status_ok"
    members = await rep_ws.expect(lambda m: m.get("type") == "audio.members"
                                  and any(x["muted"] for x in m["members"]))
    assert [x["id"] for x in members["members"] if x["muted"]] == [cust_id]
    assert (await cust_ws.request({"type": "video.leave"}))["type"] == "video.left"
    assert (await rep_ws.request({"type": "video.stop"}))["type"] == "video.stopped"
    # The customer leaves the session: they leave the audio call with it; the rep ends the session.
    rep_ws.seen.clear()
    await cust_ws.send({"type": "session.leave"})
    await cust_ws.expect("session.you_left")
    await cust_ws.ws.receive()  # the host's close frame: answered, so the host can finish the leave
    members = await rep_ws.expect("audio.members")
    assert [m["id"] for m in members["members"]] == [rep_id]
    await rep_ws.send({"type": "session.end"})
    await rep_ws.expect("session.ended")
    await rep_ws.ws.receive()  # answer the close, so the host goes on with its session_ended hooks

    def kinds_of(db):
        return [r["kind"] for r in db["session_events"].rows_where("session_id = ?", [s["id"]], order_by="id")]
    for _ in range(100):  # the session_ended hooks run just after everybody was told
        kinds = await host.db_read(kinds_of)
        if "audio.stopped" in kinds and "video.stopped" in kinds:
            break
        await asyncio.sleep(0.02)
    columns = await session_record(host.app, s["id"])   # the session's record, with every plugin's columns
    assert [k for k in kinds if k.startswith("audio.")] == [
        "audio.started", "audio.joined", "audio.joined", "audio.left", "audio.left", "audio.stopped"]
    assert [k for k in kinds if k.startswith("video.")] == [
        "video.started", "video.joined", "video.joined", "video.left", "video.left", "video.stopped"]
    assert columns["audio_calls"] == 1 and columns["audio_participants"] == "Rita Rep, Carla"
    assert "UTC: Rita Rep, Carla" in columns["audio_times"] and "still running" not in columns["audio_times"]
    assert columns["video_calls"] == 1 and columns["video_participants"] == "Rita Rep, Carla"
    assert columns["chat_messages"] == 0


async def test_voip_starts_by_itself_when_the_site_says_so(host):
    admin = await host.rep("admin")
    r = await admin.post_form("/s/demo/admin/settings/audio", {"allow_voip": "on", "autostart": "on"})
    assert r.status == 200
    s, rep, rep_ws, cust, cust_ws = await session_with_customer(host)
    state = await rep_ws.request({"type": "audio.state"})
    assert state["active"] and state["auto_join"] and state["started_by"]["auto"]
    state = await cust_ws.request({"type": "audio.state"})
    assert state["active"] and not state["auto_join"]          # the customer is asked to accept
    joined = await rep_ws.request({"type": "audio.join"})
    assert joined["type"] == "audio.joined"
    events = await host.db_read(lambda db: [r["kind"] for r in db["session_events"].rows_where(
        "session_id = ? and kind like 'audio.%'", [s["id"]], order_by="id")])
    assert events == ["audio.started", "audio.joined"]


async def test_audio_and_video_switched_off_for_a_site_are_refused_there(host):
    admin = await host.rep("admin", site="other")
    r = await admin.post_form("/s/other/admin/plugins", {"plugin_chat": "on"}, csrf_from="/s/other/admin")
    assert r.status == 200 and {"audio", "video"} <= host.site("other").disabled
    rep = await host.rep("rep1", site="other")
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    for kind in ("audio", "video"):
        refused = await rep_ws.request({"type": f"{kind}.start"})
        assert refused["code"] == "disabled", refused
    async with rep.http.get(rep.url("/s/other/console")) as page:
        text = await page.text()
    assert "audio.panel" not in text and "video.panel" not in text


async def _come_back(host, old_clients, session_id: str):
    """The same people (their cookies) reconnecting to the restarted host."""
    socks = []
    for jar in old_clients:
        c = await host.client()
        c.http.cookie_jar.update_cookies(jar, response_url=URL(c.url("/s/demo/")))
        socks.append(await c.ws(session_id))
    return socks


def _jars(*clients):
    return [c.http.cookie_jar.filter_cookies(URL(c.url("/s/demo/"))) for c in clients]


async def test_a_call_goes_on_after_a_host_restart(tmp_path):
    data = tmp_path / "data"
    host = await start_host(data, grace_period=30)
    s, rep, rep_ws, cust, cust_ws = await session_with_customer(host)
    await in_call("audio", rep_ws, cust_ws)
    rep_id, cust_id = ids(rep_ws, cust_ws)
    jars = _jars(rep, cust)
    await stop_host(host)
    host = await start_host(data, grace_period=30)
    try:
        rep_ws, cust_ws = await _come_back(host, jars, s["id"])
        state = await cust_ws.request({"type": "audio.state"})
        assert state["active"] and state["started_by"]["id"] == rep_id and not state["me_member"]
        assert (await rep_ws.request({"type": "audio.join"}))["type"] == "audio.joined"
        joined = await cust_ws.request({"type": "audio.join"})
        assert sorted(m["id"] for m in joined["members"]) == sorted([rep_id, cust_id])
        await rep_ws.send({"type": "audio.signal", "to": cust_id, "description": {"type": "offer", "sdp": SDP}})
        assert (await cust_ws.expect("audio.signal"))["from"] == rep_id
        kinds = await host.db_read(lambda db: [r["kind"] for r in db["session_events"].rows_where(
            "session_id = ? and kind like 'audio.%'", [s["id"]], order_by="id")])
        assert kinds.count("audio.started") == 1          # the same call, not a new one
    finally:
        await stop_host(host)


async def test_a_call_nobody_comes_back_to_after_a_restart_stops(tmp_path):
    data = tmp_path / "data"
    host = await start_host(data, grace_period=0.5)
    s, rep, rep_ws, cust, cust_ws = await session_with_customer(host)
    await in_call("video", rep_ws, cust_ws)
    jars = _jars(cust)
    await stop_host(host)
    host = await start_host(data, grace_period=0.5)
    try:
        (cust_ws,) = await _come_back(host, jars, s["id"])
        assert (await cust_ws.request({"type": "video.state"}))["active"]
        ended = await cust_ws.expect(lambda m: m.get("type") == "video.call" and not m["active"], timeout=5)
        assert ended["reason"] == "nobody came back"
        stopped = await host.db_read(lambda db: [json.loads(r["details"]) for r in db["session_events"].rows_where(
            "session_id = ? and kind = 'video.stopped'", [s["id"]])])
        assert stopped == [{"reason": "nobody came back"}]
    finally:
        await stop_host(host)
