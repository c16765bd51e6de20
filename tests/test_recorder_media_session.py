"""Calls in a session recording, end to end: the recording starts before any call, the rep (headless
Chromium, a 1 kHz fake microphone) starts VoIP and the customer's Support Manager (aiortc + PyAudio on a
private PulseAudio server whose microphone plays 660 Hz) joins it. The recorder's "Recording" member joins
the call as it starts; the Support Manager sees it and offers to it; when the call stops the files are
closed and registered (kind 'media') while the recording goes on."""
from __future__ import annotations

import asyncio
import json
import shutil

import numpy as np
import pytest
from playwright.async_api import async_playwright

from conftest import CHROMIUM_ARGS
from host.api import database, plugin_data_dir, sessions
from plugin_libs.calls.media.agent_media import AgentMedia
from plugin_libs.calls.media.audio_tracks import PyAudioMicrophone, PyAudioSpeaker
from plugins.recorder import service as recorder
from plugins.recorder.media_files import sha256_of
from plugins.recorder.media_peer import MEMBER_ID
from pulse_sandbox import PulseSandbox
from test_recorder_media import RECORD_SECONDS, decoded
from test_rtc_agent import tone_share, tone_wav
from test_rtc_browser import FAKE_MEDIA, growing, rep_and_customer

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not shutil.which("pulseaudio"), reason="needs pulseaudio (scripts/setup.sh)")]
REP_TONE, AGENT_TONE = 1000, 660


@pytest.fixture
def pulse():
    sandbox = PulseSandbox(mic_tone_hz=AGENT_TONE).start()
    sandbox.activate()
    yield sandbox
    sandbox.stop()


async def until(check, timeout=30.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.1)


def tone_of(path) -> tuple[float, float, float]:
    """(seconds, strongest frequency, share of the energy near it) of an audio file's last 3 seconds."""
    seconds, frames = decoded(path)
    pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in frames[-150:]])
    hz, _ = tone_share(pcm, 0, rate=frames[-1].sample_rate)
    return seconds, hz, tone_share(pcm, hz, rate=frames[-1].sample_rate)[1]


async def test_a_call_during_a_recording_is_recorded_with_the_support_manager(host, pulse, tmp_path):
    app = host.app
    wav = tone_wav(tmp_path / "tone.wav", REP_TONE, seconds=5)
    errors = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                           args=CHROMIUM_ARGS + FAKE_MEDIA + [f"--use-file-for-fake-audio-capture={wav}"])
        rep, _, number = await rep_and_customer(browser, host, errors, customer=None)
        agent = await host.client()
        r = await agent.join(number, "Agent Carla")
        sid = r.headers["Location"].rsplit("/", 1)[1]
        sock = await agent.ws(sid)
        live = sessions(app).sessions[sid]
        started = asyncio.Event()
        media = AgentMedia(lambda m: sock.ws.send_str(json.dumps(m)), sock.hello["you"]["id"],
                           microphone=PyAudioMicrophone, speaker=PyAudioSpeaker(play=False),
                           on_event=lambda m: m["type"] == "audio.call" and m.get("active") and started.set())
        runner = asyncio.create_task(media.run(sock.ws))
        rep_person = live.primary()
        try:
            rec = await recorder.start(app, live, rep_person)      # no call runs yet
            await rep.locator('[data-open="audio.panel"]').first.click()
            await rep.locator(".audio-start").click()
            await asyncio.wait_for(started.wait(), 15)
            await media.join("audio")

            # Everybody sees the recording member; the Support Manager offers to it and gets connected.
            await rep.locator(".audio-member", has_text="Recording").wait_for()
            leg = media.legs["audio"]
            await until(lambda: leg.members.get(MEMBER_ID, {}).get("name") == "Recording")
            await until(lambda: leg.states.get(MEMBER_ID) == "connected")
            await growing(rep, "audio", "bytesOut", 4000, within=30)
            await asyncio.sleep(RECORD_SECONDS)    # the length of the call, not a wait for something

            # The rep ends VoIP: the files are closed and registered; the recording goes on.
            await rep.locator(".audio-end").click()
            await rep.locator(".audio-status", has_text="VoIP has ended").wait_for()
            rows = []

            async def media_rows():
                return await database(app).read(lambda db: list(db.query(
                    "select * from recording_files where recording_id = ? and kind = 'media'", [rec.id])))
            for _ in range(300):
                rows = await media_rows()
                if len(rows) == 2:
                    break
                await asyncio.sleep(0.1)
            assert recorder.state_of(live).active is rec
            assert await recorder.stop(app, live, rep_person)
        finally:
            await media.close()
            runner.cancel()
            await browser.close()

    folder = plugin_data_dir(app, "recorder") / str(live.site_id) / rec.id
    names = {row["name"]: row for row in rows}
    agent_id = sock.hello["you"]["id"]
    assert set(names) == {f"media-audio-{rep_person.id}-1.webm", f"media-audio-{agent_id}-1.webm"}, names
    loop = asyncio.get_running_loop()
    for name, row in names.items():
        assert row["sha256"] == await loop.run_in_executor(None, sha256_of, folder / name)
        assert row["bytes"] == (folder / name).stat().st_size and row["first_ms"] < row["last_ms"]
    for who, tone in ((rep_person.id, REP_TONE), (agent_id, AGENT_TONE)):
        seconds, hz, share = await loop.run_in_executor(None, tone_of, folder / f"media-audio-{who}-1.webm")
        assert seconds > RECORD_SECONDS - 0.5 and abs(hz - tone) < 20 and share > 0.5, (who, seconds, hz, share)
    flags = await database(app).read(lambda db: db["recordings"].get(rec.id))
    assert flags["has_media"] == 1 and flags["status"] == "complete"
    assert errors == []
