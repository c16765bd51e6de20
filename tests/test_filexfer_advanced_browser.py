"""End to end in headless Chromium: the rep's dashboard browses the customer's folder through the real
Support Manager (in the test's event loop, serving a temporary folder tree; ScriptedConsent clicks Allow
for the person at that computer), copies a file to the rep and downloads it, sends a file into a folder
the rep picked, and the customer's page shows who has access and stops it."""
from __future__ import annotations

import asyncio
import hashlib
import os
import shlex

import pytest

from agent.consent import Answer
from agent_harness import ScriptedConsent
from conftest import PASSWORD
from filexfer_advanced_helpers import P, start_files_agent, stop_files_agent

pytestmark = pytest.mark.browser


async def test_rep_browses_and_transfers_both_ways_from_the_dashboard(host, browser, tmp_path):
    root = tmp_path / "home"
    (root / "docs" / "old").mkdir(parents=True)
    report = os.urandom(300_000)
    (root / "docs" / "report.pdf").write_bytes(report)
    (root / "todo.txt").write_text("call back <b>tomorrow</b>")
    outgoing = tmp_path / "fix-it.sh"
    outgoing.write_bytes(os.urandom(1_500_000))

    rep_ctx = await browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    cust_ctx = await browser.new_context(viewport={"width": 1200, "height": 900})
    agent = task = None
    try:
        rep = await rep_ctx.new_page()
        await rep.goto(f"{host.base}/s/demo/login")
        await rep.fill("input[name=username]", "rep1")
        await rep.fill("input[name=password]", PASSWORD)
        await rep.click("form.login-form button[type=submit]")
        await rep.click(".start-session")
        number = (await rep.locator(".session-number").first.text_content()).strip()

        cust = await cust_ctx.new_page()
        await cust.goto(f"{host.base}/s/demo/join?n={number}")
        await cust.fill("input[name=name]", "Carla")
        await cust.click("form.join-form button[type=submit]")
        await cust.click(f"[data-open='{P}.customer']")
        cpanel = cust.locator(f"section.panel[data-option='{P}.customer']")
        await cpanel.locator("button.fxa-show-command").click()
        await cpanel.locator("code.fxa-command:not(:empty)").wait_for()
        args = shlex.split(await cpanel.locator("code.fxa-command").text_content())
        assert args[:3] == ["support-manager", "join", f"{host.base}/s/demo"]
        consent = ScriptedConsent(Answer(True))
        agent, task = await start_files_agent(host, args[3], root, consent=consent, name="Carla's laptop")
        await cpanel.locator(".fxa-who:text('Nobody can reach your files.')").wait_for()

        await rep.click("button.tab[data-tab=tools]")
        await rep.click(f"[data-open='{P}.browse']")
        panel = rep.locator(f"section.panel[data-option='{P}.browse']")
        await panel.locator("button.fxa-request").click()
        listing = panel.locator("table.fxa-listing")
        await listing.locator("button.fxa-dir[data-name=docs]").wait_for()
        assert "Rita Rep" in consent.asked[0].question()
        assert await listing.locator(".fxa-file[data-name='todo.txt']").text_content() == "todo.txt"
        await cpanel.locator(".fxa-who:text('Rita Rep can browse and copy files in')").wait_for()

        # into docs (lazy listing), copy report.pdf to the rep, then download it in the browser
        await listing.locator("button.fxa-dir[data-name=docs]").click()
        row = listing.locator("tr.fxa-entry", has=rep.locator("[data-name='report.pdf']"))
        await row.wait_for()
        assert (await row.locator(".fxa-size").text_content()) == "293.0 KB"
        assert await listing.locator("button.fxa-dir[data-name=old]").count() == 1
        await row.locator("button.fxa-fetch").click()
        link = panel.locator("li.fxa-transfer[data-status=done] a.fxa-download")
        await link.wait_for()
        sha = await panel.locator("li.fxa-transfer[data-status=done] code.sha256").text_content()
        assert sha == hashlib.sha256(report).hexdigest()
        async with rep.expect_download() as info:
            await link.click()
        download = await info.value
        assert download.suggested_filename == "report.pdf"
        assert open(await download.path(), "rb").read() == report

        # send a file from the rep's computer into the folder shown (docs)
        await panel.locator("input.fxa-upload-input").set_input_files(str(outgoing))
        await panel.locator("button.fxa-send").click()
        await panel.locator("li.fxa-transfer[data-direction=to_customer][data-status=done]").wait_for()
        assert (root / "docs" / "fix-it.sh").read_bytes() == outgoing.read_bytes()
        await listing.locator(".fxa-file[data-name='fix-it.sh']").wait_for()     # the listing was refreshed
        await cpanel.locator("li.fxa-transfer[data-status=done]").first.wait_for()  # the customer saw it too

        # the customer stops file access from the page: the rep's browser goes back to asking
        await cpanel.locator("button.fxa-stop").click()
        await cpanel.locator(".fxa-who:text('Nobody can reach your files.')").wait_for()
        await panel.locator("button.fxa-request").wait_for()
        assert await panel.locator(".fxa-browser").is_hidden()
        assert not agent.features[P].grants
        assert sorted(p.name for p in (root / "docs").iterdir()) == ["fix-it.sh", "old", "report.pdf"]
    finally:
        if agent is not None:
            await stop_files_agent(agent, task)
        await rep_ctx.close()
        await cust_ctx.close()
