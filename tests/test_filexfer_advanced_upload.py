"""The rep's upload to the customer's computer: resumable after a dropped connection, relayed to the
Support Manager while it arrives, and every kind of bad request refused with a clear error and no effect."""
from __future__ import annotations

import asyncio
import hashlib
import os
from urllib.parse import urlsplit

import pytest
from yarl import URL

from filexfer_advanced_helpers import (WAIT, P, granted_session, open_upload, put_part, sha256_of, stop_files_agent,
                                       until)
from plugins.filexfer_advanced.uploads import HAND_ON

MB = 1024 * 1024


@pytest.fixture
async def inbox(host, tmp_path):
    """A granted session whose Support Manager serves a folder with an empty inbox/."""
    root = tmp_path / "home"
    (root / "inbox").mkdir(parents=True)
    rep, s, ws, agent, task, _ = await granted_session(host, root)
    yield root, rep, s, ws, agent
    await stop_files_agent(agent, task)


async def cut_off_upload(rep, session_id: str, tid: str, offset: int, data: bytes, sent: int) -> None:
    """A PUT whose connection dies after ``sent`` bytes of its body (no FIN, no end of body), as when the
    rep's network drops: headers and part of the body go out over a real socket, then it is aborted."""
    url = rep.url(f"/s/demo/p/{P}/sessions/{session_id}/uploads/{tid}?offset={offset}")
    token = await rep.csrf("/s/demo/")
    parts = urlsplit(url)
    cookies = "; ".join(f"{k}={v.value}" for k, v in rep.http.cookie_jar.filter_cookies(URL(url)).items())
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    head = (f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\nCookie: {cookies}\r\n"
            f"X-CSRF-Token: {token}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {len(data)}\r\n\r\n")
    writer.write(head.encode())
    writer.write(data[:sent])
    await writer.drain()
    async with asyncio.timeout(WAIT):   # the host has read what was sent (it hands it on in blocks of HAND_ON)
        while (await status_of(rep, session_id, tid))["have"] < sent - HAND_ON:
            await asyncio.sleep(0.02)
    writer.transport.abort()


async def status_of(rep, session_id: str, tid: str) -> dict:
    r = await rep.http.get(rep.url(f"/s/demo/p/{P}/sessions/{session_id}/uploads/{tid}"))
    assert r.status == 200, await r.text()
    return await r.json()


async def test_a_cut_upload_resumes_from_what_the_host_has_and_is_relayed_meanwhile(host, inbox):
    root, rep, s, ws, agent = inbox
    data = os.urandom(48 * MB + 123)
    up = await open_upload(rep, s["id"], "setup.exe", len(data), folder="inbox")
    assert up["direction"] == "to_customer" and up["uploaded"] == 0
    await cut_off_upload(rep, s["id"], up["id"], 0, data, 20 * MB)
    async with asyncio.timeout(WAIT):   # the host notices the drop and keeps what arrived
        while (st := await status_of(rep, s["id"], up["id"]))["have"] != 20 * MB:
            await asyncio.sleep(0.05)
    have = st["have"]
    assert have == 20 * MB and not st["complete"]
    # the customer's computer already receives what the host has, before the upload is complete
    early = await ws.expect(lambda m: m.get("type") == f"{P}.progress" and m["id"] == up["id"] and m["done"] > 0)
    assert early["done"] <= have and not early["upload_complete"]
    # a resume from the wrong place is refused and says where to go on from
    r = await put_part(rep, s["id"], up["id"], 0, data)
    assert r.status == 409 and (await r.json())["have"] == have
    r = await put_part(rep, s["id"], up["id"], have, data[have:])
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["complete"] and body["sha256"] == hashlib.sha256(data).hexdigest()
    done = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed") and m["id"] == up["id"],
                           timeout=60)
    assert done["type"] == f"{P}.done", done
    assert done["upload_resumed_at"] == [20 * MB]
    assert sha256_of(root / "inbox" / "setup.exe") == hashlib.sha256(data).hexdigest()
    assert not [p for p in root.rglob("*") if p.name.endswith(".part")]
    assert not list(host.data_dir.joinpath(P, "tmp").glob("*.part"))   # the host's buffer is gone


async def test_bad_upload_requests_are_refused_and_change_nothing(host, inbox):
    root, rep, s, ws, agent = inbox
    token = await rep.csrf("/s/demo/")
    base = rep.url(f"/s/demo/p/{P}/sessions/{s['id']}/uploads")
    # opening: no size, a negative size, over the site's limit, a bad name, a bad modified time, no CSRF token
    for params, status, words in (({"name": "a.bin"}, 400, "size"),
                                  ({"name": "a.bin", "size": "-1"}, 400, "size"),
                                  ({"name": "a.bin", "size": str(5000 * MB)}, 413, "limit"),
                                  ({"name": "../a.bin", "size": "10"}, 400, ""),
                                  ({"name": "a\x00b", "size": "10"}, 400, ""),
                                  ({"name": "a.bin", "size": "10", "modified": "yesterday"}, 400, "modified")):
        r = await rep.http.post(base, params=params, headers={"X-CSRF-Token": token})
        assert r.status == status, (params, await r.text())
        assert words in (await r.json())["error"]["message"]
    r = await rep.http.post(base, params={"name": "a.bin", "size": "10"})
    assert r.status == 403
    assert not host.data_dir.joinpath(P, "tmp").exists() or not list(host.data_dir.joinpath(P, "tmp").iterdir())

    data = os.urandom(2 * MB)
    up = await open_upload(rep, s["id"], "a.bin", len(data), folder="inbox")
    # bytes: more than the file's size, an offset that is not a number, a gap, a foreign upload id
    r = await put_part(rep, s["id"], up["id"], 0, data + b"x")
    assert r.status == 400 and "size" in (await r.json())["error"]["message"]
    r = await rep.http.put(f"{base}/{up['id']}", params={"offset": "half"}, data=data,
                           headers={"X-CSRF-Token": token})
    assert r.status == 400 and "offset" in (await r.json())["error"]["message"]
    r = await put_part(rep, s["id"], up["id"], 1000, data[1000:])
    assert r.status == 409 and (await r.json())["have"] == 0
    r = await put_part(rep, s["id"], "0" * 32, 0, data)
    assert r.status == 404
    r = await rep.http.put(f"{base}/{up['id']}", params={"offset": "0"}, data=data)   # no CSRF token
    assert r.status == 403
    assert (await status_of(rep, s["id"], up["id"]))["have"] == 0
    # a wrong SHA-256 for the whole file: the transfer fails, nothing is kept anywhere
    r = await put_part(rep, s["id"], up["id"], 0, data, headers={"X-Content-SHA256": "0" * 64})
    assert r.status == 400 and "SHA-256" in (await r.json())["error"]["message"]
    failed = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed") and m["id"] == up["id"])
    assert failed["type"] == f"{P}.failed" and "SHA-256" in failed["error"]
    await until(lambda: not agent.features[P].receivers and not list((root / "inbox").iterdir()),
                "the Support Manager to drop the file")
    assert list((root / "inbox").iterdir()) == []
    assert not list(host.data_dir.joinpath(P, "tmp").glob("*.part"))
    r = await put_part(rep, s["id"], up["id"], 0, data)
    assert r.status == 404     # it is over: no more bytes are taken


async def test_an_empty_file_and_a_file_sent_in_several_parts(host, inbox):
    root, rep, s, ws, agent = inbox
    up = await open_upload(rep, s["id"], "empty.txt", 0, folder="inbox")
    done = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed") and m["id"] == up["id"])
    assert done["type"] == f"{P}.done" and (root / "inbox" / "empty.txt").read_bytes() == b""
    data = os.urandom(5 * MB + 7)
    up = await open_upload(rep, s["id"], "parts.bin", len(data), folder="inbox")
    for start in range(0, len(data), 2 * MB):
        r = await put_part(rep, s["id"], up["id"], start, data[start:start + 2 * MB])
        assert r.status == 200, await r.text()
    assert (await r.json())["complete"]
    done = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed") and m["id"] == up["id"])
    assert done["type"] == f"{P}.done", done
    assert (root / "inbox" / "parts.bin").read_bytes() == data
    assert done["upload_resumed_at"] == [2 * MB, 4 * MB]
