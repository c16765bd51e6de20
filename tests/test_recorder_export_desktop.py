"""A real desktop share on Xvfb recorded by a real host, then (1) exported through the download button's endpoint and
played by Chromium in a <video>: its length, and the screen's colour at the moments the chat said it changed;
(2) played in the player page: jumping to each chat chapter shows that colour, drawn by the live viewer code."""
from __future__ import annotations

import asyncio
import re
import subprocess

import pytest
from aiohttp import web
from playwright.async_api import expect

from agent.consent import Answer
from agent_harness import ScriptedConsent, start_agent, stop_agent
from conftest import PASSWORD
from host.appkeys import DB
from host.router import parse_binary
from plugins.recorder.reader import chapters, load_index
from xscreen import xscreen  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio]
COLOURS = [("red", "#ff0000", (255, 0, 0)), ("green", "#00c000", (0, 192, 0)), ("blue", "#0000ff", (0, 0, 255))]


async def frames_arrive(ws, plugin="desktop"):
    """Draws nothing: acks every whole frame the rep's socket gets, as the viewer does, until cancelled."""
    while True:
        msg = await ws.ws.receive()
        if msg.type.name == "BINARY":
            header, _ = parse_binary(msg.data)
            if header["type"] == f"{plugin}.frame" and header.get("c", 0) == header.get("n", 1) - 1:
                await ws.send({"type": f"{plugin}.ack", "agent": header["from"], "seq": header["seq"]})
        elif msg.type.name != "TEXT":
            return


def paint(xscreen, colour: str) -> None:
    subprocess.run(["xsetroot", "-solid", colour], env=xscreen.env, check=True, timeout=20)


async def serve_file(path):
    """A loopback page and the exported file (with range requests, as a web server serves video)."""
    page = ("<!doctype html><video id=v src='/export.webm' muted preload=auto></video>"
            "<canvas id=c width=320 height=200></canvas>")
    async def index(request):
        return web.Response(text=page, content_type="text/html")

    async def video(request):
        return web.FileResponse(path)
    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/export.webm", video)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"


COLOUR_AT = """async (t) => {
  const v = document.getElementById('v');
  if (v.readyState < 1) await new Promise((ok) => v.addEventListener('loadedmetadata', ok, { once: true }));
  await new Promise((ok) => { v.addEventListener('seeked', ok, { once: true }); v.currentTime = t; });
  const c = document.getElementById('c').getContext('2d');
  c.drawImage(v, 0, 0, 320, 200);
  return [...c.getImageData(160, 100, 1, 1).data.slice(0, 3)];
}"""
DURATION = """async () => {
  const v = document.getElementById('v');
  if (v.readyState < 1) await new Promise((ok) => v.addEventListener('loadedmetadata', ok, { once: true }));
  return v.duration;
}"""


async def record_colours(host, xscreen):
    """A rep records a real desktop share while the screen turns red, green and blue, saying so in the chat each
    time: (rep client, recording id, {colour: recording-clock ms of its chat line}, index)."""
    paint(xscreen, "#000000")
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    agent, task = await start_agent(host, s["number"], consent=ScriptedConsent(Answer(True)))
    pump = None
    try:
        await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"])
        assert (await rep_ws.request({"type": "desktop.request", "level": "view"}))["type"] == "desktop.requested"
        rid = (await rep_ws.request({"type": "recorder.start"}))["recording_id"]
        pump = asyncio.create_task(frames_arrive(rep_ws))
        for name, hexa, _ in COLOURS:
            paint(xscreen, hexa)
            await asyncio.sleep(0.7)                      # the agent's next grab carries it
            await rep_ws.send({"type": "chat.send", "text": f"now {name}"})
            await asyncio.sleep(2.5)                      # the colour stays on screen this long (content time)
        pump.cancel()                                     # the socket is the test's own again
        await asyncio.gather(pump, return_exceptions=True)
        assert (await rep_ws.request({"type": "recorder.stop"}))["type"] == "recorder.stopped"
    finally:
        if pump is not None:
            pump.cancel()
        await stop_agent(agent, task)
    root = host.data_dir / "plugins" / "recorder"
    async with asyncio.timeout(20):                       # written to disk within the writer's flush interval
        while True:
            index = await host.app[DB].read(lambda db: load_index(db, root, rid))
            said = {c["label"].split("now ")[-1]: c["t"] for c in chapters(index) if "now " in c["label"]}
            if set(said) == {"red", "green", "blue"}:
                return rep, rid, said, index
            await asyncio.sleep(0.1)


@pytest.mark.supporthost(plugins=["chat", "desktop", "recorder"])
async def test_a_recorded_desktop_share_exports_to_webm_that_chromium_plays(host, xscreen, browser, tmp_path):
    rep, rid, said, index = await record_colours(host, xscreen)
    res = await rep.http.get(rep.url(f"/s/demo/p/recorder/api/recordings/{rid}/export.webm"))
    assert res.status == 200 and res.headers["Content-Type"] == "video/webm"
    assert "attachment" in res.headers["Content-Disposition"]
    target = tmp_path / "export.webm"
    target.write_bytes(await res.read())
    actions = await host.app[DB].read(lambda db: [r[0] for r in db.execute(
        "select action from audit_log where action = 'recording.downloaded'")])
    assert actions == ["recording.downloaded"]

    runner, base = await serve_file(target)
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(base + "/")
        duration = await page.evaluate(DURATION)
        assert abs(duration * 1000 - index.duration_ms) < 600, (duration, index.duration_ms)
        for name, _, rgb in COLOURS:
            got = await page.evaluate(COLOUR_AT, (said[name] + 1200) / 1000)
            assert all(abs(a - b) <= 40 for a, b in zip(got, rgb)), (name, got)
    finally:
        await context.close()
        await runner.cleanup()


PIXEL = """([x, y]) => {
  const c = [...document.querySelectorAll('.player-screen .desktop-viewer')].find((v) => !v.hidden).querySelector('canvas');
  return [...c.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3)];
}"""


@pytest.mark.supporthost(plugins=["chat", "desktop", "recorder"])
async def test_the_player_shows_the_recorded_desktop_at_each_chat_chapter(host, xscreen, browser):
    rep, rid, said, index = await record_colours(host, xscreen)
    context = await browser.new_context(base_url=host.base)
    try:
        page = await context.new_page()
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        await page.goto("/s/demo/login")
        await page.fill("input[name=username]", "rep1")
        await page.fill("input[name=password]", PASSWORD)
        await page.click(".login-form button[type=submit]")
        await page.wait_for_url("**/s/demo/console")
        await page.goto(f"/s/demo/p/recorder/recordings/{rid}")
        player = page.locator(".recorder-player")
        await expect(player).to_have_attribute("data-ready", "1", timeout=20_000)
        for name, _, rgb in [COLOURS[1], COLOURS[0], COLOURS[2]]:        # out of order: seeks back and forth
            await page.get_by_role("button", name=re.compile(f"now {name}$")).click()
            await expect(player).to_have_attribute("data-t", str(said[name]))
            await expect(player).to_have_attribute("data-seeking", "0")
            got = await page.evaluate(PIXEL, [640, 400])
            assert all(abs(a - b) <= 40 for a, b in zip(got, rgb)), (name, got)
        assert errors == []
    finally:
        await context.close()
