"""What docs/plugins.md says of `mount(api)` and `session.hello`, checked in a real Chromium: mount runs
after the first session.hello (the participant and the session are known, the socket is open, and a
listener added in mount does not hear that first hello); after a reconnect the listener hears the next."""
from __future__ import annotations

import json

import pytest
from playwright.async_api import expect

from host.api import sessions
from host.testing import PASSWORD
from plugins_for_tests import mount_timing

pytestmark = [pytest.mark.browser, pytest.mark.supporthost(plugins=[], extra_plugins=[("mount_timing", mount_timing)])]


async def test_mount_runs_after_the_first_hello_and_hears_the_next_after_a_reconnect(host, browser):
    context = await browser.new_context(base_url=host.base)
    page = await context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto("/s/demo/login")
    await page.fill("input[name=username]", "rep1")
    await page.fill("input[name=password]", PASSWORD)
    await page.click(".login-form button[type=submit]")
    await page.wait_for_url("**/s/demo/console")
    await page.locator(".start-session").first.click()
    timing = page.locator(".session:not([hidden]) .mount-timing")
    await expect(timing).to_have_text('{"meAtMount":true,"sessionAtMount":true,"openAtMount":true,"hellos":0}',
                                      timeout=8000)

    # the host drops the connection (as a restart would): the client reconnects and hears a new hello
    session_id = await page.locator(".session:not([hidden])").get_attribute("data-session")
    live = await sessions(host.app).get(session_id)
    (rep,) = [p for p in live.participants.values() if p.conn is not None]
    await rep.conn.ws.close(code=1012, message=b"restarting")
    await expect(timing).to_contain_text('"hellos":1', timeout=8000)
    assert json.loads(await timing.text_content())["meAtMount"] is True
    assert errors == []
    await context.close()
