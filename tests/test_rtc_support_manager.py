"""The Support Manager (the real agent, in this event loop) in the session's VoIP and video calls: asked
first, declining sends nothing, no camera gives a clear message to the customer and to the call, mute and
leave from its terminal commands, a dropped connection rejoins, two agents connect to each other.

Sound goes through a real PulseAudio server started by the test (a null sink as speaker, a 660 Hz sine
source as microphone). The person answering the consent prompt is ScriptedConsent (the browser test
answers the real terminal prompt of a `support-manager` subprocess)."""
from __future__ import annotations

import asyncio
import shutil

import numpy as np
import pytest

from agent.app import SupportManager
from agent.consent import Answer
from agent.plugin_manager import make_plugin_manager
from agent.status import TerminalStatus
from agent_harness import ScriptedConsent
from pulse_sandbox import PulseSandbox
from test_rtc_browser import media_browser  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(not shutil.which("pulseaudio"), reason="needs pulseaudio (scripts/setup.sh)")
TONE = 660


@pytest.fixture
def pulse():
    sandbox = PulseSandbox(mic_tone_hz=TONE).start()
    sandbox.activate()
    yield sandbox
    sandbox.stop()


async def run_agent(host, number, consent, name="Carla", **config):
    agent = SupportManager(f"{host.base}/s/demo", number, name, pm=make_plugin_manager(), consent=consent,
                           status=TerminalStatus(lambda: None), config=config)
    task = asyncio.create_task(agent.run())
    await until(lambda: agent.link.connected.is_set() and agent.me is not None, "the agent did not connect")
    return agent, task


async def stop(agent, task):
    await agent.link.stop()
    try:
        await asyncio.wait_for(task, 5)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        task.cancel()


async def until(check, what, within=10.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while loop.time() < end:
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(what() if callable(what) else what)


def describe(media) -> str:
    leg = media.legs["audio"]
    return (f"me {media.me_id[:6]} epoch {leg.epoch} members {[(k[:6], m['epoch']) for k, m in leg.members.items()]} "
            f"peers {[(k[:6], p.epoch, p.offering, p.pc.signalingState, p.pc.connectionState) for k, p in leg.peers.items()]}")


async def members(sock, kind, match, within=10):
    """The next <kind>.members the rep's socket gets for which match(members) holds."""
    msg = await sock.expect(lambda m: m.get("type") == f"{kind}.members" and match(m["members"]), timeout=within)
    return {m["id"]: m for m in msg["members"]}


async def test_asked_first_decline_sends_nothing_no_camera_is_told_mute_rejoin_and_leave(host, pulse):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    consent = ScriptedConsent(Answer(False), Answer(True), Answer(True))
    agent, task = await run_agent(host, s["number"], consent, camera="/nonexistent/camera.avi")
    me = agent.me["id"]
    calls = agent.features["calls"]
    try:
        # The rep starts VoIP; the customer is asked and declines: no microphone, not in the call, no signal.
        await rep_ws.request({"type": "audio.start"})
        await until(lambda: len(consent.asked) == 1, "the customer was not asked")
        assert "Rita Rep started VoIP" in consent.asked[0].question()
        await until(lambda: any("declined" in r for r in agent.reports), "no word about declining")
        state = await rep_ws.request({"type": "audio.state"})
        assert [m["id"] for m in state["members"]] == [state["started_by"]["id"]]
        assert calls.media._mic_track is None and not calls.media.legs["audio"].active
        assert not [m for m in rep_ws.seen if m.get("type") == "audio.signal"]

        # VoIP again: this time accepted; the agent is in the call as an agent member.
        await rep_ws.request({"type": "audio.stop"})
        await rep_ws.request({"type": "audio.start"})
        joined = await members(rep_ws, "audio", lambda ms: any(m["id"] == me for m in ms))
        assert joined[me]["agent"] and not joined[me]["problem"]
        assert calls.media._mic_track is not None and len(consent.asked) == 2

        # Video, accepted; there is no camera: the customer is told, and so is everybody in the call.
        await rep_ws.request({"type": "video.start"})
        video = await members(rep_ws, "video", lambda ms: any(m["id"] == me and m["problem"] for m in ms))
        assert "No camera was found" in video[me]["problem"] and not video[me]["camera"]
        assert "video" in consent.asked[2].question()
        await until(lambda: any("No camera was found" in r and "without it" in r for r in agent.reports),
                    "the customer was not told there is no camera")

        # Mute from the terminal: the call sees it.
        agent._terminal_command("mute")
        await members(rep_ws, "audio", lambda ms: any(m["id"] == me and m["muted"] for m in ms))
        assert calls.media.legs["audio"].track is None

        # The network drops: the agent comes back into both calls (new epoch), still muted, not asked again.
        epoch = joined[me]["epoch"]
        await agent.link.drop()
        back = await members(rep_ws, "audio", lambda ms: any(m["id"] == me and m["epoch"] > epoch for m in ms))
        await members(rep_ws, "audio", lambda ms: any(m["id"] == me and m["muted"] for m in ms))
        await members(rep_ws, "video", lambda ms: any(m["id"] == me and m["epoch"] > video[me]["epoch"] for m in ms))
        assert back[me]["agent"] and len(consent.asked) == 3
        await until(lambda: any("Back in the VoIP" in r for r in agent.reports), "no word about rejoining")

        # Leave the call from the terminal: out of the audio call, the microphone is closed.
        agent._terminal_command("leave audio")
        await members(rep_ws, "audio", lambda ms: all(m["id"] != me for m in ms))
        await until(lambda: calls.media._mic_track is None, "the microphone stayed open")
        agent._terminal_command("unmute")
        await until(lambda: agent.reports[-1] == "You are not in a VoIP call.", "unmute outside a call")
        # Changed their mind: "join audio" joins again without another question.
        agent._terminal_command("join audio")
        await members(rep_ws, "audio", lambda ms: any(m["id"] == me for m in ms))
        assert len(consent.asked) == 3

        # Quitting the Support Manager leaves the session: the video call loses it too.
        await agent.quit()
        await members(rep_ws, "video", lambda ms: all(m["id"] != me for m in ms))
    finally:
        await stop(agent, task)
    assert not calls.media.legs["audio"].peers and not calls.media.legs["video"].peers


def tone_share(samples: np.ndarray, hz: float, rate: int = 48000, band: float = 40) -> float:
    x = samples.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    near = (freqs > hz - band) & (freqs < hz + band)
    return float(spectrum[near].sum() / max(spectrum[1:].sum(), 1e-9))


async def test_two_support_managers_in_one_call_connect_and_hear_each_other(host, pulse):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    second = (await rep_ws.request({"type": "session.new_number"}))["number"]
    a, a_task = await run_agent(host, s["number"], ScriptedConsent(Answer(True)), name="Carla")
    b, b_task = await run_agent(host, second, ScriptedConsent(Answer(True)), name="Carlos")
    try:
        await rep_ws.request({"type": "audio.start"})
        ids = {a.me["id"], b.me["id"]}
        await members(rep_ws, "audio", lambda ms: ids <= {m["id"] for m in ms})
        ma, mb = a.features["calls"].media, b.features["calls"].media
        # Exactly one of them offers (the lower id), and both connections come up.
        await until(lambda: ma.stats()["audio"].get(b.me["id"]) == "connected"
                    and mb.stats()["audio"].get(a.me["id"]) == "connected",
                    lambda: f"the agents did not connect: {describe(ma)} / {describe(mb)}", 20)
        lower = ma if a.me["id"] < b.me["id"] else mb
        higher = mb if lower is ma else ma
        assert all(p.offering for p in lower.legs["audio"].peers.values())
        assert not any(p.offering for p in higher.legs["audio"].peers.values())
        # Each hears the other's microphone (the 660 Hz sine source) on its speaker.
        for media in (ma, mb):
            await until(lambda: media.speaker.samples().size >= 24000, "no sound arrived", 10)
            assert tone_share(media.speaker.samples()[-24000:], TONE) > 0.5

        # One agent's network drops: it rejoins, the two connect again and hear each other again.
        epoch = ma.legs["audio"].epoch
        await a.link.drop()
        await until(lambda: ma.legs["audio"].epoch not in (None, epoch), "the agent did not rejoin", 15)
        for media in (ma, mb):
            media.speaker.recent.clear()
        await until(lambda: ma.stats()["audio"].get(b.me["id"]) == "connected"
                    and mb.stats()["audio"].get(a.me["id"]) == "connected",
                    lambda: f"no connection after the drop: {describe(ma)} / {describe(mb)}", 20)
        for media in (ma, mb):
            await until(lambda: media.speaker.samples().size >= 24000, "no sound after the drop", 10)
            assert tone_share(media.speaker.samples()[-24000:], TONE) > 0.5

        # The rep ends the session: both Support Managers stop, hung up, microphones closed.
        await rep_ws.send({"type": "session.end"})
        await until(lambda: a_task.done() and b_task.done(), "the Support Managers kept running")
        for media in (ma, mb):
            assert not media.legs["audio"].active and not media.legs["audio"].peers and media._mic_track is None
            assert media.speaker.tasks == {}
    finally:
        await stop(a, a_task)
        await stop(b, b_task)


@pytest.mark.browser
async def test_no_microphone_and_no_camera_are_told_to_the_customer_and_shown_to_the_rep(host, pulse, media_browser):
    from test_rtc_browser import rep_and_customer
    errors = []
    rep, _, number = await rep_and_customer(media_browser, host, errors, customer=None)
    agent, task = await run_agent(host, number, ScriptedConsent(Answer(True), Answer(True)),
                                  microphone="no such microphone", camera="/nonexistent/camera.avi")
    try:
        await rep.locator('[data-open="audio.panel"]').first.click()
        await rep.locator(".audio-start").click()
        await rep.locator(".audio-member", has_text="Carla").locator(".audio-member-problem").filter(
            has_text="No microphone named 'no such microphone' was found.").wait_for()
        await until(lambda: any(r.startswith("No microphone named") and "You are in the VoIP call without it" in r
                                for r in agent.reports), "the customer was not told there is no microphone")
        await rep.locator('[data-open="video.panel"]').first.click()
        await rep.locator(".video-start").click()
        await rep.locator(".video-tile.camera-off", has_text="Carla").locator(".video-off").filter(
            has_text="camera off — No camera was found").wait_for()
        await until(lambda: any(r.startswith("No camera was found") for r in agent.reports),
                    "the customer was not told there is no camera")
    finally:
        await stop(agent, task)
    assert errors == []
