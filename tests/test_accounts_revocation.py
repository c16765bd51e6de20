"""A password change ends every login of the account and closes its open sockets within a second: made
on the admin page (same process) or by `supporthost reset-password` (another process: the running host
notices that the logins behind its sockets are gone, host/login_watch.py). A logout closes the sockets of
that login. Over real HTTP, real sockets, a real CLI process."""
from __future__ import annotations

import asyncio
import json
import re
import sys
import time

import aiohttp

from conftest import PASSWORD

NEW_PASSWORD = "plum tractor velvet 42"


async def _uid(host, username: str) -> int:
    return await host.db_read(lambda db: next(db.query(
        "select id from users where site_id = 1 and username = ?", [username]))["id"])


async def _open_everything(host):
    """rep1 logged in twice (two browsers), with a session socket and a console feed open."""
    first, second = await host.rep("rep1"), await host.rep("rep1")
    s = await first.start_session()
    session_socket = (await first.ws(s["id"])).ws
    feed = await second.http.ws_connect(second.url("/s/demo/ws/rep"), headers={"Origin": host.base})
    assert (await feed.receive_json(timeout=5))["type"] == "console.hello"
    return first, second, [session_socket, feed]


async def _closed_by(sockets, deadline: float) -> list[int]:
    """Wait (until ``deadline``, a perf_counter time) for each socket's close; their close codes."""
    codes = []
    for sock in sockets:
        async with asyncio.timeout(max(0.0, deadline - time.perf_counter())):
            while (msg := await sock.receive()).type == aiohttp.WSMsgType.TEXT:
                pass
        assert msg.type == aiohttp.WSMsgType.CLOSE, msg
        codes.append(msg.data)
    return codes


async def _logins_refused(host, clients) -> None:
    for c in clients:
        r = await c.http.get(c.url("/s/demo/api/sessions"))
        assert r.status == 401 and (await r.json())["error"]["message"] == "Please log in."
        r = await c.http.get(c.url("/s/demo/console"), allow_redirects=False)
        assert r.status == 302 and r.headers["Location"].startswith("/s/demo/login")
        try:
            await c.http.ws_connect(c.url("/s/demo/ws/rep"), headers={"Origin": host.base})
            raise AssertionError("an old cookie opened a console feed")
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 401
    assert await host.db_read(lambda db: db["auth_sessions"].count_where(
        "user_id = ?", [clients[0].rep_id])) == 0


async def test_an_admin_changing_a_password_ends_every_login_and_socket(host):
    first, second, sockets = await _open_everything(host)
    first.rep_id = await _uid(host, "rep1")
    admin = await host.rep("admin")
    started = time.perf_counter()
    r = await admin.post_form(f"/s/demo/admin/users/{first.rep_id}", {
        "console": "dashboard", "mode": "single", "role": "rep", "max_sessions": "1", "active": "on",
        "new_password": NEW_PASSWORD}, csrf_from="/s/demo/admin")
    assert r.status == 200 and "Account saved." in await r.text()
    assert await _closed_by(sockets, started + 1.0) == [1008, 1008]
    await _logins_refused(host, [first, second])
    fresh = await host.client()
    assert (await fresh.post_form("/s/demo/login", {"username": "rep1", "password": PASSWORD},
                                  allow_redirects=False)).status == 401
    await fresh.login("rep1", NEW_PASSWORD)
    rows = await host.db_read(lambda db: list(db["audit_log"].rows_where("action = 'user_updated'")))
    details = json.loads(rows[-1]["details"])
    assert details["password_changed"] is True and details["logins_ended"] == 2
    assert "password_hash" not in rows[-1]["details"] and NEW_PASSWORD not in rows[-1]["details"]
    # The admin's own login and other accounts are untouched.
    assert (await admin.http.get(admin.url("/s/demo/api/sessions"))).status == 200


async def test_a_reset_on_the_command_line_reaches_the_running_host_within_a_second(host):
    first, second, sockets = await _open_everything(host)
    first.rep_id = await _uid(host, "rep1")
    other = await host.rep("rep2")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "host", "--data", str(host.data_dir), "reset-password", "demo", "rep1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    finished = time.perf_counter()
    assert proc.returncode == 0, err.decode()
    assert await _closed_by(sockets, finished + 1.0) == [1008, 1008]
    await _logins_refused(host, [first, second])
    printed = re.search(r"new password for rep1: (\S+)\s+\(2 login\(s\) ended\)", out.decode())
    assert printed, out.decode()
    await (await host.client()).login("rep1", printed.group(1))
    assert (await other.http.get(other.url("/s/demo/api/sessions"))).status == 200
    rows = await host.db_read(lambda db: list(db["audit_log"].rows_where("action = 'password_reset'")))
    assert rows[-1]["actor"] == "cli" and json.loads(rows[-1]["details"]) == {"username": "rep1", "logins_ended": 2}


async def test_a_chosen_password_on_the_command_line_passes_the_policy_or_changes_nothing(host):
    rep = await host.rep("rep1")

    async def reset(line: str):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "host", "--data", str(host.data_dir), "reset-password", "demo", "rep1",
            "--password-stdin", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate(line.encode() + b"\n")
        return proc.returncode, out.decode(), err.decode()

    for bad, why in (("password123", "one of the 100,000 most common passwords"),
                     ("rep1-is-my-name", "must not contain the username"),
                     ("short", "at least 10 characters")):
        code, out, err = await reset(bad)
        assert code == 2 and why in err and "Nothing was changed." in err, (bad, err)
    assert (await rep.http.get(rep.url("/s/demo/api/sessions"))).status == 200   # nothing changed
    await (await host.client()).login("rep1", PASSWORD)
    code, out, err = await reset(NEW_PASSWORD)
    assert code == 0 and "password of rep1 changed" in out
    await (await host.client()).login("rep1", NEW_PASSWORD)
    r = await rep.http.get(rep.url("/s/demo/api/sessions"))
    assert r.status == 401


async def test_logging_out_closes_the_sockets_of_that_login_only(host):
    first, second, (session_socket, feed) = await _open_everything(host)
    r = await first.post_form("/s/demo/logout", {}, csrf_from="/s/demo/console", allow_redirects=False)
    assert r.status == 302
    assert await _closed_by([session_socket], time.perf_counter() + 1.0) == [1008]
    await asyncio.sleep(0.6)
    assert not feed.closed      # the other browser's login lives on
    assert (await second.http.get(second.url("/s/demo/api/sessions"))).status == 200
