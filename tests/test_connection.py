"""One participant's connection: a reader that stops reading never holds up the others, and is closed
with 1013 once its bounded send queue overflows. The slow reader is a raw TCP client that does the
WebSocket handshake by hand and then simply stops reading its socket, so nothing in a client library
reads on its behalf; small kernel buffers on both ends stand in for a slow link."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct

from conftest import start_host, stop_host

from host.appkeys import HUB


async def _raw_websocket(host, path: str, cookie: str):
    """Open a WebSocket by hand on a socket with a small receive buffer; returns (reader, writer)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    port = int(host.base.rsplit(":", 1)[1])
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=4096)  # pauses reading at 8 KiB
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Origin: {host.base}\r\nCookie: {cookie}\r\n\r\n").encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def _frames(reader) -> tuple[list[dict], int]:
    """Text frames (as JSON) until the close frame, and the close code."""
    out = []
    while True:
        b0, b1 = await reader.readexactly(2)
        length = b1 & 0x7F
        if length == 126:
            length = struct.unpack("!H", await reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", await reader.readexactly(8))[0]
        payload = await reader.readexactly(length)
        if b0 & 0x0F == 0x8:
            return out, struct.unpack("!H", payload[:2])[0]
        if b0 & 0x0F == 0x1:
            out.append(json.loads(payload))


async def test_a_reader_that_stops_reading_holds_nobody_up_and_is_closed_with_1013(tmp_path, caplog):
    host = await start_host(tmp_path / "data", send_queue_size=16)
    raw_writer = None
    try:
        rep = await host.rep()
        s = await rep.start_session()
        rep_ws = await rep.ws(s["id"])
        slow = await host.client()
        assert (await slow.join(s["number"], "Slow Sid")).status == 302
        cookie = next(f"{c.key}={c.value}" for c in slow.http.cookie_jar if c.key.startswith("shp_"))
        reader, raw_writer = await _raw_websocket(host, f"/s/demo/ws/session/{s['id']}", cookie)
        slow_id = (await rep_ws.expect(lambda m: m["type"] == "session.participants" and any(
            p["name"] == "Slow Sid" and p["online"] for p in m["participants"])))
        slow_id = next(p["id"] for p in slow_id["participants"] if p["name"] == "Slow Sid")

        extra = await rep_ws.request({"type": "session.new_number"})
        fast = await host.client()
        assert (await fast.join(extra["number"], "Fast Fay")).status == 302
        fast_ws = await fast.ws(s["id"])

        # A slow link: the host's kernel buffer towards Slow Sid is kept small (on loopback it would
        # otherwise grow to 4 MB, which takes long to fill), so the host's own queue fills soon.
        live = host.app[HUB].sessions[s["id"]]
        slow_conn = live.participants[slow_id].conn
        slow_conn.ws._req.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)

        # Fast Fay sends 96 messages of 20000 characters, 8 at a time; the rep receives every one
        # while Slow Sid reads nothing.
        admin = await host.rep("admin")
        r = await admin.post_form("/s/demo/admin/settings/chat", {"max_length": "20000", "rep_chat": "on"},
                                  csrf_from="/s/demo/admin")
        assert r.status == 200
        n, window = 96, 8
        for start in range(0, n, window):
            texts = [os.urandom(10000).hex() for _ in range(window)]
            for i, text in enumerate(texts):
                await fast_ws.send({"type": "chat.send", "text": text, "id": f"m{start + i}"})
            for i in range(window):
                await fast_ws.expect(lambda m, i=i: m.get("re") == f"m{start + i}", timeout=20)
            for text in texts:
                got = await rep_ws.expect("chat.message", timeout=20)
                assert got["message"]["text"] == text
        assert slow_conn.closed
        assert len([r for r in caplog.records if "too slow" in r.getMessage()]) == 1  # closed once

        # The host gave up on Slow Sid: offline for the others, its connection closed.
        async with asyncio.timeout(10):
            while live.participants[slow_id].conn is not None:
                await asyncio.sleep(0.05)
        await rep_ws.expect(lambda m: m["type"] == "session.participants" and any(
            p["id"] == slow_id and not p["online"] for p in m["participants"]))
        # When it reads again it finds what had been sent before, then the close frame: 1013.
        frames, code = await asyncio.wait_for(_frames(reader), 10)
        assert code == 1013
        assert frames[0]["type"] == "session.hello"
        # It did not get everything: it must reconnect and catch up from history.
        assert len([f for f in frames if f["type"] == "chat.message"]) < n
        # The session goes on for the others.
        assert (await rep_ws.request({"type": "session.ping"}))["type"] == "session.pong"
        # Slow Sid keeps its identity and can come back (within the grace period) and catch up.
        back = await slow.ws(s["id"])
        assert back.hello["you"]["id"] == slow_id
        assert (await back.request({"type": "session.ping"}))["type"] == "session.pong"
        assert await host.db_read(lambda db: db["chat_messages"].count) == n
    finally:
        if raw_writer is not None:
            raw_writer.close()
        await stop_host(host)


async def test_ending_a_session_with_a_peer_that_never_answers_reaches_everybody(host):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    mute = await host.client()
    assert (await mute.join(s["number"], "Mute Mo")).status == 302
    cookie = next(f"{c.key}={c.value}" for c in mute.http.cookie_jar if c.key.startswith("shp_"))
    reader, raw_writer = await _raw_websocket(host, f"/s/demo/ws/session/{s['id']}", cookie)
    try:
        extra = await rep_ws.request({"type": "session.new_number"})
        other = await host.client()
        await other.join(extra["number"], "Olga")
        other_ws = await other.ws(s["id"])
        await rep_ws.send({"type": "session.end"})
        for sock in (rep_ws, other_ws):
            await sock.expect("session.ended")
            msg = await sock.ws.receive(timeout=10)
            assert msg.type.name in ("CLOSE", "CLOSED") and sock.ws.close_code == 1000
        # The peer that never answers finds the end and the close frame when it reads.
        frames, code = await asyncio.wait_for(_frames(reader), 10)
        assert code == 1000 and frames[-1]["type"] == "session.ended"
        row = await host.db_read(lambda db: db["support_sessions"].get(s["id"]))
        assert row["state"] == "ended"
    finally:
        raw_writer.close()
