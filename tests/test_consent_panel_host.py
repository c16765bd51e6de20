"""The host side of the consent panel: ``session.grants`` lists what the customer's Support Manager
allows now; the revoke messages the panel sends take one viewer / rep / call member, and bad values get a
clear error and change nothing."""
from __future__ import annotations

from agent.consent import Answer
from agent_harness import MediaSocket, ScriptedConsent, start_agent, stop_agent
from xscreen import xscreen  # noqa: F401  (fixture)


async def test_bad_revokes_are_refused_and_change_nothing(host, xscreen):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = MediaSocket(await rep.ws(s["id"]))
    customer = await host.client()
    await customer.join(s["number"])
    page = MediaSocket(await customer.ws(s["id"]))
    number = (await rep_ws.request({"type": "session.new_number"}))["number"]
    agent, task = await start_agent(host, number, consent=ScriptedConsent(Answer(True)), only_plugins=["desktop"])
    try:
        await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"])
        await rep_ws.request({"type": "desktop.request", "level": "view"})
        await rep_ws.expect(lambda m: m.get("type") == "desktop.answer" and m["allow"])
        grants = (await page.request({"type": "session.grants"}))["grants"]
        assert [(g["plugin"], g["what"], [h["name"] for h in g["holders"]]) for g in grants] == [
            ("desktop", "see the screen", ["Rita Rep"])]
        revoke = grants[0]["revoke"]
        assert revoke == {"type": "desktop.stop", "agent": agent.me["id"], "viewer": rep_ws.hello["you"]["id"]}

        for bad in ({**revoke, "viewer": 5}, {**revoke, "viewer": {"id": "x"}}):
            reply = await page.request(bad)
            assert reply["type"] == "error" and "viewer must be a participant id" in reply["error"]
        reply = await page.request({"type": "filexfer_advanced.revoke", "rep": ["x"]})
        assert reply["type"] == "error" and "rep must be a participant id" in reply["error"]
        reply = await page.request({"type": "audio.hang_up", "member": "nobody"})
        assert reply["type"] == "error" and "not in the audio call" in reply["error"]
        assert (await page.request({**revoke, "viewer": "somebody-else"}))["grants"] == 0
        assert agent.features["desktop"].grants and (await page.request({"type": "session.grants"}))["grants"]

        assert (await page.request(revoke))["grants"] == 1
        assert (await page.request({"type": "session.grants"}))["grants"] == []
    finally:
        await stop_agent(agent, task)
