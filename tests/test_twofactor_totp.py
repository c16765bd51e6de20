"""Two-factor sign-in with an authenticator app (TOTP) and recovery codes, with real codes made by pyotp:
setup (confirmed by a current code), the second step at login (a step either side accepted, a code used
twice refused, wrong codes counted toward the lockout), recovery codes (each once), turning it off."""
from __future__ import annotations

import asyncio
import json

import pyotp
import pytest
from twofactor_helpers import enrol_totp, password_step, recovery_codes_of, signed_in

from conftest import FakeClock

pytestmark = pytest.mark.asyncio


@pytest.fixture
def clock():
    return FakeClock(1_800_000_015.0)      # halfway through a 30-second step


async def _audit(host, action: str) -> list[dict]:
    return await host.db_read(lambda db: list(db.query(
        "select * from audit_log where action = ? order by id", [action])))


async def _enrolled(host, clock, username="rep1") -> tuple:
    """A signed-in client of ``username`` with the app set up; returns (client, secret, recovery codes).
    The clock moves on a step (the setup spent this step's code)."""
    client = await host.rep(username)
    secret, answer = await enrol_totp(client, at=clock.now)
    assert answer.status == 303, await answer.text()
    async with client.http.get(client.url(answer.headers["Location"])) as r:
        codes = recovery_codes_of(await r.text())
    clock.advance(30)
    return client, secret, codes


async def _second_step(client, fields: dict, site="demo"):
    return await client.post_form(f"/s/{site}/login/verify", fields, allow_redirects=False)


@pytest.mark.supporthost(plugins=[])
async def test_setup_needs_a_current_code_and_shows_recovery_codes_once(host, clock):
    host.config.clock = clock
    client = await host.rep("rep1")
    r = await client.post_form("/s/demo/security/totp/start", {}, csrf_from="/s/demo/security")
    page = await r.text()
    assert "otpauth://totp/" in page and "data:image/svg+xml" in page     # the address, its QR code
    secret = page.split('class="totp-secret">')[1].split("<")[0]
    assert f"secret={secret}" in page
    # a wrong code (and the code of another secret) does not turn it on
    for wrong in ("000000", pyotp.TOTP(pyotp.random_base32()).at(clock.now), "12ab56", ""):
        r = await client.post_form("/s/demo/security/totp/confirm", {"code": wrong}, allow_redirects=False)
        assert r.status == 400, wrong
        assert "not right" in await r.text() or "code" in (await r.text()).lower()
    assert await host.db_read(lambda db: db["totp_secrets"].get(_uid(db, "rep1"))["confirmed_at"]) is None
    r = await client.post_form("/s/demo/security/totp/confirm", {"code": pyotp.TOTP(secret).at(clock.now)},
                               allow_redirects=False)
    assert r.status == 303
    shown_at = r.headers["Location"]
    async with client.http.get(client.url(shown_at)) as page:
        codes = recovery_codes_of(await page.text())
        assert page.headers["Cache-Control"] == "no-store"
    assert len(codes) == 10 and len(set(codes)) == 10
    async with client.http.get(client.url(shown_at)) as again:     # shown once
        assert recovery_codes_of(await again.text()) == []
    stored = await host.db_read(lambda db: [r["code_hash"] for r in db["recovery_codes"].rows])
    assert not any(c in h or c.replace("-", "") in h for c in codes for h in stored)   # only hashes kept
    assert len(await _audit(host, "twofactor_totp_enabled")) == 1
    assert len(await _audit(host, "twofactor_totp_setup_failed")) == 4


def _uid(db, username):
    return next(db["users"].rows_where("username = ? and site_id = 1", [username]))["id"]


@pytest.mark.supporthost(plugins=[])
async def test_login_asks_for_the_code_after_the_password(host, clock):
    host.config.clock = clock
    _, secret, _ = await _enrolled(host, clock)
    client = await host.client()
    r = await password_step(client, "rep1")
    assert r.status == 302 and r.headers["Location"] == "/s/demo/login/verify"
    assert not await signed_in(client)                  # the password alone opens nothing
    async with client.http.get(client.url("/s/demo/login/verify")) as page:
        assert "Code from your authenticator app" in await page.text()
    r = await _second_step(client, {"code": "123456" if pyotp.TOTP(secret).at(clock.now) != "123456" else "654321"})
    assert r.status == 401 and "not right" in await r.text()
    assert not await signed_in(client)
    r = await _second_step(client, {"code": pyotp.TOTP(secret).at(clock.now)})
    assert r.status == 302 and r.headers["Location"] == "/s/demo/console"
    assert await signed_in(client)
    logins = await _audit(host, "login")
    assert json.loads(logins[-1]["details"])["second_factor"] == "totp"
    assert len(await _audit(host, "login_second_step_failed")) == 1


@pytest.mark.supporthost(plugins=[])
async def test_codes_of_the_next_and_previous_step_work_a_used_one_does_not(host, clock):
    host.config.clock = clock
    _, secret, _ = await _enrolled(host, clock)
    totp = pyotp.TOTP(secret)

    async def attempt(code):
        client = await host.client()
        await password_step(client, "rep1")
        return await _second_step(client, {"code": code})

    clock.advance(120)
    assert (await attempt(totp.at(clock.now - 60))).status == 401       # two steps back: too old
    assert (await attempt(totp.at(clock.now - 30))).status == 302       # one step back (a slow phone)
    assert (await attempt(totp.at(clock.now))).status == 302            # this step
    replay = await attempt(totp.at(clock.now))                          # the same code again
    assert replay.status == 401 and "used already" in await replay.text()
    assert (await attempt(totp.at(clock.now + 30))).status == 302       # one step ahead (a fast phone)
    assert (await attempt(totp.at(clock.now))).status == 401            # older than the last one used
    clock.advance(60)
    assert (await attempt(totp.at(clock.now))).status == 302


@pytest.mark.supporthost(plugins=[], login_failures_before_lockout=50)
async def test_one_code_sent_in_parallel_signs_in_once(host, clock):
    host.config.clock = clock
    _, secret, _ = await _enrolled(host, clock)
    clients = [await host.client() for _ in range(8)]
    for c in clients:
        await password_step(c, "rep1")
    code = pyotp.TOTP(secret).at(clock.now)
    answers = await asyncio.gather(*(_second_step(c, {"code": code}) for c in clients))
    assert sorted(a.status for a in answers) == [302] + [401] * 7


@pytest.mark.supporthost(plugins=[])
async def test_a_recovery_code_signs_in_once(host, clock):
    host.config.clock = clock
    _, _, codes = await _enrolled(host, clock)
    first = await host.client()
    await password_step(first, "rep1")
    r = await _second_step(first, {"recovery_code": codes[0].upper().replace("-", " ")})   # as typed off paper
    assert r.status == 302 and await signed_in(first)
    second = await host.client()
    await password_step(second, "rep1")
    r = await _second_step(second, {"recovery_code": codes[0]})
    assert r.status == 401 and "used already" in await r.text()
    assert not await signed_in(second)
    used = await _audit(host, "twofactor_recovery_code_used")
    assert len(used) == 1 and json.loads(used[0]["details"])["left"] == 9


@pytest.mark.supporthost(plugins=[], login_failures_before_lockout=5)
async def test_wrong_codes_end_the_attempt_and_count_toward_the_lockout(host, clock):
    host.config.clock = clock
    _, secret, _ = await _enrolled(host, clock)
    client = await host.client()
    await password_step(client, "rep1")
    for i in range(4):
        r = await _second_step(client, {"code": f"00000{i}"})
        assert r.status == 401
    r = await _second_step(client, {"code": "000009"})      # the fifth: the account locks
    assert r.status == 423 and "locked" in await r.text()
    r = await _second_step(client, {"code": pyotp.TOTP(secret).at(clock.now)})
    assert r.status == 302 and r.headers["Location"] == "/s/demo/login"    # that attempt is over
    assert not await signed_in(client)
    again = await host.client()
    r = await password_step(again, "rep1")
    assert r.status == 423                                   # the right password is refused too, for now
    assert len(await _audit(host, "login_second_step_failed")) == 5
    assert len(await _audit(host, "account_locked")) == 1


@pytest.mark.supporthost(plugins=[], login_failures_before_lockout=50)
async def test_a_pending_login_takes_five_wrong_codes_then_wants_the_password(host, clock):
    host.config.clock = clock
    _, secret, _ = await _enrolled(host, clock)
    client = await host.client()
    await password_step(client, "rep1")
    for i in range(4):
        assert (await _second_step(client, {"code": f"00000{i}"})).status == 401
    r = await _second_step(client, {"code": "000009"})
    assert r.status == 401 and "log in again" in await r.text()
    r = await _second_step(client, {"code": pyotp.TOTP(secret).at(clock.now)})
    assert r.status == 302 and r.headers["Location"] == "/s/demo/login"


@pytest.mark.supporthost(plugins=[])
async def test_a_pending_login_expires(host, clock):
    host.config.clock = clock
    _, secret, _ = await _enrolled(host, clock)
    client = await host.client()
    await password_step(client, "rep1")
    clock.advance(301)
    r = await _second_step(client, {"code": pyotp.TOTP(secret).at(clock.now)})
    assert r.status == 302 and r.headers["Location"] == "/s/demo/login"
    assert not await signed_in(client)


@pytest.mark.supporthost(plugins=[])
async def test_turning_the_app_off_needs_the_password_and_a_code(host, clock):
    host.config.clock = clock
    client, secret, _ = await _enrolled(host, clock)
    code = pyotp.TOTP(secret).at(clock.now)
    r = await client.post_form("/s/demo/security/totp/disable", {"password": "wrong password", "code": code})
    assert r.status == 403 and "password is not right" in await r.text()
    r = await client.post_form("/s/demo/security/totp/disable", {"password": "correct horse battery",
                                                                 "code": "000000"})
    assert r.status == 403 and "Nothing changed" in await r.text()
    assert (await host.db_read(lambda db: db["totp_secrets"].count)) == 1
    r = await client.post_form("/s/demo/security/totp/disable", {"password": "correct horse battery", "code": code})
    assert r.status == 200 and "The authenticator app is off." in await r.text()
    assert (await host.db_read(lambda db: (db["totp_secrets"].count, db["recovery_codes"].count))) == (0, 0)
    other = await host.client()
    r = await password_step(other, "rep1")
    assert r.status == 302 and r.headers["Location"] == "/s/demo/console"      # no second step any more
    assert len(await _audit(host, "twofactor_totp_disabled")) == 1
    assert len(await _audit(host, "twofactor_totp_disable_refused")) == 2


@pytest.mark.supporthost(plugins=[])
async def test_the_second_step_pages_refuse_without_a_pending_login(host, clock):
    client = await host.client()
    r = await _second_step(client, {"code": "123456"})
    assert r.status == 302 and r.headers["Location"] == "/s/demo/login"
    async with client.http.get(client.url("/s/demo/login/verify"), allow_redirects=False) as r:
        assert r.status == 302
    async with client.http.get(client.url("/s/demo/security"), allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"].startswith("/s/demo/login")
