"""Basic file transfer over real HTTP and WebSockets, files on disk: publish, live list, download by
participants only, limits (nothing stored when refused), SHA-256, retention cleanup with a FakeClock."""
from __future__ import annotations

import asyncio
import hashlib
import os

import aiohttp

from conftest import FakeClock, start_host, stop_host
from host.records import session_record
from plugins.filexfer_basic import cleanup

MB = 1024 * 1024
DEFAULTS = {"max_file_mb": "100", "site_total_mb": "2000", "retention_hours": "24"}


async def configure(host, **values):
    admin = await host.rep("admin")
    r = await admin.post_form("/s/demo/admin/settings/filexfer_basic", {**DEFAULTS, **values})
    assert r.status == 200, await r.text()


async def publish(client, sid: str, files: list[tuple[str, bytes]], csrf: bool = True):
    form = aiohttp.FormData(quote_fields=False)   # file names as browsers send them
    for name, data in files:
        form.add_field("file", data, filename=name, content_type="application/octet-stream")
    headers = {"X-CSRF-Token": await client.csrf("/s/demo/")} if csrf else {}
    r = await client.http.post(client.url(f"/s/demo/p/filexfer_basic/sessions/{sid}/files"), data=form,
                               headers=headers)
    body = await r.json() if r.content_type == "application/json" else {"error": await r.text()}
    return r.status, body


def stored(host) -> tuple[list, list]:
    root = host.data_dir / "filexfer_basic"
    names = lambda d: sorted(os.listdir(root / d)) if (root / d).is_dir() else []  # noqa: E731
    return names("files"), names("tmp")


async def rows(host, sid):
    return await host.db_read(lambda db: list(db["published_files"].rows_where("session_id = ?", [sid])))


async def session_with_customer(host):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    customer = await host.client()
    await customer.join(s["number"], "Carla")
    cust_ws = await customer.ws(s["id"])
    return rep, s, rep_ws, customer, cust_ws


async def test_publish_appears_live_and_the_customer_downloads_it(host):
    rep, s, rep_ws, customer, cust_ws = await session_with_customer(host)
    big = os.urandom(700 * 1024)
    status, body = await publish(rep, s["id"], [("report ü.pdf", big), ("../../etc/passwd", b"not really")])
    assert status == 201, body
    names = [f["name"] for f in body["files"]]
    assert names == ["report ü.pdf", "passwd"]
    assert body["files"][0]["sha256"] == hashlib.sha256(big).hexdigest()

    added = await cust_ws.expect("filexfer_basic.added")
    assert [f["name"] for f in added["files"]] == names
    listed = await cust_ws.request({"type": "filexfer_basic.list"})
    assert [f["sha256"] for f in listed["files"]] == [f["sha256"] for f in body["files"]]

    async with customer.http.get(customer.url(added["files"][0]["url"])) as r:
        assert r.status == 200
        data = await r.read()
        assert r.headers["X-Content-SHA256"] == hashlib.sha256(big).hexdigest()
        assert "filename*=UTF-8''report%20%C3%BC.pdf" in r.headers["Content-Disposition"]
        assert r.headers["Content-Type"] == "application/octet-stream"
    assert data == big

    files, temps = stored(host)
    assert len(files) == 2 and temps == []
    assert not any("passwd" in f or "report" in f for f in files)   # server-made names
    assert not (host.data_dir.parent / "etc").exists()
    record = await session_record(host.app, s["id"])
    assert "report ü.pdf (716800 bytes" in record["files"]


async def test_only_participants_of_the_session_download(host):
    rep, s, _rep_ws, customer, _cust_ws = await session_with_customer(host)
    _status, body = await publish(rep, s["id"], [("a.txt", b"secret")])
    url = body["files"][0]["url"]
    stranger = await host.client()
    other_rep = await host.rep("rep2")
    other_site = await host.rep("rep1", site="other")
    for who in (stranger, other_rep):
        async with who.http.get(who.url(url)) as r:
            assert r.status == 403 and "Only the participants" in await r.text()
    async with other_site.http.get(other_site.url(url.replace("/s/demo/", "/s/other/"))) as r:
        assert r.status == 404
    # a customer of another session of the same site
    s2 = await other_rep.start_session()
    other_customer = await host.client()
    await other_customer.join(s2["number"], "Olga")
    async with other_customer.http.get(other_customer.url(url)) as r:
        assert r.status == 403
    # nobody but the session's reps publishes
    status, _ = await publish(customer, s["id"], [("x.txt", b"x")])
    assert status in (401, 403)
    status, _ = await publish(other_rep, s["id"], [("x.txt", b"x")])
    assert status == 403
    status, body = await publish(rep, s["id"], [("x.txt", b"x")], csrf=False)
    assert status == 403 and "CSRF" in body["error"]["message"] and body["error"]["code"] == "csrf"
    assert len(await rows(host, s["id"])) == 1


async def test_over_the_file_limit_is_refused_and_nothing_is_stored(host):
    await configure(host, max_file_mb="1")
    rep, s, _rep_ws, _customer, cust_ws = await session_with_customer(host)
    status, body = await publish(rep, s["id"], [("small.txt", b"ok"), ("big.bin", os.urandom(MB + 1))])
    assert status == 413
    assert body["error"]["message"] == "big.bin is larger than 1 MB, the limit for one file on this site. Nothing was published."
    assert await rows(host, s["id"]) == [] and stored(host) == ([], [])
    status, _ = await publish(rep, s["id"], [("empty.txt", b"")])   # an empty file is fine
    assert status == 201


async def test_over_the_site_total_is_refused_and_nothing_is_stored(host):
    await configure(host, max_file_mb="2", site_total_mb="2")
    rep, s, _rep_ws, _customer, _cust_ws = await session_with_customer(host)
    status, _ = await publish(rep, s["id"], [("one.bin", os.urandom(1200 * 1024))])
    assert status == 201
    status, body = await publish(rep, s["id"], [("two.bin", os.urandom(1000 * 1024))])
    error = body["error"]["message"]
    assert status == 413 and "space this site allows" in error and "Nothing was published" in error
    assert [r["name"] for r in await rows(host, s["id"])] == ["one.bin"]
    files, temps = stored(host)
    assert len(files) == 1 and temps == []


async def test_files_are_deleted_when_retention_ends(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock)
    try:
        await configure(host, retention_hours="2")
        rep, s, rep_ws, customer, _cust_ws = await session_with_customer(host)
        _status, body = await publish(rep, s["id"], [("log.txt", b"lines")])
        url = body["files"][0]["url"]
        clock.advance(5 * 3600)
        assert await cleanup.run_once(host.app) == []      # the session is still going: files kept
        await rep_ws.send({"type": "session.end"})
        await rep_ws.expect("session.ended")
        clock.advance(3600)
        assert await cleanup.run_once(host.app) == []      # ended an hour ago, kept for two
        assert len(stored(host)[0]) == 1
        clock.advance(3601)
        assert await cleanup.run_once(host.app) == [body["files"][0]["id"]]
        assert stored(host) == ([], [])
        row = (await rows(host, s["id"]))[0]
        assert row["deleted_at"] == clock.now and row["delete_reason"] == "retention"
        async with customer.http.get(customer.url(url)) as r:
            assert r.status in (403, 410)    # gone from disk and the session is over
        assert "log.txt" in (await session_record(host.app, s["id"]))["files"]   # the report still lists it
    finally:
        await stop_host(host)


async def test_the_cleanup_task_runs_by_itself_when_the_host_starts(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock)
    try:
        rep, s, rep_ws, _customer, _cust_ws = await session_with_customer(host)   # retention: 24 hours
        await publish(rep, s["id"], [("a.txt", b"a")])
        await rep_ws.send({"type": "session.end"})
        await rep_ws.expect("session.ended")
        assert len(stored(host)[0]) == 1
    finally:
        await stop_host(host)
    clock.advance(25 * 3600)
    host = await start_host(tmp_path / "data", clock=clock)
    try:
        # The pass deletes the file, then records why: wait for both (the file goes a moment earlier).
        async with asyncio.timeout(20):
            while stored(host)[0] or (await rows(host, s["id"]))[0]["delete_reason"] is None:
                await asyncio.sleep(0.05)
        assert (await rows(host, s["id"]))[0]["delete_reason"] == "retention"
    finally:
        await stop_host(host)


async def test_two_uploads_racing_for_the_last_space_store_only_one(host):
    await configure(host, max_file_mb="2", site_total_mb="2")
    rep, s, _rep_ws, _customer, _cust_ws = await session_with_customer(host)
    results = await asyncio.gather(publish(rep, s["id"], [("a.bin", os.urandom(1200 * 1024))]),
                                   publish(rep, s["id"], [("b.bin", os.urandom(1200 * 1024))]))
    assert sorted(status for status, _ in results) == [201, 413]
    assert len(await rows(host, s["id"])) == 1
    files, temps = stored(host)
    assert len(files) == 1 and temps == []
