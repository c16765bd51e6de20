"""Audio and video between two people in real headless Chromium (fake camera and microphone),
with the host relaying the WebRTC signalling. The tests read the browsers' WebRTC statistics."""
from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import async_playwright

from conftest import CHROMIUM_ARGS, PASSWORD

pytestmark = pytest.mark.browser
FAKE_MEDIA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              "--autoplay-policy=no-user-gesture-required"]
T = 15000

# Keeps every RTCPeerConnection a page makes in window.__pcs, so the test can read its statistics.
PC_SPY = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();
"""

STATS = """
async (kind) => {
  const out = { bytesIn: 0, bytesOut: 0, framesIn: 0, open: 0, connected: 0 };
  for (const pc of window.__pcs) {
    if (pc.connectionState === "closed") continue;
    out.open += 1;
    if (pc.connectionState === "connected") out.connected += 1;
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.kind !== kind) return;
      if (s.type === "inbound-rtp") { out.bytesIn += s.bytesReceived || 0; out.framesIn += s.framesDecoded || 0; }
      if (s.type === "outbound-rtp") out.bytesOut += s.bytesSent || 0;
    });
  }
  return out;
}
"""


@pytest.fixture
async def media_browser():
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS + FAKE_MEDIA)
        yield b
        await b.close()


async def new_person(browser, host, errors):
    ctx = await browser.new_context(base_url=host.base)
    ctx.set_default_timeout(T)
    await ctx.add_init_script(PC_SPY)
    page = await ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    return ctx, page


async def rep_and_customer(browser, host, errors, customer="Carla"):
    rep_ctx, rep = await new_person(browser, host, errors)
    await rep.goto("/s/demo/login")
    await rep.fill("input[name=username]", "rep1")
    await rep.fill("input[name=password]", PASSWORD)
    await rep.click(".login-form button[type=submit]")
    await rep.wait_for_url("**/s/demo/console")
    await rep.locator(".start-session").first.click()
    number = re.sub(r"\D", "", await rep.locator(".session-number").first.text_content() or "")
    if customer is None:
        return rep, None, number
    cust_ctx, cust = await new_person(browser, host, errors)
    await join_as_customer(cust, number, customer)
    return rep, cust, number


async def join_as_customer(page, number, name):
    await page.goto("/s/demo/")
    await page.fill("input[name=number]", number)
    await page.fill("input[name=name]", name)
    await page.click(".join-form button[type=submit]")
    await page.wait_for_url(re.compile(r"/s/demo/session/[0-9a-f]+$"))


async def stats(page, kind):
    return await page.evaluate(STATS, kind)


async def growing(page, kind, field, min_gain=1, within=10.0):
    """Wait until stats[field] grows by min_gain between two samples; return the last sample."""
    first = await stats(page, kind)
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while loop.time() < end:
        await asyncio.sleep(0.3)
        now = await stats(page, kind)
        if now[field] - first[field] >= min_gain:
            return now
    raise AssertionError(f"{kind} {field} did not grow: {first} -> {now}")


async def stops_growing(page, kind, field, within=6.0, quiet=1.2):
    """Wait until stats[field] stays the same for `quiet` seconds (packets already on their way may
    still arrive just after a change); fail if it keeps growing for `within` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    last, since = (await stats(page, kind))[field], loop.time()
    while loop.time() < end:
        await asyncio.sleep(0.2)
        now = (await stats(page, kind))[field]
        if now != last:
            last, since = now, loop.time()
        elif loop.time() - since >= quiet:
            return now
    raise AssertionError(f"{kind} {field} kept growing for {within} s")


async def start_voip(rep, cust):
    await rep.locator('[data-open="audio.panel"]').first.click()
    await rep.locator(".audio-start").click()
    await rep.locator(".audio-status", has_text="In the call").wait_for()
    await cust.locator(".audio-prompt", has_text="Rita Rep started VoIP").wait_for()
    await cust.locator(".audio-accept").click()
    await cust.locator(".audio-status", has_text="In the call").wait_for()


async def start_video(rep, cust):
    await rep.locator('[data-open="video.panel"]').first.click()
    await rep.locator(".video-start").click()
    await rep.locator(".video-status", has_text="the others see your camera").wait_for()
    await cust.locator('[data-open="video.panel"]').click()
    await cust.locator(".video-status", has_text="your camera is off").wait_for()
    await cust.locator(".video-camera").click()
    await cust.locator(".video-status", has_text="the others see your camera").wait_for()


async def test_audio_and_video_flow_both_ways_and_mute_stops_sending(host, media_browser):
    errors = []
    rep, cust, number = await rep_and_customer(media_browser, host, errors)
    await start_voip(rep, cust)
    await start_video(rep, cust)
    for page in (rep, cust):
        await growing(page, "audio", "bytesIn", 2000)
        await growing(page, "video", "bytesIn", 20000)
        await growing(page, "video", "framesIn", 5)
    # Each sees the other's picture and name.
    await rep.locator('.video-tile:not(.camera-off) .video-name', has_text="Carla").wait_for()
    await cust.locator('.video-tile:not(.camera-off) .video-name', has_text="Rita Rep").wait_for()

    # The customer mutes: nothing more leaves their browser, the rep hears nothing more, the rep still sends.
    await cust.locator('[data-open="audio.panel"]').click()
    # Another microphone: the call goes on with it (Chromium's fake devices offer several).
    mics = await cust.locator(".audio-mic option").evaluate_all("(os) => os.map((o) => o.value)")
    assert len(mics) >= 2, mics
    await cust.locator(".audio-mic").select_option(mics[1])
    await growing(rep, "audio", "bytesIn", 1000)
    assert await cust.locator(".audio-problem").is_hidden()
    speakers = await cust.locator(".audio-speaker option").evaluate_all("(os) => os.map((o) => o.value)")
    assert len(speakers) >= 2, speakers
    await cust.locator(".audio-speaker").select_option(speakers[1])   # the rep's voice now plays there (setSinkId)
    await cust.wait_for_function("""(id) => { const a = [...document.querySelectorAll(".audio-sinks audio")];
        return a.length > 0 && a.every((x) => x.sinkId === id); }""", arg=speakers[1])
    assert await cust.locator(".audio-problem").is_hidden()
    await cust.locator(".audio-mute").click()
    await rep.locator('[data-open="audio.panel"]').first.click()
    await rep.locator('.audio-member.muted', has_text="Carla").wait_for()
    await stops_growing(cust, "audio", "bytesOut")
    await stops_growing(rep, "audio", "bytesIn", within=2.0)
    await growing(rep, "audio", "bytesOut", 1000)
    await cust.locator(".audio-mute", has_text="Unmute").click()
    await growing(rep, "audio", "bytesIn", 1000)

    # The rep ends the session: both browsers hang up (every peer connection closed).
    rep.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
    await rep.locator('.session:not([hidden]) .tab[data-tab="session"]').click()
    await rep.locator('.session:not([hidden]) [data-open="session.end"]').click()
    await rep.locator(".session:not([hidden]) .end-session").click()
    await cust.locator(".ended").wait_for()
    for page in (rep, cust):
        await page.wait_for_function("() => window.__pcs.length > 0 && window.__pcs.every((pc) => pc.connectionState === 'closed')")
    assert errors == []
