"""Bad input gets a clear 4xx, never a 500, and every error answer carries the security headers; a body
is refused from its headers before it is read, and a refused request leaves nothing behind (issue 11,
defects 2 and 7)."""
from __future__ import annotations

import gc
import os
import sqlite3

import aiohttp
import pytest
from aiohttp import web

from conftest import PASSWORD

HEADERS = {"Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY",
           "X-Content-Type-Options": "nosniff"}
FORM = "application/x-www-form-urlencoded"


def assert_secured(r: aiohttp.ClientResponse) -> None:
    for name, part in HEADERS.items():
        assert part in r.headers.get(name, ""), f"{r.status} answer without {name}"


def multipart(filename: bytes, data: bytes = b"hello") -> bytes:
    return (b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename +
            b"\"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n--BOUNDARY--\r\n")


async def upload(client, sid: str, body: bytes):
    token = await client.csrf("/s/demo/")
    return await client.http.post(client.url(f"/s/demo/p/filexfer_basic/sessions/{sid}/files"), data=body,
                                  headers={"X-CSRF-Token": token,
                                           "Content-Type": "multipart/form-data; boundary=BOUNDARY"})


def kept_files(host) -> list[str]:
    root = host.data_dir / "filexfer_basic"
    return [p.name for d in ("files", "tmp") if (root / d).is_dir() for p in (root / d).iterdir()]


async def test_deeply_nested_json_is_a_clear_400_with_the_headers(host):
    rep = await host.rep()
    token = await rep.csrf("/s/demo/")
    deep = "[" * 5000 + "]" * 5000
    for path in ("/s/demo/join", "/s/demo/logout", "/s/demo/api/sessions"):
        r = await rep.http.post(rep.url(path), data='{"a": ' + deep + "}",
                                headers={"Content-Type": "application/json", "X-CSRF-Token": token})
        body = await r.json()
        assert r.status in (400, 422), (path, r.status, body)
        assert "nested too deeply" in body["error"]["message"]
        assert_secured(r)


async def test_a_report_for_year_one_is_a_clear_400(host):
    """(The HTTP API's report reads the same filters: plugins/report/filters.py.)"""
    rep = await host.rep()
    for query in ("to=0001-01-01", "from=0001-01-01&to=0001-01-30", "to=9999-12-31", "rep=99999999999999999999"):
        async with rep.http.get(rep.url(f"/s/demo/p/report/?{query}")) as r:
            text = await r.text()
            assert r.status == 400, (query, r.status, text[:300])
            assert "choose a day between" in text or "choose a rep from the list" in text
            assert_secured(r)


@pytest.mark.parametrize("name", [b"evil\x00name.txt", b"n" * 10_000], ids=["nul", "10000-chars"])
async def test_an_upload_with_a_bad_name_is_a_clear_400_and_keeps_nothing(host, name):
    rep = await host.rep()
    s = await rep.start_session()
    r = await upload(rep, s["id"], multipart(name))
    body = await r.json()
    assert r.status == 400, body
    assert "name or part header is not valid" in body["error"]["message"]
    assert_secured(r)
    assert kept_files(host) == []
    assert await host.db_read(lambda db: db["published_files"].count) == 0


async def test_oversized_and_chunked_form_bodies_are_refused_before_reading(host):
    c = await host.client()
    token = await c.csrf("/s/demo/login")
    r = await c.http.post(c.url("/s/demo/login"), data={"username": "rep1", "password": "x" * 20_000,
                                                        "csrf_token": token})
    assert r.status == 413 and "at most 16 kB" in await r.text()
    assert_secured(r)

    async def chunks():
        yield f"csrf_token={token}&username=rep1&password=".encode()
        yield PASSWORD.encode()
    r = await c.http.post(c.url("/s/demo/login"), data=chunks(), headers={"Content-Type": FORM})
    assert r.status == 411 and "Content-Length" in await r.text()
    assert_secured(r)
    # the same login within the limit works
    r = await c.http.post(c.url("/s/demo/login"), data={"username": "rep1", "password": PASSWORD,
                                                        "csrf_token": token}, allow_redirects=False)
    assert r.status == 302


async def test_a_form_that_is_not_utf8_is_a_clear_400(host):
    c = await host.client()
    await c.csrf("/s/demo/login")
    for path in ("/s/demo/login", "/s/demo/join"):
        r = await c.http.post(c.url(path), data=b"username=\xff\xfe&password=x", headers={"Content-Type": FORM})
        assert r.status == 400 and "could not be read" in await r.text()
        assert_secured(r)
    r = await c.http.post(c.url("/s/demo/login"), data=b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n" +
                          b"X: " + b"y" * 10_000 + b"\r\n\r\nx\r\n--B--\r\n",
                          headers={"Content-Type": "multipart/form-data; boundary=B"})
    assert r.status == 400
    assert_secured(r)


async def test_a_form_without_the_csrf_cookie_is_refused_before_its_body_is_read(host):
    async with aiohttp.ClientSession() as http:   # no cookie at all
        r = await http.post(f"{host.base}/s/demo/login", data=b"username=rep1&password=" + b"x" * 10_000,
                            headers={"Content-Type": FORM})
        assert r.status == 403 and "CSRF" in await r.text()
        assert_secured(r)


async def test_unknown_pages_and_redirects_carry_the_headers(host):
    c = await host.client()
    async with c.http.get(c.url("/s/demo/no-such-page")) as r:
        assert r.status == 404
        assert_secured(r)
    async with c.http.get(c.url("/s/demo/console"), allow_redirects=False) as r:
        assert r.status == 302
        assert_secured(r)


def live_requests() -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, web.BaseRequest))


async def test_a_refused_request_is_freed_without_the_garbage_collector(host):
    """The CSRF refusal of a body that was read: with the collector off, nothing of the request may be
    kept alive by a reference cycle (exception -> traceback -> frame -> exception)."""
    admin = await host.rep("admin")
    await admin.csrf("/s/demo/admin")          # the CSRF cookie is there; the token sent is wrong
    url = admin.url("/s/demo/admin/users")
    body = {"username": "newrep", "display_name": "x" * 100_000, "csrf_token": "wrong"}
    gc.collect()
    gc.disable()
    try:
        before = live_requests()
        for _ in range(5):
            r = await admin.http.post(url, data=body)
            assert r.status == 403
            r.release()
        after = live_requests()
    finally:
        gc.enable()
    assert after - before <= 1, f"{after - before} requests kept alive by reference cycles"
