"""The Support Manager (the real agent, in this event loop) in a VoIP call with a rep in real Chromium:
its status line says who is speaking (from the level of the sound itself), and the customer switches
microphone and speaker mid-call from the terminal without dropping the call.

Sound goes through a private PulseAudio server started by the test: a null sink (agentspk) is the
speaker, a 660 Hz sine source the microphone. An ALSA device "spkmonitor" (the null sink's monitor)
is a second microphone: switching to it, the agent sends back what it plays, i.e. the rep's own 1 kHz
tone, which the rep's browser then hears instead of 660 Hz. The person answering the consent prompt is
ScriptedConsent; the status is a TerminalStatus that also keeps the lines the window would show."""
from __future__ import annotations

import asyncio
import shutil

import pytest
from playwright.async_api import async_playwright

from agent.app import SupportManager
from agent.consent import Answer
from agent.plugin_manager import make_plugin_manager
from agent.status import TerminalStatus
from agent_harness import ScriptedConsent
from conftest import CHROMIUM_ARGS
from pulse_sandbox import PulseSandbox
from test_rtc_agent import PEAK_HZ, tone_wav
from test_rtc_browser import FAKE_MEDIA, growing, rep_and_customer, stats
from test_rtc_support_manager import until

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not shutil.which("pulseaudio"), reason="needs pulseaudio (scripts/setup.sh)")]
AGENT_TONE = 660
REP_TONE = 1000
ASOUNDRC = """pcm.spkmonitor {
  type pulse
  device "agentspk.monitor"
  hint { show on
         description "The null sink's monitor" }
}
ctl.spkmonitor { type pulse }
"""


class SeenStatus(TerminalStatus):
    """The terminal status, keeping every line a plugin gives the status window."""

    def __init__(self):
        super().__init__(lambda: None)
        self.lines: list[str] = []

    def controls(self, key, text, buttons):
        self.lines.append(text)


@pytest.fixture
def pulse(monkeypatch):
    sandbox = PulseSandbox(mic_tone_hz=AGENT_TONE).start()
    (sandbox.dir / ".asoundrc").write_text(ASOUNDRC)
    monkeypatch.setenv("HOME", str(sandbox.dir))    # ALSA reads ~/.asoundrc: the second microphone
    sandbox.activate()
    yield sandbox
    sandbox.stop()


async def peak_near(page, hz, tries=6):
    peak = None
    for _ in range(tries):
        peak = await page.evaluate(PEAK_HZ)
        if peak and abs(peak["hz"] - hz) < 30:
            return peak
    raise AssertionError(f"the rep does not hear {hz} Hz: {peak}")


def last_report(agent, start):
    return lambda: next((r for r in reversed(agent.reports) if r.startswith(start)), None)


async def test_status_says_who_speaks_and_microphone_and_speaker_switch_mid_call(host, pulse, tmp_path, capsys):
    wav = tone_wav(tmp_path / "tone.wav", REP_TONE)
    errors = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                           args=CHROMIUM_ARGS + FAKE_MEDIA + [f"--use-file-for-fake-audio-capture={wav}"])
        agent = task = None
        try:
            rep, _, number = await rep_and_customer(browser, host, errors, customer=None)

            status = SeenStatus()
            agent = SupportManager(f"{host.base}/s/demo", number, "Carla", pm=make_plugin_manager(),
                                   consent=ScriptedConsent(Answer(True)), status=status, config={})
            task = asyncio.create_task(agent.run())
            await until(lambda: agent.link.connected.is_set() and agent.me is not None, "the agent did not connect")
            calls = agent.features["calls"]

            await rep.locator('[data-open="audio.panel"]').first.click()
            await rep.locator(".audio-start").click()
            await until(lambda: calls.joined.get("audio"), "the agent did not join the call")
            await growing(rep, "audio", "bytesIn", 2000)

            # 1. Who is speaking: the rep's tone plays, and this computer's microphone (the sine) too.
            await until(lambda: status.lines and "Speaking now: Rita Rep, you." in status.lines[-1],
                        lambda: f"the rep is not shown speaking: {status.lines[-3:]}")
            assert "[Support Manager] Speaking now: Rita Rep, you." in capsys.readouterr().out
            # The rep mutes (nothing is sent any more): after the hold time they are not speaking.
            await rep.locator(".audio-mute").click()
            await until(lambda: status.lines[-1].endswith("Speaking now: you."),
                        lambda: f"the muted rep is still shown speaking: {status.lines[-3:]}")
            # The customer mutes too: nobody speaks.
            agent._terminal_command("mute")
            await until(lambda: status.lines[-1].endswith("Nobody is speaking."),
                        lambda: f"still someone speaking: {status.lines[-3:]}")
            assert "[Support Manager] Nobody is speaking." in capsys.readouterr().out
            await rep.locator(".audio-mute").click()           # Unmute
            agent._terminal_command("unmute")
            await until(lambda: status.lines[-1].endswith("Speaking now: Rita Rep, you."),
                        lambda: f"the rep speaks again but is not shown: {status.lines[-3:]}")
            # Live, but at most a few updates a second (the line changes only when who speaks does).
            count = len(status.lines)
            await asyncio.sleep(1.5)
            assert len(status.lines) - count <= 6, status.lines[count:]

            # 2. Devices, with numbers.
            agent._terminal_command("devices")
            await until(last_report(agent, "Microphones:"), "no list of devices")
            listing = last_report(agent, "Microphones:")()
            mics = listing.splitlines()[0]
            assert "spkmonitor" in mics and "Speakers:" in listing
            monitor = next(int(item.split()[0]) for item in mics.split(": ", 1)[1].split("; ")
                           if "spkmonitor" in item)
            pulse_out = next(int(item.split()[0]) for item in listing.splitlines()[1].split(": ", 1)[1].split("; ")
                             if item.split()[1] == "pulse")
            await peak_near(rep, AGENT_TONE)
            pcs_before = (await stats(rep, "audio"))["connected"]

            # A bad number: a clear error, nothing changes (the sine microphone still reaches the rep).
            agent._terminal_command("microphone 99")
            await until(last_report(agent, "There is no microphone number 99"), "no error for microphone 99")
            agent._terminal_command("microphone loud")
            await until(last_report(agent, "'microphone loud': give the microphone's number"), "no error for a word")
            assert calls.devices["microphone"] == "pulse"
            await peak_near(rep, AGENT_TONE)

            # Switch the microphone mid-call to the null sink's monitor: same call, audio keeps flowing,
            # and the rep now hears what the agent plays (its own 1 kHz tone), not the 660 Hz sine.
            agent._terminal_command(f"microphone {monitor}")
            await until(last_report(agent, f"Your microphone is now {monitor} spkmonitor"), "the microphone did not switch")
            await growing(rep, "audio", "bytesIn", 4000)
            await peak_near(rep, REP_TONE, tries=8)
            assert calls.joined["audio"] and (await stats(rep, "audio"))["connected"] == pcs_before
            assert calls.devices["microphone"] == monitor

            # Speaker: a bad number changes nothing; a good one keeps the rep's tone playing (the echo goes on).
            agent._terminal_command("speaker 99")
            await until(last_report(agent, "There is no speaker number 99"), "no error for speaker 99")
            assert calls.devices["speaker"] == "pulse" and calls.media.speaker.generation == 0
            agent._terminal_command(f"speaker {pulse_out}")
            await until(last_report(agent, f"Your speaker is now {pulse_out} pulse"), "the speaker did not switch")
            assert calls.media.speaker.generation == 1
            await growing(rep, "audio", "bytesIn", 4000)
            await peak_near(rep, REP_TONE, tries=8)
            assert calls.joined["audio"]
        finally:
            if agent is not None:
                await agent.link.stop()
                try:
                    await asyncio.wait_for(task, 5)
                except (asyncio.TimeoutError, asyncio.CancelledError):
                    task.cancel()
            await browser.close()
    assert errors == []


def test_speaking_meter_threshold_and_hold():
    """The rule itself, on generated samples and a stepped clock: loud windows make a source speak,
    a quiet source or one that stops sending stops speaking after the hold time, not before."""
    import numpy as np

    from plugin_libs.calls.media.speaking import SpeakingMeter
    now = [100.0]
    meter = SpeakingMeter(window=0.1, threshold=0.01, hold=0.6, clock=lambda: now[0])
    t = np.arange(960)
    loud = (3000 * np.sin(2 * np.pi * 440 * t / 48000)).astype(np.int16)     # RMS ~0.065
    hiss = (np.random.default_rng(1).normal(0, 60, 960)).astype(np.int16)    # RMS ~0.002
    for _ in range(5):                      # one 100 ms window of each
        meter.feed("rep", loud)
        meter.feed("fan", hiss)
    assert meter.speaking() == {"rep"} and meter.rms["rep"] > 0.05 and meter.rms["fan"] < 0.005
    meter.feed("rep", loud[:480])           # half a window: not judged yet
    now[0] += 0.5
    assert meter.speaking() == {"rep"}      # within the hold time
    now[0] += 0.2                           # the rep sent nothing more (muted): past the hold time
    assert meter.speaking() == set()
    meter.forget("rep")
    assert "rep" not in meter.rms
