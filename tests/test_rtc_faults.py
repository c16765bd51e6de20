"""Faults in calls, in real Chromium: no microphone or camera, permission denied, and a participant
whose network drops mid-call (its browser process is killed) and who comes back."""
from __future__ import annotations

import asyncio
import signal

import psutil
import pytest
from playwright.async_api import async_playwright

from conftest import CHROMIUM_ARGS
from host import session_store as store
from host.appkeys import CONFIG, DB
from test_rtc_browser import (FAKE_MEDIA, PC_SPY, T, growing, join_as_customer, new_person, rep_and_customer,
                              start_voip, stats)

pytestmark = pytest.mark.browser


async def launch(pw, extra):
    return await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS + extra)


async def test_no_microphone_or_camera_or_permission_denied_gives_a_clear_message(host):
    """The rep's browser has no camera or microphone at all; the customer's browser has them, but the
    customer refuses the permission. Each gets a clear message; the call and the panels still work."""
    errors = []
    async with async_playwright() as pw:
        no_devices = await launch(pw, ["--use-fake-ui-for-media-stream"])
        denied = await launch(pw, ["--use-fake-device-for-media-stream"])   # no auto-accept: the prompt is refused
        rep, _, number = await rep_and_customer(no_devices, host, errors, customer=None)
        cctx, cust = await new_person(denied, host, errors)
        await join_as_customer(cust, number, "Carla")
        await rep.locator('[data-open="audio.panel"]').first.click()
        await rep.locator(".audio-start").click()
        await rep.locator(".audio-problem", has_text="No microphone was found").wait_for()
        assert "You can still listen" in await rep.locator(".audio-problem").text_content()
        await rep.locator(".audio-status", has_text="listening only").wait_for()
        assert await rep.locator(".audio-mute").is_disabled()
        # The customer accepts the call but refuses the microphone: a clear message; they still take part.
        await cust.locator(".audio-accept").click()
        await cust.locator(".audio-problem", has_text="Access to the microphone was denied").wait_for()
        await cust.locator(".audio-status", has_text="listening only").wait_for()
        await rep.locator(".audio-member", has_text="Carla").wait_for()

        await rep.locator('[data-open="video.panel"]').first.click()
        await rep.locator(".video-start").click()
        await rep.locator(".video-problem", has_text="No camera was found").wait_for()
        assert "You can still see the others" in await rep.locator(".video-problem").text_content()
        await rep.locator(".video-status", has_text="your camera is off").wait_for()
        await cust.locator('[data-open="video.panel"]').click()
        await cust.locator(".video-status", has_text="your camera is off").wait_for()
        await cust.locator(".video-camera").click()
        await cust.locator(".video-problem", has_text="Access to the camera was denied").wait_for()
        await cust.locator(".video-tile", has_text="Rita Rep").wait_for()   # the panel is whole: others' tiles show
        await denied.close()
        await no_devices.close()
    assert errors == []


def chromium_mains(before: set[int]) -> list[psutil.Process]:
    """Chromium main processes started by this test process since `before` was taken."""
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.pid not in before and "chrom" in p.name() and "chrom" not in p.parent().name():
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


async def test_a_dropped_participant_leaves_the_others_talking_and_can_rejoin(host):
    errors = []
    async with async_playwright() as pw:
        browser = await launch(pw, FAKE_MEDIA)
        rep, cust, number = await rep_and_customer(browser, host, errors)
        sid = cust.url.rsplit("/", 1)[1]
        cfg = host.app[CONFIG]
        second = await host.app[DB].write(lambda db: store.new_code(db, sid, "secondary_customer", cfg.clock(),
                                                                     cfg.number_ttl, cfg.number_digits))
        # A third person, in a browser of their own whose process the test can kill.
        before = {p.pid for p in psutil.Process().children(recursive=True)}
        other = await launch(pw, FAKE_MEDIA)
        victim_mains = chromium_mains(before)
        assert len(victim_mains) == 1
        octx, opage = await new_person(other, host, errors)
        await join_as_customer(opage, second, "Dora Dropped")
        await start_voip(rep, cust)
        await opage.locator(".audio-accept").click()
        await opage.locator(".audio-status", has_text="In the call").wait_for()
        for page in (rep, cust, opage):
            await page.wait_for_function("() => window.__pcs.filter((pc) => pc.connectionState === 'connected').length === 2")
        await growing(opage, "audio", "bytesIn", 2000)
        cookies = await octx.cookies()

        # Dora's network goes: her browser dies without a word to anybody.
        victim = victim_mains[0]
        group = [victim] + victim.children(recursive=True)
        for p in group:
            p.send_signal(signal.SIGKILL)
        await rep.locator(".roster .person", has_text="reconnecting").wait_for()
        # Rita and Carla keep talking: their connection to each other still carries audio both ways.
        before_drop = await asyncio.gather(stats(rep, "audio"), stats(cust, "audio"))
        await asyncio.sleep(1.0)
        after = await asyncio.gather(stats(rep, "audio"), stats(cust, "audio"))
        for b, a in zip(before_drop, after):
            assert a["bytesIn"] > b["bytesIn"] and a["bytesOut"] > b["bytesOut"], (b, a)

        # Dora comes back (same participant, within the grace period) and is in the call again.
        other = await launch(pw, FAKE_MEDIA)
        octx = await other.new_context(base_url=host.base)
        octx.set_default_timeout(T)
        await octx.add_init_script(PC_SPY)
        await octx.add_cookies(cookies)
        opage = await octx.new_page()
        opage.on("pageerror", lambda e: errors.append(str(e)))
        await opage.goto(f"/s/demo/session/{sid}")
        await opage.locator('[data-open="audio.panel"]').click()
        await opage.locator(".audio-status", has_text="In the call").wait_for()
        await opage.wait_for_function("() => window.__pcs.filter((pc) => pc.connectionState === 'connected').length === 2")
        await growing(opage, "audio", "bytesIn", 2000)
        await growing(opage, "audio", "bytesOut", 2000)
        for page in (rep, cust):
            await page.wait_for_function(
                "() => window.__pcs.filter((pc) => pc.connectionState === 'connected').length === 2")
        await rep.locator(".roster .person.online", has_text="Dora Dropped").wait_for()
        await other.close()
        await browser.close()
    assert errors == []
