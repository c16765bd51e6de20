"""Accounts over real HTTP: login, lockout, rate limit, cookies, logout, password storage, the admin's
account changes (audited), and the generated first admin password of `supporthost run`."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from pathlib import Path

import aiohttp
import pytest

from conftest import PASSWORD, FakeClock, free_port, start_host, stop_host

async def _login(client, username: str, password: str, site: str = "demo"):
    client.site = site
    return await client.post_form(f"/s/{site}/login", {"username": username, "password": password},
                                  allow_redirects=False)


async def _user(host, username: str, site: str = "demo") -> dict:
    return await host.db_read(lambda db: next(db.query(
        "select u.* from users u join sites s on s.id = u.site_id where s.slug = ? and u.username = ?",
        [site, username])))


async def test_wrong_password_gets_a_clear_message_and_no_cookie(host):
    c = await host.client()
    for username, password in (("rep1", "not the password"), ("nobody", PASSWORD)):
        r = await _login(c, username, password)
        assert r.status == 401
        assert "Wrong username or password." in await r.text()
    assert not [k for k in c.http.cookie_jar if k.key.startswith("sh_auth_")]
    assert (await c.http.get(c.url("/s/demo/api/sessions"))).status == 401
    failures = await host.db_read(lambda db: {r["username"]: r["failures"] for r in db["login_failures"].rows})
    assert failures == {"rep1": 1, "nobody": 1}   # counted the same for an unknown username


async def test_lockout_after_failures_even_with_right_password_until_it_passes(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock, login_failures_before_lockout=3,
                            lockout_seconds=600)
    try:
        c = await host.client()
        assert (await _login(c, "rep1", "wrong-1")).status == 401
        assert (await _login(c, "rep1", "wrong-2")).status == 401
        r = await _login(c, "rep1", "wrong-3")
        assert r.status == 423 and "locked for 10 minutes" in await r.text()
        r = await _login(c, "rep1", PASSWORD)
        assert r.status == 423 and "locked" in await r.text()
        assert not [k for k in c.http.cookie_jar if k.key.startswith("sh_auth_")]
        # Another account is not affected.
        assert (await _login(await host.client(), "rep2", PASSWORD)).status == 302
        clock.advance(300)
        r = await _login(c, "rep1", PASSWORD)
        assert r.status == 423 and "locked for 5 minutes" in await r.text()
        clock.advance(301)
        r = await _login(c, "rep1", PASSWORD)
        assert r.status == 302
        assert (await c.http.get(c.url("/s/demo/api/sessions"))).status == 200
        rows = await host.db_read(lambda db: list(db["audit_log"].rows_where(order_by="id")))
        locked = [r for r in rows if r["action"] == "account_locked"]
        uid = (await _user(host, "rep1"))["id"]
        assert len(locked) == 1 and locked[0]["target"] == f"user:{uid}"
        assert json.loads(locked[0]["details"])["failures"] == 3
        assert locked[0]["actor"].startswith("address:127.0.0.1")
        logins = [r for r in rows if r["action"] == "login"]
        assert [r["actor"] for r in logins] == [f"user:{(await _user(host, 'rep2'))['id']}", f"user:{uid}"]
        assert await host.db_read(lambda db: db["login_failures"].count) == 0   # a right password forgets them
    finally:
        await stop_host(host)


async def test_parallel_wrong_passwords_all_count_towards_the_lockout(host):
    c = await host.client()
    token = await c.csrf("/s/demo/login")
    url = c.url("/s/demo/login")
    data = {"username": "rep1", "password": "guess", "csrf_token": token}
    results = await asyncio.gather(*(c.http.post(url, data=data, allow_redirects=False) for _ in range(6)))
    assert sorted(r.status for r in results).count(423) >= 1
    r = await _login(c, "rep1", PASSWORD)
    assert r.status == 423
    assert await host.db_read(lambda db: db["audit_log"].count_where("action = 'account_locked'")) == 1


async def test_too_many_logins_from_one_address_are_refused(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock, login_attempts_per_minute_per_address=4)
    try:
        c = await host.client()
        for name in ("a1", "a2", "a3", "a4"):  # spread over unknown accounts: no lockout helps here
            assert (await _login(c, name, "guess")).status == 401
        r = await _login(c, "rep1", PASSWORD)
        assert r.status == 429 and "Too many login attempts from your address" in await r.text()
        assert await host.db_read(lambda db: db["auth_sessions"].count) == 0
        clock.advance(61)
        assert (await _login(c, "rep1", PASSWORD)).status == 302
    finally:
        await stop_host(host)


async def test_cookies_are_httponly_and_samesite(host):
    c = await host.client()
    r = await c.http.get(c.url("/s/demo/login"))
    csrf_cookie = r.cookies["sh_csrf"]
    assert csrf_cookie["httponly"] and csrf_cookie["samesite"].lower() == "strict"
    r = await _login(c, "rep1", PASSWORD)
    auth = r.cookies["sh_auth_demo"]
    assert auth["httponly"] and auth["samesite"].lower() in ("lax", "strict")
    assert auth["path"] == "/s/demo"
    # The customer's participant cookie too.
    s = await c.start_session()
    cust = await host.client()
    r = await cust.join(s["number"], "Carla")
    part = r.cookies[f"shp_{s['id']}"]
    assert part["httponly"] and part["samesite"].lower() in ("lax", "strict") and part["path"] == "/s/demo"


async def test_logout_invalidates_the_cookie_on_the_server(host):
    c = await host.rep()
    token = next(k.value for k in c.http.cookie_jar if k.key == "sh_auth_demo")
    replay = {"Cookie": f"sh_auth_demo={token}"}
    bare = await host.client()
    assert (await bare.http.get(bare.url("/s/demo/api/sessions"), headers=replay)).status == 200
    r = await c.post_form("/s/demo/logout", {}, allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/s/demo/login"
    # The stolen/replayed cookie no longer works: the server forgot it.
    assert (await bare.http.get(bare.url("/s/demo/api/sessions"), headers=replay)).status == 401
    r = await bare.http.get(bare.url("/s/demo/console"), headers=replay, allow_redirects=False)
    assert r.status == 302 and "/s/demo/login" in r.headers["Location"]
    assert await host.db_read(lambda db: db["auth_sessions"].count) == 0


async def test_switching_an_account_off_ends_its_logins_and_open_sockets(host):
    rep = await host.rep("rep1")
    s = await rep.start_session()
    ws = await rep.ws(s["id"])
    feed = await rep.http.ws_connect(rep.url("/s/demo/ws/rep"), headers={"Origin": host.base})
    assert (await feed.receive_json(timeout=5))["type"] == "console.hello"
    admin = await host.rep("admin")
    uid = (await _user(host, "rep1"))["id"]
    r = await admin.post_form(f"/s/demo/admin/users/{uid}", {"console": "dashboard", "mode": "single",
                                                             "role": "rep", "max_sessions": "1"},
                              csrf_from="/s/demo/admin")  # "active" left unticked
    assert r.status == 200
    for sock in (ws.ws, feed):
        while (msg := await sock.receive(timeout=5)).type == aiohttp.WSMsgType.TEXT:
            pass
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1008
    assert (await rep.http.get(rep.url("/s/demo/api/sessions"))).status == 401
    try:
        await rep.ws(s["id"])
        raise AssertionError("a switched-off account opened a session socket")
    except aiohttp.WSServerHandshakeError as exc:
        assert exc.status == 403
    r = await _login(await host.client(), "rep1", PASSWORD)
    assert r.status == 401
    rows = await host.db_read(lambda db: list(db["audit_log"].rows_where("action = 'user_updated'")))
    assert json.loads(rows[-1]["details"])["active"] == 0


async def test_login_expires_after_its_lifetime(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock, auth_session_ttl=3600)
    try:
        rep = await host.rep()
        assert (await rep.http.get(rep.url("/s/demo/api/sessions"))).status == 200
        clock.advance(3601)
        assert (await rep.http.get(rep.url("/s/demo/api/sessions"))).status == 401
    finally:
        await stop_host(host)


async def test_passwords_are_stored_as_argon2id(host):
    admin = await host.rep("admin")
    r = await admin.post_form("/s/demo/admin/users", {"username": "newrep", "display_name": "New Rep",
                                                      "password": "a long enough one", "role": "rep"},
                              csrf_from="/s/demo/admin")
    assert r.status == 200
    rows = await host.db_read(lambda db: list(db["users"].rows))
    assert len(rows) == 7
    for row in rows:
        assert row["password_hash"].startswith("$argon2id$")
        assert PASSWORD not in row["password_hash"] and "a long enough one" not in row["password_hash"]
    assert (await _login(await host.client(), "newrep", "a long enough one")).status == 302


async def test_admin_creates_and_changes_accounts_with_clear_errors_and_audit(host):
    admin = await host.rep("admin")
    post = lambda path, data: admin.post_form(path, data, csrf_from="/s/demo/admin")  # noqa: E731
    r = await post("/s/demo/admin/users", {"username": "weak", "password": "short"})
    assert r.status == 400 and "at least 10 characters" in await r.text()
    r = await post("/s/demo/admin/users", {"username": "rep1", "password": "long enough pw"})
    assert r.status == 400 and "taken" in await r.text()
    r = await post("/s/demo/admin/users", {"username": "gen", "display_name": "Gen", "console": "tray",
                                           "mode": "multi", "max_sessions": "2"})
    assert r.status == 200
    generated = re.search(r"shown this once: ([A-Za-z0-9_-]+)", await r.text()).group(1)
    gen = await host.client()
    assert (await _login(gen, "gen", generated)).status == 302
    r = await gen.http.get(gen.url("/s/demo/console"))
    assert r.status == 200 and "console-tray" in await r.text()
    # A rep is not an admin.
    r = await gen.http.get(gen.url("/s/demo/admin"), allow_redirects=False)
    assert r.status == 403
    # Switch rep1 to multisession with a maximum of 2: it can now run two sessions, not three.
    rep1 = await _user(host, "rep1")
    r = await post(f"/s/demo/admin/users/{rep1['id']}", {"console": "multisession", "mode": "multi",
                                                         "role": "rep", "max_sessions": "2", "active": "on"})
    assert r.status == 200 and "Account saved" in await r.text()
    r = await post(f"/s/demo/admin/users/{rep1['id']}", {"console": "hologram", "mode": "multi", "role": "rep",
                                                         "max_sessions": "2", "active": "on"})
    assert r.status == 400 and "console must be one of" in await r.text()
    rep = await host.rep("rep1")
    await rep.start_session()
    await rep.start_session()
    r = await rep.api_post("/s/demo/api/sessions")
    assert r.status == 409 and "maximum of 2" in (await r.json())["error"]["message"]
    r = await post("/s/demo/admin/settings/chat", {"max_length": "150", "rep_chat": "on"})
    assert r.status == 200
    actions = await host.db_read(lambda db: [(r["action"], r["actor"]) for r in db["audit_log"].rows_where(
        "site_id = ? and action != 'login'", [host.site().id], order_by="id")])
    admin_actor = f"user:{(await _user(host, 'admin'))['id']}"
    rep1_actor = f"user:{rep1['id']}"
    assert actions == [("user_created", admin_actor), ("user_updated", admin_actor),
                       ("session_started", rep1_actor), ("session_started", rep1_actor),
                       ("settings_changed", admin_actor)]
    # The admin page shows the audit log.
    page = await (await admin.http.get(admin.url("/s/demo/admin"))).text()
    assert "user_created" in page and "settings_changed" in page


async def _run_fresh_host(data_dir: Path):
    """`supporthost run` (as `python -m host run`) on an empty data folder; returns (process, port, lines)."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "host", "--data", str(data_dir), "run", "--port", str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = []
    async with asyncio.timeout(30):
        while True:
            line = (await proc.stdout.readline()).decode()
            assert line, f"supporthost run ended early: {lines}"
            lines.append(line)
            if "admin login" in line:
                break
    return proc, port, lines


async def test_fresh_run_generates_and_prints_an_admin_password_never_a_default(tmp_path):
    procs = []
    try:
        runs = await asyncio.gather(_run_fresh_host(tmp_path / "one"), _run_fresh_host(tmp_path / "two"))
        passwords = []
        for proc, port, lines in runs:
            procs.append(proc)
            m = re.search(r"username (\S+)\s+password (\S+)", "".join(lines))
            assert m and m.group(1) == "admin"
            passwords.append(m.group(2))
            assert len(m.group(2)) >= 12
        assert passwords[0] != passwords[1]
        # The printed password really logs in; a guess like "admin" does not.
        proc, port, _ = runs[0]
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with asyncio.timeout(15):
                while True:
                    try:
                        page = await (await http.get(f"{base}/s/demo/login")).text()
                        break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.1)
            token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
            for guess in ("admin", "password", "changeme", ""):
                r = await http.post(f"{base}/s/demo/login", allow_redirects=False,
                                    data={"username": "admin", "password": guess, "csrf_token": token})
                assert r.status == 401
            r = await http.post(f"{base}/s/demo/login", allow_redirects=False,
                                data={"username": "admin", "password": passwords[0], "csrf_token": token})
            assert r.status == 302
        import sqlite3
        con = sqlite3.connect(tmp_path / "one" / "supporthost.db")
        hashes = [h for (h,) in con.execute("select password_hash from users")]
        con.close()
        assert len(hashes) == 1 and hashes[0].startswith("$argon2id$") and passwords[0] not in hashes[0]
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()


async def _login_via(client, username: str, password: str, forwarded: str):
    token = await client.csrf("/s/demo/login")
    return await client.http.post(client.url("/s/demo/login"), allow_redirects=False,
                                  data={"username": username, "password": password, "csrf_token": token},
                                  headers={"X-Forwarded-For": forwarded})


async def test_behind_a_trusted_proxy_the_limit_counts_the_customers_address(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock, login_attempts_per_minute_per_address=3,
                            trusted_proxies=("127.0.0.0/8",))
    try:
        c = await host.client()
        for name in ("a1", "a2", "a3"):      # one person behind the proxy guesses
            assert (await _login_via(c, name, "guess", "198.51.100.7, 203.0.113.5")).status == 401
        r = await _login_via(c, "rep1", PASSWORD, "203.0.113.5")
        assert r.status == 429
        # somebody else behind the same proxy is not blocked by it
        assert (await _login_via(c, "rep1", PASSWORD, "203.0.113.9")).status == 302
        # a forged hop to the left of the one the proxy wrote changes nothing
        r = await _login_via(c, "rep2", PASSWORD, "10.9.9.9, 203.0.113.5")
        assert r.status == 429
        # a malformed header counts as the proxy itself (which is then limited as one address)
        for _ in range(3):
            await _login_via(c, "b1", "guess", "not-an-address")
        assert (await _login_via(c, "rep1", PASSWORD, "junk")).status == 429
    finally:
        await stop_host(host)


async def test_without_trusted_proxies_x_forwarded_for_is_ignored(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock, login_attempts_per_minute_per_address=3)
    try:
        c = await host.client()
        for i in range(3):                   # a different forged address each time does not help
            assert (await _login_via(c, f"a{i}", "guess", f"203.0.113.{i}")).status == 401
        assert (await _login_via(c, "rep1", PASSWORD, "203.0.113.200")).status == 429
    finally:
        await stop_host(host)


def test_the_command_line_takes_proxies_and_the_abandon_time_and_refuses_bad_ones(capsys):
    from host.cli import _config, main
    args = argparse.Namespace(data="d", host="127.0.0.1", port=8080, secure_cookies=False,
                              trusted_proxy=["127.0.0.1/32", "10.0.0.0/8"], abandoned_after=30)
    cfg = _config(args)
    assert cfg.trusted_proxies == ("127.0.0.1/32", "10.0.0.0/8") and cfg.abandoned_after == 1800
    for bad, says in ((["--trusted-proxy", "proxy.example"], "is not an IP address or network"),
                      (["--abandoned-after", "0"], "whole number of minutes"),
                      (["--abandoned-after", "soon"], "whole number of minutes")):
        with pytest.raises(SystemExit):
            main(["run", *bad])
        assert says in capsys.readouterr().err


async def test_a_saved_admin_form_redirects_so_a_reload_submits_nothing_twice(host):
    admin = await host.rep("admin")
    r = await admin.post_form("/s/demo/admin/users", {"username": "once", "display_name": "Once"},
                              csrf_from="/s/demo/admin", allow_redirects=False)
    assert r.status == 303
    page = r.headers["Location"]
    assert page.startswith("/s/demo/admin?saved=") and "shown" not in page   # the password is not in the address
    r = await admin.http.get(admin.url(page))
    assert r.status == 200 and "shown this once" in await r.text()
    r = await admin.http.get(admin.url(page))                       # a reload shows the page, not the password
    assert r.status == 200 and "shown this once" not in await r.text()
    assert await host.db_read(lambda db: db["users"].count_where("username = 'once'")) == 1
