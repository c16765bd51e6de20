"""The recorder in the real Support Manager: the person at the customer's computer is told "This session is being
recorded" while it is (and that it stopped), and on a site that asks the customer first answers Allow / Deny in
the Support Manager's own consent prompt; a question the rep takes back is closed there."""
from __future__ import annotations

import asyncio

import pytest

from agent.consent import Answer
from host.testing.support_manager import ScriptedConsent, start_agent, stop_agent

PLUGINS = ["chat", "recorder"]


async def until(predicate, timeout=15.0):
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def ask_customer_first(host):
    admin = await host.rep("admin")
    r = await admin.post_form("/s/demo/admin/settings/recorder", {"ask_customer": "on", "retention_days": "90"},
                              csrf_from="/s/demo/admin")
    assert r.status == 200


class SlowConsent(ScriptedConsent):
    """A person who has not answered yet: the question stays open until it is closed."""

    def __init__(self):
        super().__init__()
        self.closed = asyncio.Event()

    async def ask(self, request):
        self.asked.append(request)
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.closed.set()
            raise


@pytest.mark.supporthost(plugins=PLUGINS)
async def test_the_support_manager_shows_the_notice_and_answers_allow_and_deny(host, rep_socket, support_manager):
    await ask_customer_first(host)
    rep_ws, agent, consent = rep_socket, support_manager, support_manager.consent
    consent.answers.append(Answer(True))       # Allow the first time, then Deny
    window = []                                 # the status window's line of each plugin
    agent.status.controls = lambda key, text, buttons: window.append((key, text, buttons))
    assert (await rep_ws.request({"type": "recorder.start"}))["type"] == "recorder.asking"
    await rep_ws.expect(lambda m: m.get("type") == "recorder.state" and m["recording"])
    assert consent.asked[0].question() == ("Rita Rep asks to record this session (screen, chat, calls and "
                                           "files shown in it). Allow?")
    assert consent.asked[0].again_text() is None        # every recording is asked for
    await until(lambda: "This session is being recorded." in agent.reports)

    await rep_ws.request({"type": "recorder.stop"})
    await until(lambda: "Recording stopped." in agent.reports)
    assert window == [("recorder", "This session is being recorded.", []), ("recorder", "", [])]

    await rep_ws.request({"type": "recorder.start"})
    declined = await rep_ws.expect("recorder.declined")
    assert declined["by"] == "Carla's Support Manager"
    assert not (await rep_ws.request({"type": "recorder.state"}))["recording"]
    assert len(consent.asked) == 2 and agent.reports.count("This session is being recorded.") == 1


@pytest.mark.supporthost(plugins=PLUGINS)
async def test_a_question_the_rep_takes_back_is_closed_in_the_support_manager(host):
    await ask_customer_first(host)
    rep = await host.rep("rep1")
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    consent = SlowConsent()
    agent, task = await start_agent(host, s["number"], consent=consent, only_plugins=PLUGINS)
    try:
        await rep_ws.request({"type": "recorder.start"})
        await until(lambda: consent.asked)
        await rep_ws.request({"type": "recorder.stop"})        # "Cancel" in the console
        await asyncio.wait_for(consent.closed.wait(), 15)
        assert not (await rep_ws.request({"type": "recorder.state"}))["asking"]
    finally:
        await stop_agent(agent, task)


@pytest.mark.supporthost(plugins=PLUGINS)
async def test_automatic_recording_on_a_site_that_asks_waits_for_the_support_manager(host):
    await ask_customer_first(host)
    admin = await host.rep("admin")
    reps = (await (await admin.http.get(admin.url("/s/demo/p/recorder/api/automatic"))).json())["reps"]
    rita = next(u for u in reps if u["display_name"] == "Rita Rep")
    assert (await admin.api_post("/s/demo/p/recorder/api/automatic", {"user_id": rita["id"], "on": True})).status == 200
    rep = await host.rep("rep1")
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    assert not (await rep_ws.request({"type": "recorder.state"}))["recording"]     # nobody has allowed it yet
    consent = ScriptedConsent(Answer(True))
    agent, task = await start_agent(host, s["number"], consent=consent, only_plugins=PLUGINS)
    try:
        state = await rep_ws.expect(lambda m: m.get("type") == "recorder.state" and m["recording"])
        assert state["automatic"]
        assert consent.asked[0].question().startswith("This site records every session of Rita Rep.")
        await until(lambda: "This session is being recorded." in agent.reports)
        refused = await rep_ws.request({"type": "recorder.stop"})
        assert refused["type"] == "error" and "automatically" in refused["error"]
    finally:
        await stop_agent(agent, task)
