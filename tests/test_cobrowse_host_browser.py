"""The rep's co-browse view in headless Chromium: the replay iframe is sandboxed without scripts, a hostile
page's script, event handler and javascript: link never run in the console, and the page's styles show."""
from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from cobrowse_host_kit import connected_page, inbound, snapshot
from conftest import PASSWORD

pytestmark = pytest.mark.browser
expect.set_options(timeout=20000)

HOSTILE = [
    {"type": 2, "id": 10, "tagName": "script", "attributes": {}, "childNodes": [
        {"type": 3, "id": 11, "textContent": "parent.parent.pwned = 'script'"}]},
    {"type": 2, "id": 12, "tagName": "img", "attributes": {"src": "data:,x", "onerror": "parent.parent.pwned = 'onerror'"},
     "childNodes": []},
    {"type": 2, "id": 13, "tagName": "a", "attributes": {"id": "pay", "href": "javascript:parent.parent.pwned='link'"},
     "childNodes": [{"type": 3, "id": 14, "textContent": "Pay now"}]},
    {"type": 2, "id": 15, "tagName": "p", "attributes": {"id": "styled", "style": "color: rgb(200, 0, 0)"},
     "childNodes": [{"type": 3, "id": 16, "textContent": "Total: 42 EUR"}]},
]


async def rep_console(browser, host, option="cobrowse.view"):
    ctx = await browser.new_context()
    rita = await ctx.new_page()
    rita.errors = []
    rita.on("pageerror", lambda e: rita.errors.append(str(e)))
    await rita.goto(f"{host.base}/s/demo/login")
    await rita.fill("input[name=username]", "rep1")
    await rita.fill("input[name=password]", PASSWORD)
    await rita.click("form.login-form button[type=submit]")
    await rita.locator('.tab[data-tab="application"]:visible').click()
    await rita.locator(f'[data-open="{option}"]:visible').click()
    return ctx, rita


async def test_the_replay_iframe_is_sandboxed_and_a_hostile_page_runs_nothing_in_the_console(host, browser):
    s = await inbound(host, view_without_asking=True)
    page = await connected_page(host, s["key"])
    ctx, rita = await rep_console(browser, host)
    errors = rita.errors
    start = rita.locator(".cobrowse-start:visible")
    await expect(start).to_be_enabled()
    await start.click()
    assert (await page.expect("start"))["mode"] == "view"
    await page.send({"t": "ev", "e": snapshot(HOSTILE, at=1000.0)})
    outer = rita.locator(".cobrowse-stage iframe.cobrowse-frame")
    await expect(outer).to_have_count(1)
    inner = rita.frame_locator(".cobrowse-stage iframe.cobrowse-frame").locator("iframe")
    await expect(inner).to_have_count(1)
    for frame in (outer, inner):                         # both frames: same origin for the console, no scripts
        assert await frame.get_attribute("sandbox") == "allow-same-origin"
    replay = rita.frame_locator(".cobrowse-stage iframe.cobrowse-frame").frame_locator("iframe")
    await expect(replay.locator("#pay")).to_have_text("Pay now")
    await expect(replay.locator("#styled")).to_have_css("color", "rgb(200, 0, 0)")   # the frame's CSP allows styles
    assert await replay.locator("#pay").get_attribute("href") is None
    # the sandbox itself stops a script even if one got past the host: add one by hand
    ran = await rita.evaluate("""() => {
        const outer = document.querySelector('.cobrowse-stage iframe.cobrowse-frame').contentDocument;
        const doc = outer.querySelector('iframe').contentDocument;
        const s = doc.createElement('script'); s.textContent = "parent.parent.pwned = 'injected'"; doc.body.append(s);
        const img = doc.createElement('img'); img.setAttribute('onerror', "parent.parent.pwned = 'injected onerror'");
        img.src = 'data:,broken'; doc.body.append(img);
        return new Promise((r) => setTimeout(() => r(window.pwned || null), 500));
    }""")
    assert ran is None and await rita.evaluate("window.pwned || null") is None
    assert not errors, errors
    # the customer's Stop ends the view in the console
    await page.send({"t": "stop"})
    await expect(rita.locator(".cobrowse-stage iframe")).to_have_count(0)
    await expect(rita.locator(".cobrowse-status:visible")).to_contain_text("Co-browse is off")
    await ctx.close()


async def test_an_outbound_session_shows_both_options_unavailable_with_the_reason(host, browser, support_session):
    ctx, rita = await rep_console(browser, host)
    await expect(rita.locator(".cobrowse-status:visible")).to_have_text(
        "Unavailable: needs a session that came in from your web site")
    await expect(rita.locator('[data-open="cobrowse.control"]:visible')).to_have_class(re.compile("unavailable"))
    await expect(rita.locator(".cobrowse-start:visible")).to_have_count(0)
    await ctx.close()


async def acting(page) -> dict:
    """The next control event that is not the rep's pointer moving."""
    while True:
        m = await page.expect("ctl")
        if m["a"] != "pointer":
            return m
        assert set(m) == {"t", "a", "x", "y"}


async def test_control_clicks_and_types_through_the_overlay_with_the_replayers_node_ids(host, browser):
    s = await inbound(host, view_without_asking=True)
    page = await connected_page(host, s["key"])
    ctx, rita = await rep_console(browser, host)
    await rita.locator(".cobrowse-start:visible").click()
    await page.expect("start")
    form = [{"type": 2, "id": 20, "tagName": "input", "attributes": {"id": "name", "value": "",
                                                                       "style": "width: 300px; height: 40px"},
             "childNodes": []}]
    await page.send({"t": "ev", "e": snapshot(form, at=500.0)})
    replay = rita.frame_locator(".cobrowse-stage iframe.cobrowse-frame").frame_locator("iframe")
    await expect(replay.locator("#name")).to_have_count(1)
    await rita.locator('.tab[data-tab="application"]:visible').click()
    await rita.locator('[data-open="cobrowse.control"]:visible').click()
    await page.expect("snapshot")                        # the replay moved to this panel: it starts over
    await page.send({"t": "ev", "e": snapshot(form, at=600.0)})
    await expect(replay.locator("#name")).to_have_count(1)
    await rita.locator(".cobrowse-start:visible").click()          # Request control
    assert (await page.expect("ask"))["mode"] == "control"
    await page.send({"t": "consent", "mode": "control", "allow": True})
    await page.expect("mode")
    overlay = rita.locator(".cobrowse-overlay")
    await expect(overlay).to_be_visible()
    box = await replay.locator("#name").bounding_box()
    await rita.mouse.click(box["x"] + 10, box["y"] + 10)
    click = await acting(page)
    assert click["a"] == "click" and click["id"] == 20 and 0 <= click["x"] <= 300 and 0 <= click["y"] <= 40
    await rita.keyboard.type("ab")
    await rita.keyboard.press("Enter")
    assert [await acting(page) for _ in range(3)] == [
        {"t": "ctl", "a": "input", "id": 20, "value": "a"}, {"t": "ctl", "a": "input", "id": 20, "value": "ab"},
        {"t": "ctl", "a": "key", "id": 20, "key": "Enter"}]
    assert not rita.errors, rita.errors
    await ctx.close()
