"""The recording's silent call member (plugins/recorder/media_peer.py) in real WebRTC calls: a rep in
headless Chromium whose fake microphone plays a 1 kHz tone and whose fake camera shows a known colour;
the host joins with aiortc as "Recording", and the files it writes are decoded with PyAV."""
from __future__ import annotations

import asyncio
import re
import time

import av
import numpy as np
import pytest
from playwright.async_api import async_playwright

from conftest import CHROMIUM_ARGS
from host.api import call_hook, sessions, site_by_id
from plugin_libs.calls.service import CallService
from plugins.recorder.media_peer import MEMBER_ID, MediaRecorderPeer
from test_rtc_agent import tone_share, tone_wav
from test_rtc_browser import FAKE_MEDIA, growing, join_as_customer, new_person, rep_and_customer

pytestmark = pytest.mark.browser
TONE = 1000
COLOUR = (200, 40, 40)      # the rep's camera picture (RGB)
RECORD_SECONDS = 4.0


def colour_y4m(path, rgb, width=320, height=240, frames=15):
    """A Y4M file of one plain colour, for Chromium's fake camera."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, :] = rgb
    yuv = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p").to_ndarray()
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F15:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + yuv.tobytes())
    return path


def decoded(path):
    """(seconds from the first to the last frame, frames): the whole file decoded with PyAV."""
    with av.open(str(path)) as container:
        frames = list(container.decode(container.streams[0]))
    times = [float(f.pts * f.time_base) for f in frames]
    return max(times) - min(times), frames


async def services_of(app, live) -> dict[str, CallService]:
    """The session's call services, found the way the recorder finds them (the call_services hook)."""
    found = await call_hook(app, "call_services", site_by_id(app, live.site_id))
    return {service.kind: service for _, service in found}


def recording_clock():
    start = time.monotonic()
    return lambda: int((time.monotonic() - start) * 1000)


@pytest.fixture
async def camera_browser(tmp_path):
    wav = tone_wav(tmp_path / "tone.wav", TONE, seconds=5)
    y4m = colour_y4m(tmp_path / "colour.y4m", COLOUR)
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS + FAKE_MEDIA + [
            f"--use-file-for-fake-audio-capture={wav}", f"--use-file-for-fake-video-capture={y4m}"])
        yield b
        await b.close()


async def test_hook_call_services(host):
    app = host.app
    found = dict(await call_hook(app, "call_services", host.site()))
    assert {name: s.kind for name, s in found.items()} == {"audio": "audio", "video": "video"}


async def test_recording_member_records_the_rep_voice_and_camera(host, camera_browser, tmp_path):
    errors = []
    app = host.app
    rep, _, number = await rep_and_customer(camera_browser, host, errors, customer=None)
    live = next(iter(sessions(app).sessions.values()))
    calls = await services_of(app, live)
    folder = tmp_path / "recording"
    folder.mkdir()
    clock = recording_clock()
    closed = []

    # VoIP runs when the recording starts; video starts during the recording.
    await rep.locator('[data-open="audio.panel"]').first.click()
    await rep.locator(".audio-start").click()
    await rep.locator(".audio-status", has_text="In the call").wait_for()
    voice = MediaRecorderPeer(app, live, calls["audio"], folder, 1, clock, on_file=closed.append)
    camera = MediaRecorderPeer(app, live, calls["video"], folder, 1, clock, on_file=closed.append)
    await voice.start()
    await camera.start()
    await rep.locator(".audio-member", has_text="Recording").wait_for()
    await rep.locator('[data-open="video.panel"]').first.click()
    await rep.locator(".video-start").click()
    await rep.locator(".video-status", has_text="the others see your camera").wait_for()
    await rep.locator(f'.video-tile[data-member="{MEMBER_ID}"]', has_text="Recording").wait_for()

    # A customer who joins the call later is recorded too.
    cust_ctx, cust = await new_person(camera_browser, host, errors)
    await join_as_customer(cust, number, "Carla")
    await cust.locator('[data-open="audio.panel"]').first.click()
    await cust.locator(".audio-accept").click()
    await cust.locator(".audio-member", has_text="Recording").wait_for()

    await growing(rep, "audio", "bytesOut", 4000, within=30)
    await growing(rep, "video", "bytesOut", 4000, within=30)
    await asyncio.sleep(RECORD_SECONDS)    # the length of the recording, not a wait for something

    files = await voice.stop() + await camera.stop()
    # Stopping the recording takes the member out of the calls; the calls go on.
    await rep.locator(f'.video-tile[data-member="{MEMBER_ID}"]').wait_for(state="detached")
    await rep.locator('[data-open="audio.panel"]').first.click()
    await rep.locator(".audio-member", has_text="Recording").wait_for(state="detached")
    await rep.locator(".audio-member", has_text="Carla").wait_for()
    assert closed == files

    rep_id = next(p.id for p in live.participants.values() if p.role == "primary_rep")
    cust_id = next(p.id for p in live.participants.values() if p.role == "customer")
    names = sorted(f.name for f in files)
    assert names == sorted([f"media-audio-{rep_id}-1.webm", f"media-video-{rep_id}-1.webm",
                            f"media-audio-{cust_id}-1.webm"]), names
    by_name = {f.name: f for f in files}
    loop = asyncio.get_running_loop()
    for f in files:
        assert (folder / f.name).stat().st_size == f.bytes > 0
        assert re.fullmatch(r"[0-9a-f]{64}", f.sha256)
        assert 0 <= f.first_ms < f.last_ms

    seconds, frames = await loop.run_in_executor(None, decoded, folder / f"media-audio-{rep_id}-1.webm")
    assert RECORD_SECONDS - 0.5 < seconds < RECORD_SECONDS + 30, seconds
    pcm = np.concatenate([fr.to_ndarray().reshape(-1) for fr in frames[-150:]])
    hz, share = tone_share(pcm, TONE, rate=frames[-1].sample_rate)
    assert abs(hz - TONE) < 20 and share > 0.5, (hz, share)

    video = by_name[f"media-video-{rep_id}-1.webm"]
    seconds, frames = await loop.run_in_executor(None, decoded, folder / video.name)
    assert RECORD_SECONDS - 0.5 < seconds < RECORD_SECONDS + 30 and len(frames) > 10, (seconds, len(frames))
    picture = frames[-1].to_ndarray(format="rgb24")
    middle = picture[picture.shape[0] // 4: -picture.shape[0] // 4, picture.shape[1] // 4: -picture.shape[1] // 4]
    assert np.abs(middle.reshape(-1, 3).mean(axis=0) - COLOUR).max() < 25, middle.reshape(-1, 3).mean(axis=0)
    # The rep's video started after the recording's: its file starts later on the recording's clock.
    assert video.first_ms > by_name[f"media-audio-{rep_id}-1.webm"].first_ms
    await cust_ctx.close()
    assert errors == []
