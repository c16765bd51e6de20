"""End to end: `support-manager join <site URL> <number>` (a subprocess, as a customer runs it) in a VoIP
and video call with a rep in real Chromium. The customer answers the Support Manager's own terminal
prompt; the Support Manager's sound device is a private PulseAudio server started by the test (a null
sink as speaker, a 660 Hz sine source as microphone) and its camera a generated video file (OpenCV).
The browser's fake microphone plays a 1 kHz tone file."""
from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from conftest import CHROMIUM_ARGS
from media_samples import write_test_video
from pulse_sandbox import PulseSandbox
from test_rtc_agent import PEAK_HZ, tone_share, tone_wav
from test_rtc_browser import FAKE_MEDIA, growing, rep_and_customer, stops_growing

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not shutil.which("pulseaudio"), reason="needs pulseaudio (scripts/setup.sh)")]
BROWSER_TONE = 1000
AGENT_TONE = 660


class Terminal:
    """The Support Manager's terminal: what it printed so far, and typing a line."""

    def __init__(self, proc):
        self.proc = proc
        self.text = ""
        self.reader = asyncio.create_task(self._read())

    async def _read(self):
        while chunk := await self.proc.stdout.read(4096):
            self.text += chunk.decode(errors="replace")

    async def wait_for(self, words: str, within: float = 15, after: int = 0) -> int:
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        while loop.time() < end:
            at = self.text.find(words, after)
            if at >= 0:
                return at + len(words)
            if self.proc.returncode is not None and self.reader.done():
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"the Support Manager did not print {words!r}; it printed:\n{self.text}")

    async def type(self, line: str) -> None:
        self.proc.stdin.write(f"{line}\n".encode())
        await self.proc.stdin.drain()


async def test_customer_in_support_manager_talks_hears_and_shows_camera_to_rep_in_chromium(host, tmp_path):
    wav = tone_wav(tmp_path / "tone.wav", BROWSER_TONE)
    video_file = write_test_video(str(tmp_path / "camera.avi"), 640, 480, fps=15, seconds=2)
    pulse = PulseSandbox(mic_tone_hz=AGENT_TONE).start()
    errors = []
    proc = None
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                           args=CHROMIUM_ARGS + FAKE_MEDIA + [f"--use-file-for-fake-audio-capture={wav}"])
        try:
            rep, _, number = await rep_and_customer(browser, host, errors, customer=None)

            env = {k: v for k, v in pulse.env().items() if k != "DISPLAY"}
            proc = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "support-manager"), "join", f"{host.base}/s/demo", number,
                "--name", "Carla", "--terminal", "--camera", video_file, env=env, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
            term = Terminal(proc)
            await rep.locator(".roster .name", has_text="Carla").first.wait_for()

            # The rep starts VoIP; the Support Manager asks on its terminal; the customer answers y.
            await rep.locator('[data-open="audio.panel"]').first.click()
            await rep.locator(".audio-start").click()
            at = await term.wait_for("Rita Rep started VoIP (an audio call). Join it with your microphone")
            await term.type("y")
            at = await term.wait_for("You are in the VoIP call", after=at)
            # The rep starts video; asked again, y.
            await rep.locator('[data-open="video.panel"]').first.click()
            await rep.locator(".video-start").click()
            at = await term.wait_for("Rita Rep started video.", after=at)
            await term.type("y")
            at = await term.wait_for("You are in the video call", after=at)

            # The customer's microphone (660 Hz) reaches the rep's browser.
            await growing(rep, "audio", "bytesIn", 2000)
            peak = None
            for _ in range(5):
                peak = await rep.evaluate(PEAK_HZ)
                if peak and abs(peak["hz"] - AGENT_TONE) < 30:
                    break
            assert peak and abs(peak["hz"] - AGENT_TONE) < 30, peak
            # The rep's 1 kHz tone is played by the Support Manager to its speaker (the null sink).
            share = 0.0
            for _ in range(10):
                played = await asyncio.get_running_loop().run_in_executor(None, pulse.record, 1.0)
                share = tone_share(played, BROWSER_TONE)[1] if played.size else 0.0
                if share > 0.5:
                    break
            assert share > 0.5, share
            # The customer's camera (the video file, 640x480) arrives as video in the rep's browser.
            await growing(rep, "video", "framesIn", 5, within=30)
            await rep.locator('.video-tile:not(.camera-off) .video-name', has_text="Carla").wait_for()
            sizes = await rep.evaluate("""() => [...document.querySelectorAll('.video-tile video')]
                .map((v) => [v.videoWidth, v.videoHeight]).filter(([w]) => w > 0)""")
            assert [640, 480] in sizes, sizes

            # "mute" on the Support Manager's terminal: the rep's browser receives no more of its audio.
            await term.type("mute")
            at = await term.wait_for("Your microphone is muted", after=at)
            await stops_growing(rep, "audio", "bytesIn")
            await rep.locator('[data-open="audio.panel"]').first.click()
            await rep.locator(".audio-member.muted", has_text="Carla").wait_for()
            # "camera off": the rep sees the camera is off.
            await term.type("camera off")
            at = await term.wait_for("Your camera is off", after=at)
            await rep.locator('[data-open="video.panel"]').first.click()
            await rep.locator('.video-tile.camera-off .video-name', has_text="Carla").wait_for()

            # The customer quits the Support Manager: it leaves the session and every call hangs up.
            await term.type("quit")
            assert await asyncio.wait_for(proc.wait(), 15) == 0
            await rep.wait_for_function("() => window.__pcs.length > 0 && window.__pcs.every((pc) => pc.connectionState === 'closed')")
            assert "Traceback" not in term.text, term.text
        finally:
            if proc is not None and proc.returncode is None:
                proc.terminate()
                await proc.wait()
            await browser.close()
            pulse.stop()
            if os.environ.get("SHOW_AGENT_LOG") and proc is not None:
                print(term.text)
    assert errors == []
