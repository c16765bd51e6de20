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


@pytest.mark.parametrize("flags, mic_text, cam_text", [
    (["--use-fake-ui-for-media-stream"], "No microphone was found", "No camera was found"),
    (["--use-fake-device-for-media-stream"], "Access to the microphone was denied", "Access to the camera was denied"),
], ids=["no-devices", "permission-denied"])
async def test_no_microphone_or_camera_or_permission_denied_gives_a_clear_message(host, flags, mic_text, cam_text):
    errors = []
    async with async_playwright() as pw:
        browser = await launch(pw, flags)
        rep, cust, number = await rep_and_customer(browser, host, errors)
        await rep.locator('[data-open="audio.panel"]').first.click()
        await rep.locator(".audio-start").click()
        await rep.locator(".audio-problem", has_text=mic_text).wait_for()
        assert "You can still listen" in await rep.locator(".audio-problem").text_content()
        await rep.locator(".audio-status", has_text="listening only").wait_for()
        assert await rep.locator(".audio-mute").is_disabled()
        # The customer accepts: same clear message; the call itself is set up (they can listen).
        await cust.locator(".audio-accept").click()
        await cust.locator(".audio-problem", has_text=mic_text).wait_for()
        await cust.locator(".audio-member", has_text="Rita Rep").wait_for()

        await rep.locator('[data-open="video.panel"]').first.click()
        await rep.locator(".video-start").click()
        await rep.locator(".video-problem", has_text=cam_text).wait_for()
        assert "You can still see the others" in await rep.locator(".video-problem").text_content()
        await rep.locator(".video-status", has_text="your camera is off").wait_for()
        await cust.locator('[data-open="video.panel"]').click()
        await cust.locator(".video-status", has_text="your camera is off").wait_for()
        await cust.locator(".video-camera").click()
        await cust.locator(".video-problem", has_text=cam_text).wait_for()
        await browser.close()
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
            await growing(page, "audio", "bytesIn", 2000)
        cookies = await octx.cookies()

        # Dora's network goes: her browser dies without a word to anybody.
        victim = victim_mains[0]
        group = [victim] + victim.children(recursive=True)
        for p in group:
            p.send_signal(signal.SIGKILL)
        psutil.wait_procs(group, timeout=5)
        await rep.locator(".roster .person", has_text="reconnecting").wait_for()
        # Rita and Carla keep talking: their connection to each other still carries audio both ways.
        for page in (rep, cust):
            before_drop = await stats(page, "audio")
            await asyncio.sleep(1.0)
            after = await stats(page, "audio")
            assert after["bytesIn"] > before_drop["bytesIn"] and after["bytesOut"] > before_drop["bytesOut"]

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
