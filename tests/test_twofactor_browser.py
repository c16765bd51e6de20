"""Security keys in headless Chromium with its virtual authenticator (DevTools WebAuthn domain, a CTAP2 USB
key): a rep adds a key on the Security page and signs in with it as the second step; on a site that
requires two-factor sign-in, a rep without a factor is sent to set one up and adds a key there. The pages
run under the strict CSP (no inline script): any CSP violation or page error fails the test. WebAuthn
needs a secure context: the pages are opened at http://localhost (relying party id "localhost")."""
from __future__ import annotations

import pyotp
import pytest
from playwright.async_api import expect
from twofactor_helpers import enrol_totp

from conftest import PASSWORD

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(180)]


async def _person(browser, host):
    port = host.base.rsplit(":", 1)[1]
    context = await browser.new_context(base_url=f"http://localhost:{port}")
    page = await context.new_page()
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    cdp = await context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    made = await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "usb", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    return page, cdp, made["authenticatorId"], problems


async def _password(page, username="rep1"):
    await page.goto("/s/demo/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.get_by_role("button", name="Log in").click()


async def _add_key(page, name: str):
    await page.fill("input.key-name", name)
    await page.get_by_role("button", name="Add a security key").click()
    await expect(page.locator(".recovery-codes")).to_be_visible()
    await expect(page.locator(".recovery-codes li")).to_have_count(10)


@pytest.mark.supporthost(plugins=[])
async def test_a_rep_adds_a_security_key_and_signs_in_with_it(host, browser):
    page, cdp, authenticator, problems = await _person(browser, host)
    await _password(page)
    await page.wait_for_url("**/s/demo/console")
    await page.get_by_role("link", name="Security").click()
    await page.wait_for_url("**/s/demo/security")
    await page.get_by_role("button", name="Add a security key").click()          # no name yet
    await expect(page.locator(".key-status")).to_contain_text("Give the key a name")
    await _add_key(page, "YubiKey on the desk")
    await expect(page.locator(".key-list")).to_contain_text("YubiKey on the desk")
    stored = (await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator}))["credentials"]
    assert len(stored) == 1 and stored[0]["rpId"] == "localhost"

    # the authenticator app too: its QR code shows (an SVG data: image, allowed by the CSP)
    await page.get_by_role("button", name="Set up an authenticator app").click()
    qr = page.locator("img.qr")
    await expect(qr).to_be_visible()
    assert await qr.evaluate("img => img.complete && img.naturalWidth > 0")
    secret = await page.locator(".totp-secret").text_content()
    await page.fill("input[name=code]", pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Turn on").click()
    await expect(page.locator(".totp .state")).to_have_text("On.")

    await page.get_by_role("button", name="Log out").click()
    await _password(page)
    await page.wait_for_url("**/s/demo/login/verify")
    await expect(page.locator("input[name=code]")).to_be_visible()      # the app or the key
    await page.get_by_role("button", name="Use a security key").click()
    await page.wait_for_url("**/s/demo/console")
    stored = (await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator}))["credentials"]
    count = await host.db_read(lambda db: next(db["webauthn_keys"].rows)["sign_count"])
    assert count == stored[0]["signCount"] and count >= 1
    assert problems == []


@pytest.mark.supporthost(plugins=[])
async def test_a_site_requiring_two_factor_sends_a_new_rep_to_add_a_key_first(host, browser):
    admin = await host.rep("admin")
    _, r = await enrol_totp(admin)
    assert r.status == 303
    r = await admin.post_form("/s/demo/admin/twofactor", {"require_2fa": "on"}, csrf_from="/s/demo/admin")
    assert r.status == 200
    page, _, _, problems = await _person(browser, host)
    await _password(page, "rep2")
    await page.wait_for_url("**/s/demo/login/enrol")
    await expect(page.locator(".flash.info")).to_contain_text("requires a second factor")
    await page.goto("/s/demo/console")                     # nothing else opens yet
    await page.wait_for_url("**/s/demo/login**")
    await page.goto("/s/demo/login/enrol")
    await _add_key(page, "Travel key")
    await page.get_by_role("link", name="I saved them: continue").click()
    await page.wait_for_url("**/s/demo/console")
    assert problems == []
