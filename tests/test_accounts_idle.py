"""The per-site idle timeout of console logins (host/login_watch.py), with the FakeClock and real requests:
a login unused for that long is refused (pages redirect to the login, API calls get 401 JSON), its open
sockets close; requests and socket messages count as activity, written at most once a minute."""
from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from conftest import FakeClock, start_host, stop_host

from host.login_watch import IDLE_MINUTES, SETTINGS_GROUP

MINUTE = 60.0


@pytest.fixture
async def timed(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock)
    host.clock = clock
    yield host
    await stop_host(host)


async def _sessions_status(client) -> int:
    return (await client.http.get(client.url("/s/demo/api/sessions"))).status


async def _set_idle(host, minutes) -> aiohttp.ClientResponse:
    admin = await host.rep("admin")
    return await admin.post_form("/s/demo/admin/site", {"name": "Demo support", "public_url": "",
                                                        "idle_minutes": str(minutes)}, csrf_from="/s/demo/admin")


async def test_a_login_unused_for_30_minutes_is_refused(timed):
    rep = await timed.rep()
    for _ in range(3):       # used every 29 minutes: it lives on, past the timeout in total
        timed.clock.advance(29 * MINUTE)
        assert await _sessions_status(rep) == 200
    timed.clock.advance(30 * MINUTE + 1)
    r = await rep.http.get(rep.url("/s/demo/api/sessions"))
    assert r.status == 401 and (await r.json())["error"]["message"] == "Please log in."
    r = await rep.http.get(rep.url("/s/demo/console"), allow_redirects=False)
    assert r.status == 302 and r.headers["Location"].startswith("/s/demo/login")
    # The login is gone for good, not only refused while the limit stands.
    assert await timed.db_read(lambda db: db["auth_sessions"].count_where("user_id = 2")) == 0
    await (await timed.client()).login("rep1")


async def test_the_site_setting_changes_the_timeout_and_0_switches_it_off(timed):
    admin_page = await (await (await timed.rep("admin")).http.get(timed.base + "/s/demo/admin")).text()
    assert 'name="idle_minutes"' in admin_page and 'value="30"' in admin_page
    for bad in ("-1", "1441", "soon"):
        r = await _set_idle(timed, bad)
        assert r.status == 400 and "Idle timeout" in await r.text() and "Nothing was saved." in await r.text()
    assert timed.site().setting(SETTINGS_GROUP, IDLE_MINUTES) == 30
    r = await _set_idle(timed, 5)
    assert r.status == 200 and 'value="5"' in await r.text()
    rep = await timed.rep()
    timed.clock.advance(5 * MINUTE + 1)
    assert await _sessions_status(rep) == 401
    assert (await _set_idle(timed, 0)).status == 200
    rep = await timed.rep()
    timed.clock.advance(10 * 3600)
    assert await _sessions_status(rep) == 200     # only the absolute lifetime (12 hours) still holds
    rows = await timed.db_read(lambda db: list(db["audit_log"].rows_where("action = 'site_changed'")))
    assert [json.loads(r["details"])["idle_minutes"] for r in rows] == [{"old": 30, "new": 5}, {"old": 5, "new": 0}]


async def test_an_idle_console_socket_is_closed_and_socket_messages_count_as_activity(timed):
    rep = await timed.rep()
    s = await rep.start_session()
    sock = await rep.ws(s["id"])
    feed = await rep.http.ws_connect(rep.url("/s/demo/ws/rep"), headers={"Origin": timed.base})
    assert (await feed.receive_json(timeout=5))["type"] == "console.hello"
    for _ in range(3):       # the rep works in the session (messages only, no page requests)
        timed.clock.advance(20 * MINUTE)
        assert (await sock.request({"type": "session.ping"}))["type"] == "session.pong"
    await asyncio.sleep(1.0)     # the watch looks twice a second: nothing is idle yet
    assert not sock.ws.closed and not feed.closed
    assert await _sessions_status(rep) == 200
    timed.clock.advance(31 * MINUTE)
    for ws in (sock.ws, feed):
        async with asyncio.timeout(2):
            while (msg := await ws.receive()).type == aiohttp.WSMsgType.TEXT:
                pass
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1008
        assert "idle" in msg.extra
    assert await _sessions_status(rep) == 401


async def test_activity_is_written_at_most_once_a_minute(timed):
    rep = await timed.rep()
    logged_in = timed.clock()

    async def stored() -> float:
        await asyncio.sleep(0.7)     # one look of the watch
        return await timed.db_read(lambda db: db.execute("select last_seen_at from auth_sessions").fetchone()[0])
    for _ in range(5):
        timed.clock.advance(10)
        assert await _sessions_status(rep) == 200
    assert await stored() == logged_in            # 50 seconds of requests: not written yet
    timed.clock.advance(11)
    assert await _sessions_status(rep) == 200
    assert await stored() == logged_in + 61
