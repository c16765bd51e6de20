"""Rate limits hold against simultaneous bursts, not only against tries one after the other (issue 11,
defect 3): an attempt is counted before the slow work it leads to."""
from __future__ import annotations

import asyncio

import aiohttp

from conftest import PASSWORD
from host.appkeys import LOGIN_LIMIT

FORM = "application/x-www-form-urlencoded"


async def test_two_thousand_simultaneous_wrong_joins_are_five_checked(host):
    c = await host.client()
    token = await c.csrf("/s/demo/")
    url = c.url("/s/demo/join")
    async with aiohttp.ClientSession(cookie_jar=c.http.cookie_jar,
                                     connector=aiohttp.TCPConnector(limit=400)) as http:
        async def one(i: int) -> tuple[int, str]:
            async with http.post(url, data={"number": f"{100000000 + i}", "name": "Mallory",
                                            "csrf_token": token}) as r:
                return r.status, await r.text()
        results = await asyncio.gather(*(one(i) for i in range(2000)))
    statuses = [s for s, _ in results]
    checked = statuses.count(404)
    assert checked <= host.config.join_attempts_per_minute, f"{checked} numbers looked up"
    assert statuses.count(429) == 2000 - checked
    assert all("Too many tries from your address" in text for s, text in results if s == 429)

    # a right number from that address waits too; the host still serves others
    rep = await host.rep()
    s = await rep.start_session()
    r = await c.join(s["number"])
    assert r.status == 429


async def test_simultaneous_guesses_cannot_log_in_past_the_lockout(host):
    """19 wrong passwords and then the right one, all in flight at once from one address: only as many
    passwords as the lockout allows are checked, the right one does not log in once the account locks."""
    c = await host.client()
    token = await c.csrf("/s/demo/login")
    url = c.url("/s/demo/login")

    async def attempt(password: str) -> int:
        async with c.http.post(url, data={"username": "rep1", "password": password, "csrf_token": token},
                               allow_redirects=False) as r:
            await r.read()
            return r.status
    wrong = [asyncio.create_task(attempt(f"guess-{i}")) for i in range(19)]
    # every wrong guess has reached the host (its per-address counter) before the right one is sent
    async with asyncio.timeout(10):
        while len(host.app[LOGIN_LIMIT]._hits.get("127.0.0.1", ())) < 19:
            await asyncio.sleep(0.001)
    right = await attempt(PASSWORD)
    statuses = await asyncio.gather(*wrong)

    assert right in (423, 429), f"the right password logged in during the burst ({right})"
    wrong_answers = [s for s in statuses if s == 401]
    assert len(wrong_answers) < host.config.login_failures_before_lockout, statuses   # the rest: locked
    assert set(statuses) <= {401, 423, 429}, statuses
    rows = await host.db_read(lambda db: list(db.query(
        "select count(*) as n from auth_sessions a join users u on u.id = a.user_id where u.username = 'rep1'")))
    assert rows[0]["n"] == 0
    audit = await host.db_read(lambda db: [r["action"] for r in db["audit_log"].rows_where("action = 'login'")])
    assert audit == []
