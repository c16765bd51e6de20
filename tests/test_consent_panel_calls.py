"""Calls in the consent panels (issue 11): while the customer's Support Manager is in a VoIP call, the
host's grant list (session.grants, the customer page's panel) says which reps hear it, and the Support
Manager lists it too. The customer ends it from the session page (``audio.hang_up``): the Support Manager
hangs up and closes its microphone; or from the Support Manager itself (``revoke <n>``). Real host, real
Support Manager media, sound through a private PulseAudio server."""
from __future__ import annotations

import shutil

import pytest

from agent.consent import Answer
from agent_harness import ScriptedConsent
from test_rtc_support_manager import members, pulse, run_agent, stop, until  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(not shutil.which("pulseaudio"), reason="needs pulseaudio (scripts/setup.sh)")


async def test_customer_hangs_up_the_support_manager_from_the_page_and_from_the_terminal(host, pulse):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    customer = await host.client()
    await customer.join(s["number"])
    page = await customer.ws(s["id"])
    number = (await rep_ws.request({"type": "session.new_number"}))["number"]
    agent, task = await run_agent(host, number, ScriptedConsent(Answer(True)))
    me = agent.me["id"]
    calls = agent.features["calls"]
    try:
        await rep_ws.request({"type": "audio.start"})
        await members(rep_ws, "audio", lambda ms: any(m["id"] == me for m in ms))
        grants = await page.request({"type": "session.grants"})
        call = [g for g in grants["grants"] if g["plugin"] == "audio"]
        assert [(g["what"], [h["name"] for h in g["holders"]]) for g in call] == [
            ("hear Carla's microphone (VoIP call)", ["Rita Rep"])]
        await until(lambda: [p.line() for p in agent.shown] == ["Rita Rep (primary rep) may hear you in the VoIP call"],
                    lambda: f"listed: {agent.shown}")

        # A rep cannot hang up the customer's computer this way; the customer can.
        refused = await rep_ws.request(call[0]["revoke"])
        assert refused["type"] == "error" and "leaves the audio call" in refused["error"]
        assert calls.joined["audio"]
        await page.request(call[0]["revoke"])
        await members(rep_ws, "audio", lambda ms: all(m["id"] != me for m in ms))
        await until(lambda: not calls.joined["audio"] and calls.media._mic_track is None,
                    "the Support Manager is still in the call with its microphone open")
        await until(lambda: any("hung up here from the session page" in r for r in agent.reports), "not told")
        grants = await page.request({"type": "session.grants"})
        assert not [g for g in grants["grants"] if g["plugin"] == "audio"]
        assert agent.shown == []

        # Back in (typing it is the consent), then ended from the Support Manager's own list.
        agent._terminal_command("join audio")
        await members(rep_ws, "audio", lambda ms: any(m["id"] == me for m in ms))
        await until(lambda: len(agent.shown) == 1, "the call is not listed")
        agent._terminal_command("revoke 1")
        await members(rep_ws, "audio", lambda ms: all(m["id"] != me for m in ms))
        await until(lambda: calls.media._mic_track is None, "the microphone stayed open")
    finally:
        await stop(agent, task)
