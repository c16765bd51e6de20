"""The customer page's live consent panel in headless Chromium (issue 11, "the customer knows who is
helping"): the site's name and this page's address (not called verified over plain http), the rep's name
and role, who is connected, and every grant on the customer's computer right now (screen, files, calls),
each with a Revoke button that ends that grant on the host and in the real Support Manager while the
others stay. Names are shown as text: markup in a name is not run."""
from __future__ import annotations

import asyncio

import pytest

from agent.app import SupportManager
from agent.consent import Answer
from agent.plugin_manager import make_plugin_manager
from agent.status import TerminalStatus
from agent_harness import MediaSocket, ScriptedConsent, launch, stop_agent
from filexfer_advanced_helpers import P
from host.appkeys import HUB
from host.grants import grants_message
from xscreen import xscreen  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
EVIL_NAME = '<img src=x onerror="window.pwned=1">'


async def until(check, what, timeout: float = 10):
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(what() if callable(what) else what)


async def test_customer_page_lists_who_helps_and_each_grant_and_revokes_one(host, browser, xscreen, tmp_path):
    root = tmp_path / "home"
    root.mkdir()
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = MediaSocket(await rep.ws(s["id"]))
    ctx = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    agent = task = None
    try:
        await page.goto(f"{host.base}/s/demo/join?n={s['number']}")
        await page.fill("input[name=name]", "Carla")
        await page.click("form.join-form button[type=submit]")
        panel = page.locator("section.consent-panel")
        await panel.locator(".consent-reps:text('Helping you: Rita Rep (primary rep).')").wait_for(timeout=10000)
        site = await panel.locator(".consent-site").text_content()
        assert site == f"Site: Demo support — {host.base[7:]} (not verified: this page is not served over HTTPS)"
        await panel.locator(".consent-none").wait_for()

        agent, task = await launch(SupportManager(
            f"{host.base}/s/demo", (await rep_ws.request({"type": "session.new_number"}))["number"], EVIL_NAME,
            consent=ScriptedConsent(Answer(True), Answer(True)), config={"files_root": str(root)},
            pm=make_plugin_manager(only={"desktop", "filexfer_advanced"}), status=TerminalStatus(lambda: None)))
        await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"])
        await rep_ws.request({"type": "desktop.request", "level": "control"})
        await rep_ws.expect(lambda m: m.get("type") == "desktop.answer" and m["allow"])
        await rep_ws.request({"type": f"{P}.request"})
        await rep_ws.expect(lambda m: m.get("type") == f"{P}.answer" and m["allow"])

        grants = panel.locator("li.consent-grant")
        await grants.nth(1).wait_for(timeout=10000)
        texts = sorted(await grants.locator(".consent-what").all_text_contents())
        assert texts == [f"Rita Rep (primary rep) may browse and copy files in {root}",
                         "Rita Rep (primary rep) may see and control the screen"]
        connected = await panel.locator(".consent-connected").text_content()
        assert f"{EVIL_NAME} (secondary customer)" in connected and "Rita Rep (primary rep)" in connected
        assert "null" not in await panel.text_content()
        assert await page.evaluate("window.pwned") is None and await panel.locator("img").count() == 0

        # Revoke the screen: it ends on the host and in the Support Manager; file access stays.
        await panel.locator("li.consent-grant[data-plugin='desktop'] button.consent-revoke").click()
        await until(lambda: not agent.features["desktop"].grants, "the Support Manager still shares the screen")
        await panel.locator("li.consent-grant").nth(1).wait_for(state="detached", timeout=10000)
        assert await panel.locator("li.consent-grant .consent-what").all_text_contents() == [
            f"Rita Rep (primary rep) may browse and copy files in {root}"]
        live = host.app[HUB].sessions[s["id"]]
        assert [g["plugin"] for g in grants_message(live)["grants"]] == [P]
        assert list(agent.features[P].grants) == [rep_ws.hello["you"]["id"]]

        # And the files: nothing is allowed any more.
        await panel.locator(f"li.consent-grant[data-plugin='{P}'] button.consent-revoke").click()
        await until(lambda: not agent.features[P].grants, "the Support Manager still gives file access")
        await panel.locator(".consent-none").wait_for(timeout=10000)
        assert grants_message(live)["grants"] == []
        assert not errors, errors
    finally:
        if agent is not None:
            await stop_agent(agent, task)
        await ctx.close()
