"""The Support Manager's media (plugin_libs/calls/media/: aiortc, PyAudio, OpenCV) in a call with a
rep in real Chromium. Sound goes through a real PulseAudio server started by the test (null sink as
speaker, a 660 Hz sine source as microphone); the browser's fake microphone plays a 1 kHz tone file."""
from __future__ import annotations

import asyncio
import json
import math
import shutil
import struct
import wave

import numpy as np
import pytest
from playwright.async_api import async_playwright

from conftest import CHROMIUM_ARGS
from media_samples import write_test_video
from plugin_libs.calls.media.agent_media import AgentMedia
from plugin_libs.calls.media.audio_tracks import PyAudioMicrophone, PyAudioSpeaker
from plugin_libs.calls.media.video_tracks import OpenCVCamera
from pulse_sandbox import PulseSandbox
from test_rtc_browser import FAKE_MEDIA, growing, rep_and_customer, stops_growing

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not shutil.which("pulseaudio"), reason="needs pulseaudio (scripts/setup.sh)")]
BROWSER_TONE = 1000
AGENT_TONE = 660

# The strongest frequency of the audio the rep's browser receives (an AnalyserNode on the remote track).
PEAK_HZ = """
async () => {
  const pc = window.__pcs.find((p) => p.connectionState === "connected" && p.getReceivers().some((r) => r.track.kind === "audio"));
  if (!pc) return null;
  const track = pc.getReceivers().find((r) => r.track.kind === "audio").track;
  const ctx = new AudioContext();
  await ctx.resume();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 8192;
  ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
  await new Promise((r) => setTimeout(r, 1200));
  const db = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(db);
  let best = 1;
  for (let i = 1; i < db.length; i++) if (db[i] > db[best]) best = i;
  await ctx.close();
  return { hz: best * ctx.sampleRate / analyser.fftSize, db: db[best] };
}
"""


PC_STATES = """() => window.__pcs.map((pc) => ({connection: pc.connectionState, ice: pc.iceConnectionState,
  signaling: pc.signalingState, gathering: pc.iceGatheringState, remote: !!pc.remoteDescription,
  transceivers: pc.getTransceivers().map((t) => `${t.receiver.track.kind}:${t.currentDirection}`)}))"""


def tone_wav(path, hz, seconds=3, rate=48000):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * hz * i / rate)))
                               for i in range(int(rate * seconds))))
    return path


def tone_share(samples: np.ndarray, hz: float, rate: int = 48000, band: float = 40) -> tuple[float, float]:
    """(the strongest frequency, the share of the signal's energy within `band` Hz of `hz`)."""
    x = samples.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    near = (freqs > hz - band) & (freqs < hz + band)
    return float(freqs[spectrum[1:].argmax() + 1]), float(spectrum[near].sum() / max(spectrum[1:].sum(), 1e-9))


@pytest.fixture
def pulse():
    sandbox = PulseSandbox(mic_tone_hz=AGENT_TONE).start()
    sandbox.activate()
    yield sandbox
    sandbox.stop()


async def test_agent_talks_hears_and_sends_its_camera_to_a_browser(host, pulse, tmp_path):
    wav = tone_wav(tmp_path / "tone.wav", BROWSER_TONE)
    video_file = write_test_video(str(tmp_path / "synthetic.avi"), 640, 480, fps=15, seconds=2)
    errors = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                           args=CHROMIUM_ARGS + FAKE_MEDIA + [f"--use-file-for-fake-audio-capture={wav}"])
        rep, _, number = await rep_and_customer(browser, host, errors, customer=None)

        # The agent joins as the customer, over real HTTP and a real WebSocket.
        agent = await host.client()
        r = await agent.join(number, "Agent Carla")
        sid = r.headers["Location"].rsplit("/", 1)[1]
        sock = await agent.ws(sid)
        calls = {"audio": asyncio.Event(), "video": asyncio.Event()}

        def on_event(m):
            if m["type"] in ("audio.call", "video.call") and m.get("active"):
                calls[m["type"].split(".")[0]].set()
        speaker = PyAudioSpeaker()
        media = AgentMedia(lambda m: sock.ws.send_str(json.dumps(m)), sock.hello["you"]["id"],
                           microphone=PyAudioMicrophone, speaker=speaker,
                           camera=lambda limits: OpenCVCamera(video_file, **limits), on_event=on_event)
        runner = asyncio.create_task(media.run(sock.ws))
        try:
            await rep.locator('[data-open="audio.panel"]').first.click()
            await rep.locator(".audio-start").click()
            await asyncio.wait_for(calls["audio"].wait(), 10)
            await media.join("audio")
            await rep.locator('[data-open="video.panel"]').first.click()
            await rep.locator(".video-start").click()
            await asyncio.wait_for(calls["video"].wait(), 10)
            await media.join("video", send_camera=True)

            # The agent's microphone (660 Hz) reaches the rep's browser.
            await growing(rep, "audio", "bytesIn", 2000)
            peak = None
            for _ in range(5):
                peak = await rep.evaluate(PEAK_HZ)
                if peak and abs(peak["hz"] - AGENT_TONE) < 30:
                    break
            assert peak and abs(peak["hz"] - AGENT_TONE) < 30, peak

            await rep.locator('[data-open="audio.panel"]').first.click()
            await rep.locator(".audio-member.speaking", has_text="Agent Carla").wait_for()

            # The browser's 1 kHz tone reaches the agent and is played to its speaker (the null sink).
            rep_id = next(iter(media.legs["audio"].members))
            for _ in range(50):
                if speaker.samples().size >= 48000:
                    break
                await asyncio.sleep(0.1)
            hz, share = tone_share(speaker.samples()[-48000:], BROWSER_TONE)
            assert abs(hz - BROWSER_TONE) < 20 and share > 0.5, (hz, share)
            played = await asyncio.get_running_loop().run_in_executor(None, pulse.record, 1.0)
            hz, share = tone_share(played, BROWSER_TONE)
            assert abs(hz - BROWSER_TONE) < 20 and share > 0.5, (hz, share)

            # The synthetic OpenCV capture arrives as video at the rep; the rep's camera at the agent.
            # (On a heavily loaded machine aiortc's ICE checks can take a while: wait for both connections.)
            try:
                await rep.wait_for_function(
                    "() => window.__pcs.filter((pc) => pc.connectionState === 'connected').length === 2",
                    timeout=30000)
            except Exception:
                raise AssertionError(f"the video connection did not come up: browser {await rep.evaluate(PC_STATES)}, "
                                     f"agent {media.stats()}") from None
            now = await growing(rep, "video", "framesIn", 5)
            size = await rep.evaluate("""() => [...document.querySelectorAll('.video-tile video')]
                .map((v) => [v.videoWidth, v.videoHeight]).filter(([w]) => w > 0)""")
            assert [640, 480] in size, size
            assert now["bytesIn"] > 0
            for _ in range(50):
                if media.video.frames.get(rep_id, 0) >= 5:
                    break
                await asyncio.sleep(0.1)
            assert media.video.frames.get(rep_id, 0) >= 5

            # The agent mutes: the rep's browser stops receiving its audio.
            await media.set_muted(True)
            await stops_growing(rep, "audio", "bytesIn")
            await rep.locator('[data-open="audio.panel"]').first.click()
            await rep.locator(".audio-member.muted", has_text="Agent Carla").wait_for()
        finally:
            await media.close()
            runner.cancel()
            await browser.close()
    assert errors == []
