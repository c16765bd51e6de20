"""A real desktop share on Xvfb recorded by a real host, exported through the download button's endpoint, and
played by Chromium in a <video>: its length, and the screen's colour at the moments the chat said it changed."""
from __future__ import annotations

import asyncio
import subprocess

import pytest
from aiohttp import web

from agent.consent import Answer
from agent_harness import ScriptedConsent, start_agent, stop_agent
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


@pytest.mark.supporthost(plugins=["chat", "desktop", "recorder"])
async def test_a_recorded_desktop_share_exports_to_webm_that_chromium_plays(host, xscreen, browser, tmp_path):
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

    async def closed():
        return await host.app[DB].read(lambda db: [f["name"] for f in db.query(
            "select name from recording_files where recording_id = ? and sha256 is null", [rid])]) == []
    async with asyncio.timeout(20):
        while not await closed():
            await asyncio.sleep(0.1)
    root = host.data_dir / "plugins" / "recorder"
    index = await host.app[DB].read(lambda db: load_index(db, root, rid))
    said = {c["label"].split("now ")[-1]: c["t"] for c in chapters(index) if "now " in c["label"]}
    assert set(said) == {"red", "green", "blue"}

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
