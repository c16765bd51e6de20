"""Login lockout over real HTTP (host/login_lockout.py): per (username, address), with doubling locks,
the same answer for unknown usernames, counted before the password is checked (so a parallel burst
verifies no more than the allowed tries), every failed login audited, and unlocks (admin page, CLI)."""
from __future__ import annotations

import asyncio
import json
import re
import statistics
import sys
import time

import pytest

from conftest import PASSWORD, FakeClock, start_host, stop_host

PROXY = ("127.0.0.1",)   # the host believes X-Forwarded-For from loopback: each test address is a "customer"


async def _login(client, username: str, password: str, address: str | None = None, site: str = "demo"):
    client.site = site
    token = await client.csrf(f"/s/{site}/login")
    headers = {"X-Forwarded-For": address} if address else {}
    return await client.http.post(client.url(f"/s/{site}/login"), allow_redirects=False, headers=headers,
                                  data={"username": username, "password": password, "csrf_token": token})


def _error(html: str) -> str:
    """The error paragraph of the login page."""
    match = re.search(r'class="flash error"[^>]*>(.*?)</', html, re.S)
    return match.group(1).strip() if match else ""


async def _audit(host, action: str) -> list[dict]:
    return await host.db_read(lambda db: list(db["audit_log"].rows_where("action = ?", [action], order_by="id")))


@pytest.fixture
async def lockable(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock, login_failures_before_lockout=3, lockout_seconds=600,
                            trusted_proxies=PROXY)
    host.clock = clock
    yield host
    await stop_host(host)


async def test_a_guesser_locks_only_its_own_address_out(lockable):
    c = await lockable.client()
    for _ in range(2):
        assert (await _login(c, "admin", "guess-guess", "203.0.113.7")).status == 401
    r = await _login(c, "admin", "guess-guess", "203.0.113.7")
    assert r.status == 423 and "locked for 10 minutes" in await r.text()
    assert (await _login(c, "admin", PASSWORD, "203.0.113.7")).status == 423   # not even the right one there
    # The real admin, at another address, is not locked out by the guesser.
    assert (await _login(await lockable.client(), "admin", PASSWORD, "198.51.100.20")).status == 302


async def test_unknown_usernames_get_the_very_same_answers(lockable):
    answers = {}
    for username, address in (("rep1", "203.0.113.1"), ("nosuchuser", "203.0.113.2")):
        c = await lockable.client()
        seen = []
        for password in ("wrong-1-xyz", "wrong-2-xyz", "wrong-3-xyz", PASSWORD):
            r = await _login(c, username, password, address)
            seen.append((r.status, _error(await r.text())))
        answers[username] = seen
    assert answers["rep1"] == answers["nosuchuser"]
    assert [s for s, _ in answers["rep1"]] == [401, 401, 423, 423]
    assert answers["rep1"][0][1] == "Wrong username or password."


async def test_a_wrong_password_takes_as_long_for_an_unknown_username(host):
    # Measured side by side, alternating; 4 tries each stay below the lock.
    c = await host.client()
    times: dict[str, list[float]] = {"rep1": [], "nosuchuser": []}
    for i in range(4):
        for username in times:
            started = time.perf_counter()
            assert (await _login(c, username, f"wrong-{i}-password")).status == 401
            times[username].append(time.perf_counter() - started)
    known, unknown = statistics.median(times["rep1"]), statistics.median(times["nosuchuser"])
    assert unknown > known * 0.5, (known, unknown)   # the dummy hash is verified: no fast path for unknown names


async def test_each_lock_lasts_twice_as_long_as_the_one_before(lockable):
    c = await lockable.client()
    for lock_minutes in (10, 20, 40):
        for _ in range(2):
            assert (await _login(c, "rep1", "nope-nope-nope", "203.0.113.9")).status == 401
        r = await _login(c, "rep1", "nope-nope-nope", "203.0.113.9")
        assert r.status == 423 and f"locked for {lock_minutes} minutes" in await r.text()
        lockable.clock.advance(lock_minutes * 60 - 30)
        assert (await _login(c, "rep1", PASSWORD, "203.0.113.9")).status == 423
        lockable.clock.advance(31)
    # A right password ends it all: the next wrong ones start again from the first lock.
    assert (await _login(c, "rep1", PASSWORD, "203.0.113.9")).status == 302
    assert await lockable.db_read(lambda db: db["login_failures"].count) == 0
    locks = await _audit(lockable, "account_locked")
    assert [json.loads(r["details"])["lock"] for r in locks] == [1, 2, 3]


async def test_a_parallel_burst_verifies_no_more_passwords_than_allowed(tmp_path, monkeypatch):
    import host.views_auth as views_auth
    checked = []   # every password the host really verified (argon2 runs as always; this only counts)
    real_verify = views_auth.verify_password

    def counting_verify(password_hash, password):
        checked.append(password)
        return real_verify(password_hash, password)
    monkeypatch.setattr(views_auth, "verify_password", counting_verify)
    host = await start_host(tmp_path / "data", login_failures_before_lockout=5)
    try:
        c = await host.client()
        token = await c.csrf("/s/demo/login")
        url = c.url("/s/demo/login")
        passwords = [f"guess-{i}-guess" for i in range(19)] + [PASSWORD]
        results = await asyncio.gather(*(c.http.post(url, allow_redirects=False, data={
            "username": "rep1", "password": p, "csrf_token": token}) for p in passwords))
        statuses = [r.status for r in results]
        assert len(checked) <= 5 and statuses.count(423) >= 15, (len(checked), statuses)
        assert statuses.count(401) + statuses.count(302) <= len(checked)
        logged_in = await host.db_read(lambda db: db["auth_sessions"].count)
        assert logged_in == statuses.count(302) and (logged_in == 0 or PASSWORD in checked)
        wrong = [r for r in await _audit(host, "login_failed")
                 if json.loads(r["details"])["why"] == "wrong username or password"]
        assert len(wrong) == len([p for p in checked if p != PASSWORD])
    finally:
        await stop_host(host)


async def test_every_failed_login_is_audited_with_address_and_username_but_no_password(lockable):
    c = await lockable.client()
    await _login(c, "rep1", "first-secret-guess", "203.0.113.5")
    await _login(c, "ghost", "second-secret-guess", "203.0.113.6")
    for _ in range(3):
        await _login(c, "rep2", "third-secret-guess", "203.0.113.5")   # the third locks, the fourth is refused
    rows = await _audit(lockable, "login_failed")
    details = [json.loads(r["details"]) for r in rows]
    assert [(d["username"], d["address"], d["why"]) for d in details] == [
        ("rep1", "203.0.113.5", "wrong username or password"),
        ("ghost", "203.0.113.6", "wrong username or password"),
        ("rep2", "203.0.113.5", "wrong username or password"),
        ("rep2", "203.0.113.5", "wrong username or password"),
        ("rep2", "203.0.113.5", "wrong username or password")]
    await _login(c, "rep2", PASSWORD, "203.0.113.5")
    last = json.loads((await _audit(lockable, "login_failed"))[-1]["details"])
    assert last["why"] == "locked"
    rep1 = await lockable.db_read(lambda db: next(db["users"].rows_where("username = 'rep1' and site_id = 1")))
    assert rows[0]["target"] == f"user:{rep1['id']}" and rows[1]["target"] == ""
    everything = json.dumps(await lockable.db_read(lambda db: list(db["audit_log"].rows)))
    assert "secret-guess" not in everything


async def test_an_admin_unlocks_a_login_on_the_admin_page(lockable):
    c = await lockable.client()
    for _ in range(3):
        await _login(c, "rep1", "nope-nope-nope", "203.0.113.44")
    assert (await _login(c, "rep1", PASSWORD, "203.0.113.44")).status == 423
    admin = await lockable.client()
    assert (await _login(admin, "admin", PASSWORD, "198.51.100.1")).status == 302
    page = await (await admin.http.get(admin.url("/s/demo/admin"))).text()
    assert 'data-lock="rep1"' in page and "203.0.113.44" in page
    r = await admin.post_form("/s/demo/admin/unlock", {"username": "rep1", "address": "203.0.113.44"},
                              csrf_from="/s/demo/admin")
    assert r.status == 200 and "rep1 is unlocked at 203.0.113.44." in await r.text()
    assert 'data-lock="rep1"' not in await r.text()
    assert (await _login(c, "rep1", PASSWORD, "203.0.113.44")).status == 302
    unlocked = await _audit(lockable, "login_unlocked")
    assert json.loads(unlocked[0]["details"]) == {"username": "rep1", "address": "203.0.113.44"}
    # Nothing to unlock: a clear error, nothing changed.
    r = await admin.post_form("/s/demo/admin/unlock", {"username": "rep2"}, csrf_from="/s/demo/admin")
    assert r.status == 404 and "no lock of that username" in await r.text()


async def test_the_command_line_unlocks_an_admin_locked_out_everywhere(lockable):
    c = await lockable.client()
    for address in ("203.0.113.1", "203.0.113.2"):
        for _ in range(3):
            await _login(c, "admin", "nope-nope-nope", address)
    assert (await _login(c, "admin", PASSWORD, "203.0.113.1")).status == 423
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "host", "--data", str(lockable.data_dir), "unlock", "demo", "ADMIN",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err
    assert out.decode().strip() == "admin unlocked"
    for address in ("203.0.113.1", "203.0.113.2"):
        assert (await _login(await lockable.client(), "admin", PASSWORD, address)).status == 302
    rows = await _audit(lockable, "login_unlocked")
    assert rows[-1]["actor"] == "cli"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "host", "--data", str(lockable.data_dir), "unlock", "nosuchsite", "admin",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 2 and "no site 'nosuchsite'" in err.decode()


def test_locks_double_up_to_the_longest_lock():
    from host.login_lockout import LockoutPolicy
    policy = LockoutPolicy(failures_allowed=5, first_lock=900, longest_lock=24 * 3600)
    assert [policy.lock_seconds(n) for n in range(1, 8)] == [900, 1800, 3600, 7200, 14400, 28800, 57600]
    assert policy.lock_seconds(8) == policy.lock_seconds(500) == 24 * 3600
