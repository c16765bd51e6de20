"""A standing "don't ask again" (issue 11) and a rep who stops viewing on their own: found while benchmarking
co-browse (bench/cobrowse.py). The customer answered "a" (allow, don't ask again this session when Rita asks
to see the screen); Rita released the view (desktop.release), then asked again later: the Support Manager asked
the customer again."""
from __future__ import annotations

from agent.consent import Answer
from agent_harness import MediaSocket
from xscreen import xscreen  # noqa: F401  (fixture)


async def view(rep_ws) -> dict:
    await rep_ws.request({"type": "desktop.request", "level": "view"})
    return await rep_ws.expect(lambda m: m.get("type") == "desktop.answer")


async def test_dont_ask_again_holds_after_the_rep_released_the_view(xscreen, rep_socket, support_manager):
    rep_ws = MediaSocket(rep_socket)
    consent = support_manager.consent
    consent.answers += [Answer(True, all_requests=True), Answer(True)]
    await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"])
    assert (await view(rep_ws))["allow"] is True
    assert len(consent.asked) == 1
    released = await rep_ws.request({"type": "desktop.release"})
    assert released["type"] == "desktop.released"
    await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and not m["grants"])
    assert (await view(rep_ws))["allow"] is True
    assert len(consent.asked) == 1, "asked again although the customer said not to"
    # it covers what it said and no more: control is asked
    await rep_ws.request({"type": "desktop.request", "level": "control"})
    assert (await rep_ws.expect(lambda m: m.get("type") == "desktop.answer"))["allow"] is True
    assert len(consent.asked) == 2 and consent.asked[1].level == "control"


async def test_the_customers_stop_still_ends_dont_ask_again(xscreen, rep_socket, support_manager):
    """What the customer ends is asked again next time: the Support Manager's Stop clears the standing answer
    (the rep's own release above does not)."""
    rep_ws = MediaSocket(rep_socket)
    consent = support_manager.consent
    consent.answers += [Answer(True, all_requests=True), Answer(True)]
    await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"])
    assert (await view(rep_ws))["allow"] is True
    support_manager.stop_sharing()
    await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and not m["grants"])
    assert (await view(rep_ws))["allow"] is True
    assert len(consent.asked) == 2
