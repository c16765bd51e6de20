"""Basic file transfer when things go wrong, on real disk: an upload whose connection drops half-way
leaves no file, no temp file and no row; uploads into an ended session, without a file or not as
multipart are refused with a clear error and change nothing."""
from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from test_filexfer_basic import publish, rows, session_with_customer, stored

MB = 1024 * 1024


async def test_an_upload_whose_connection_drops_leaves_nothing_behind(host):
    rep, s, _rep_ws, _customer, cust_ws = await session_with_customer(host)
    csrf = await rep.csrf("/s/demo/")
    path = f"/s/demo/p/filexfer_basic/sessions/{s['id']}/files"
    cookies = "; ".join(f"{k}={m.value}" for k, m in rep.http.cookie_jar.filter_cookies(URL(host.base + path)).items())
    boundary = "----supporthost-test-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = 8 * MB
    where = urlsplit(host.base)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    writer.write((f"POST {path} HTTP/1.1\r\n"
                  f"Host: {where.netloc}\r\nCookie: {cookies}\r\nX-CSRF-Token: {csrf}\r\n"
                  f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                  f"Content-Length: {len(head) + size + len(tail)}\r\n\r\n").encode() + head)
    writer.write(os.urandom(2 * MB))          # a quarter of the file, then the connection is gone
    await writer.drain()
    async with asyncio.timeout(20):
        while not stored(host)[1]:             # the host is writing it to a temp file
            await asyncio.sleep(0.02)
    writer.transport.abort()
    async with asyncio.timeout(20):
        while stored(host) != ([], []):        # the temp file is removed, nothing reached its final name
            await asyncio.sleep(0.02)
    assert await rows(host, s["id"]) == []
    listed = await cust_ws.request({"type": "filexfer_basic.list"})
    assert listed["files"] == []
    assert not any(m.get("type") == "filexfer_basic.added" for m in cust_ws.seen)

    status, body = await publish(rep, s["id"], [("after.txt", b"fine")])   # the next upload works
    assert status == 201 and [f["name"] for f in body["files"]] == ["after.txt"]


async def test_uploads_that_cannot_be_published_are_refused_and_change_nothing(host):
    rep, s, rep_ws, _customer, _cust_ws = await session_with_customer(host)
    url = rep.url(f"/s/demo/p/filexfer_basic/sessions/{s['id']}/files")
    headers = {"X-CSRF-Token": await rep.csrf("/s/demo/")}
    r = await rep.http.post(url, data=b"just bytes", headers={**headers, "Content-Type": "application/octet-stream"})
    assert r.status == 400 and "multipart/form-data" in (await r.json())["error"]["message"]
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("comment", "no file here")
    r = await rep.http.post(url, data=form, headers=headers)
    assert r.status == 400 and "Choose at least one file" in (await r.json())["error"]["message"]
    assert await rows(host, s["id"]) == [] and stored(host)[0] == []

    await rep_ws.send({"type": "session.end"})
    await rep_ws.expect("session.ended")
    status, body = await publish(rep, s["id"], [("late.txt", b"too late")])
    assert (status, body["error"]["message"]) in ((410, "This session has ended."),
                                                  (403, "Only a rep in this session can do this.")), body
    assert await rows(host, s["id"]) == [] and stored(host) == ([], [])
