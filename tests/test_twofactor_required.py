"""The site's "require two-factor sign-in" setting and the admin's reset: an account without a second
factor is sent to set one up right after its password and can open nothing else until it has; switching
the requirement on ends such accounts' logins; an admin resets an account's factors (audited)."""
from __future__ import annotations

import asyncio
import json
import sys

import pyotp
import pytest
from twofactor_helpers import SoftKey, enrol_totp, password_step, recovery_codes_of, signed_in

from conftest import FakeClock

pytestmark = pytest.mark.asyncio


@pytest.fixture
def clock():
    return FakeClock(1_800_000_015.0)


async def _audit(host, action: str) -> list[dict]:
    return await host.db_read(lambda db: list(db.query("select * from audit_log where action = ?", [action])))


async def _require(admin, on: bool = True):
    return await admin.post_form("/s/demo/admin/twofactor", {"require_2fa": "on"} if on else {},
                                 csrf_from="/s/demo/admin", allow_redirects=True)


async def _admin_with_app(host, clock):
    admin = await host.rep("admin")
    _, r = await enrol_totp(admin, at=clock.now)
    assert r.status == 303
    clock.advance(30)
    return admin


@pytest.mark.supporthost(plugins=[])
async def test_an_admin_without_a_second_factor_cannot_require_one(host, clock):
    host.config.clock = clock
    admin = await host.rep("admin")
    r = await _require(admin)
    assert r.status == 409 and "Set up a second factor for your own account first" in await r.text()
    assert not host.site().settings.get("core")
    assert await host.db_read(lambda db: db["site_settings"].count) == 0


@pytest.mark.supporthost(plugins=[])
async def test_a_required_second_factor_is_set_up_before_anything_else(host, clock):
    host.config.clock = clock
    rep = await host.rep("rep1")                         # logged in before the requirement
    admin = await _admin_with_app(host, clock)
    r = await _require(admin)
    assert r.status == 200 and "now required" in await r.text() and "signed out" in await r.text()
    assert not await signed_in(rep)                      # its login ended
    assert await signed_in(admin)
    changed = await _audit(host, "settings_changed")
    assert json.loads(changed[-1]["details"])["require_2fa"] == {"old": False, "new": True}

    person = await host.client()
    r = await password_step(person, "rep1")
    assert r.status == 302 and r.headers["Location"] == "/s/demo/login/enrol"
    for path in ("/s/demo/console", "/s/demo/tokens", "/s/demo/security", "/s/demo/login/verify"):
        async with person.http.get(person.url(path), allow_redirects=False) as page:
            assert page.status == 302 and page.headers["Location"].startswith("/s/demo/login"), path
    r = await person.api_post("/s/demo/api/sessions")
    assert r.status in (401, 403)
    async with person.http.get(person.url("/s/demo/login/enrol")) as page:
        text = await page.text()
        assert "requires a second factor" in text and "Set up an authenticator app" in text
    secret, r = await enrol_totp(person, at=clock.now, path="login/enrol")
    assert r.status == 303 and r.headers["Location"].startswith("/s/demo/security?codes=")
    async with person.http.get(person.url(r.headers["Location"])) as page:
        text = await page.text()
    assert len(recovery_codes_of(text)) == 10 and 'href="/s/demo/console"' in text
    assert await signed_in(person)
    login = (await _audit(host, "login"))[-1]
    assert json.loads(login["details"])["enrolled"] is True
    clock.advance(30)
    later = await host.client()                          # from now on: password, then code
    r = await password_step(later, "rep1")
    assert r.headers["Location"] == "/s/demo/login/verify"
    r = await later.post_form("/s/demo/login/verify", {"code": pyotp.TOTP(secret).at(clock.now)},
                              allow_redirects=False)
    assert r.status == 302 and await signed_in(later)


@pytest.mark.supporthost(plugins=[])
async def test_a_required_second_factor_can_be_a_security_key(host, clock):
    host.config.clock = clock
    await _require(await _admin_with_app(host, clock))
    person = await host.client()
    await password_step(person, "rep2")
    key = SoftKey(host.base, "127.0.0.1")
    r = await person.api_post("/s/demo/security/keys/options")
    options = await r.json()
    r = await person.api_post("/s/demo/security/keys", {"name": "my key", "credential": key.create(options)})
    assert r.status == 200 and (await r.json())["redirect"].startswith("/s/demo/security?codes=")
    assert await signed_in(person)


@pytest.mark.supporthost(plugins=[])
async def test_the_last_factor_cannot_be_removed_while_required(host, clock):
    host.config.clock = clock
    admin = await _admin_with_app(host, clock)
    await _require(admin)
    secret = await host.db_read(lambda db: next(db["totp_secrets"].rows)["secret"])
    r = await admin.post_form("/s/demo/security/totp/disable", {"password": "correct horse battery",
                                                                "code": pyotp.TOTP(secret).at(clock.now)})
    assert r.status == 409 and "requires two-factor sign-in" in await r.text()
    assert await host.db_read(lambda db: db["totp_secrets"].count) == 1


@pytest.mark.supporthost(plugins=[])
async def test_an_admin_resets_an_accounts_second_factors(host, clock):
    host.config.clock = clock
    rep = await host.rep("rep1")
    _, r = await enrol_totp(rep, at=clock.now)
    assert r.status == 303
    admin = await host.rep("admin")
    async with admin.http.get(admin.url("/s/demo/admin")) as page:
        text = await page.text()
    assert "Reset the second factors of rep1" in text and "Reset the second factors of rep2" not in text
    rep_id = await host.db_read(lambda db: next(db["users"].rows_where("username = 'rep1' and site_id = 1"))["id"])
    r = await admin.post_form(f"/s/demo/admin/users/{rep_id}/twofactor/reset", {}, csrf_from="/s/demo/admin")
    assert r.status == 200 and "were reset" in await r.text()
    assert not await signed_in(rep)                      # its logins ended
    assert await host.db_read(lambda db: (db["totp_secrets"].count, db["recovery_codes"].count)) == (0, 0)
    reset = await _audit(host, "twofactor_reset")
    assert len(reset) == 1 and reset[0]["target"] == f"user:{rep_id}"
    assert json.loads(reset[0]["details"])["had_totp"] is True
    again = await host.client()
    r = await password_step(again, "rep1")
    assert r.headers["Location"] == "/s/demo/console"    # no second step now (the site does not require one)
    # another site's account cannot be reset from here; a rep cannot reset at all
    other_id = await host.db_read(lambda db: next(db["users"].rows_where("site_id = 2"))["id"])
    r = await admin.post_form(f"/s/demo/admin/users/{other_id}/twofactor/reset", {}, csrf_from="/s/demo/admin")
    assert r.status == 404
    r = await again.post_form(f"/s/demo/admin/users/{rep_id}/twofactor/reset", {})
    assert r.status == 403


@pytest.mark.supporthost(plugins=[])
async def test_the_only_admin_gets_back_in_with_the_cli_reset(host, clock):
    host.config.clock = clock
    admin = await _admin_with_app(host, clock)
    await _require(admin)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "host", "--data", str(host.data_dir), "reset-two-factor", "demo", "admin",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert "second factors of admin were removed" in out.decode()
    assert not await signed_in(admin)
    person = await host.client()
    r = await password_step(person, "admin")
    assert r.headers["Location"] == "/s/demo/login/enrol"       # required: sets a new one up right away
    reset = await _audit(host, "twofactor_reset")
    assert reset[-1]["actor"] == "cli"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "host", "--data", str(host.data_dir), "reset-two-factor", "demo", "nobody",
        stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 2 and "no such site or user" in err.decode()
