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
from filexfer_advanced_helpers import P, events_of, start_files_agent, stop_files_agent
from host.appkeys import HUB
from plugins.filexfer_advanced.state import state_of

pytestmark = pytest.mark.browser


class Dashboard:
    """The rep's dashboard and the customer's page in Chromium, the customer's Support Manager serving
    ``root``, file access requested by the rep and allowed by the customer."""

    async def open(self, host, browser, root):
        self.rep_ctx = await browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        self.cust_ctx = await browser.new_context(viewport={"width": 1200, "height": 900})
        self.agent = self.task = None
        rep = self.rep = await self.rep_ctx.new_page()
        await rep.goto(f"{host.base}/s/demo/login")
        await rep.fill("input[name=username]", "rep1")
        await rep.fill("input[name=password]", PASSWORD)
        await rep.click("form.login-form button[type=submit]")
        await rep.click(".start-session")
        number = (await rep.locator(".session-number").first.text_content()).strip()

        cust = self.cust = await self.cust_ctx.new_page()
        await cust.goto(f"{host.base}/s/demo/join?n={number}")
        await cust.fill("input[name=name]", "Carla")
        await cust.click("form.join-form button[type=submit]")
        await cust.click(f"[data-open='{P}.customer']")
        cpanel = self.cpanel = cust.locator(f"section.panel[data-option='{P}.customer']")
        await cpanel.locator("button.fxa-show-command").click()
        await cpanel.locator("code.fxa-command:not(:empty)").wait_for()
        args = shlex.split(await cpanel.locator("code.fxa-command").text_content())
        assert args[:3] == ["support-manager", "join", f"{host.base}/s/demo"]
        self.consent = ScriptedConsent(Answer(True))
        self.agent, self.task = await start_files_agent(host, args[3], root, consent=self.consent,
                                                        name="Carla's laptop")
        await cpanel.locator(".fxa-who:text('Nobody can reach your files.')").wait_for()

        await rep.click("button.tab[data-tab=tools]")
        await rep.click(f"[data-open='{P}.browse']")
        panel = self.panel = rep.locator(f"section.panel[data-option='{P}.browse']")
        await panel.locator("button.fxa-request").click()
        self.listing = panel.locator("table.fxa-listing")
        return self

    async def send_file(self, folder: str, path) -> None:
        """Into ``folder`` (a folder of the customer's root), pick ``path`` and press Send."""
        await self.listing.locator(f"button.fxa-dir[data-name={folder}]").click()
        await self.panel.locator(f".fxa-path button.fxa-crumb[data-path={folder}]").wait_for()
        await self.panel.locator("input.fxa-upload-input").set_input_files(str(path))
        await self.panel.locator("button.fxa-send").click()

    async def close(self):
        if self.agent is not None:
            await stop_files_agent(self.agent, self.task)
        await self.rep_ctx.close()
        await self.cust_ctx.close()


async def test_rep_browses_and_transfers_both_ways_from_the_dashboard(host, browser, tmp_path):
    root = tmp_path / "home"
    (root / "docs" / "old").mkdir(parents=True)
    report = os.urandom(300_000)
    (root / "docs" / "report.pdf").write_bytes(report)
    (root / "todo.txt").write_text("call back <b>tomorrow</b>")
    outgoing = tmp_path / "fix-it.sh"
    outgoing.write_bytes(os.urandom(1_500_000))

    d = Dashboard()
    try:
        await d.open(host, browser, root)
        rep, panel, cpanel, listing, agent, consent = d.rep, d.panel, d.cpanel, d.listing, d.agent, d.consent
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
        await d.close()


async def upload_in_flight(host, at_least: int):
    """The rep's upload on the host once it has ``at_least`` bytes and its request is still streaming:
    (live session, Upload). Polled from the test's event loop, which the host shares."""
    upload = None
    for _ in range(4000):
        live = next(iter(host.app[HUB].sessions.values()), None)
        t = next(iter(state_of(live).transfers.values()), None) if live else None
        upload = t.upload if t is not None else None
        if upload is not None and upload.have >= at_least and upload.transport is not None:
            return live, upload
        await asyncio.sleep(0.002)
    raise AssertionError(f"the upload was never caught in flight: {upload}")


async def test_the_reps_upload_resumes_after_the_connection_drops(host, browser, tmp_path):
    root = tmp_path / "home"
    (root / "inbox").mkdir(parents=True)
    outgoing = tmp_path / "big-update.bin"
    data = os.urandom(96 * 1024 * 1024)
    outgoing.write_bytes(data)
    d = Dashboard()
    try:
        await d.open(host, browser, root)
        await d.send_file("inbox", outgoing)
        # the rep's network drops once a quarter of the file is up: the host's end of that connection dies
        _live, upload = await upload_in_flight(host, len(data) // 4)
        upload.transport.abort()
        cut_at = upload.have
        await d.panel.locator("li.fxa-transfer[data-direction=to_customer][data-status=done]").wait_for(timeout=60_000)
        await d.panel.locator(".fxa-status:text('big-update.bin is saved on the customer')").wait_for()
        assert upload.resumed_at and cut_at <= upload.resumed_at[0] < len(data)     # went on from what the host had
        assert hashlib.sha256((root / "inbox" / "big-update.bin").read_bytes()).hexdigest() == \
            hashlib.sha256(data).hexdigest()
        sha = await d.panel.locator("li.fxa-transfer[data-direction=to_customer] code.sha256").text_content()
        assert sha == hashlib.sha256(data).hexdigest()
        assert not [p for p in root.rglob("*") if p.name.endswith(".part")]
        assert not list(host.data_dir.joinpath(P, "tmp").glob("*.part"))
    finally:
        await d.close()


async def test_after_a_reload_the_same_file_goes_on_from_what_the_host_has(host, browser, tmp_path):
    root = tmp_path / "home"
    (root / "inbox").mkdir(parents=True)
    outgoing = tmp_path / "big-update.bin"
    data = os.urandom(96 * 1024 * 1024)
    outgoing.write_bytes(data)
    d = Dashboard()
    try:
        await d.open(host, browser, root)
        await d.send_file("inbox", outgoing)
        live, upload = await upload_in_flight(host, len(data) // 4)
        await d.rep.reload()          # a quarter is up: the rep reloads the page (the upload stops there)
        for _ in range(200):
            if not upload.busy:
                break
            await asyncio.sleep(0.05)
        kept = upload.have
        assert kept < len(data)
        await d.rep.click("button.tab[data-tab=tools]")
        await d.rep.click(f"[data-open='{P}.browse']")
        await d.send_file("inbox", outgoing)           # the same file again
        await d.panel.locator("li.fxa-transfer[data-direction=to_customer][data-status=done]").wait_for(timeout=60_000)
        assert len(upload.resumed_at) == 1 and kept <= upload.resumed_at[0] < len(data)   # went on, not from 0
        assert len([1 for k, _ in await events_of(host, live.id) if k == f"{P}.transfer_started"]) == 1
        assert hashlib.sha256((root / "inbox" / "big-update.bin").read_bytes()).hexdigest() == \
            hashlib.sha256(data).hexdigest()
    finally:
        await d.close()
