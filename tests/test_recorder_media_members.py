"""Host members of a call (plugin_libs/calls/service.py), what the recorder's "Recording" member is built on,
over real HTTP and WebSockets (no media): who sees it, where signalling to it goes, and who may not
remove it."""
from __future__ import annotations

import pytest

from host.api import sessions
from test_recorder_media import services_of
from test_rtc_signalling import SDP, ids, in_call, session_with_customer

HOST_ID = "~listener"


def member_names(message):
    return {m["id"]: (m["name"], m["host"]) for m in message["members"]}


@pytest.mark.parametrize("kind", ["audio", "video"])
async def test_a_host_member_is_seen_gets_its_signalling_and_leaves(host, kind):
    s, rep, rep_ws, cust, cust_ws = await session_with_customer(host)
    live = sessions(host.app).sessions[s["id"]]
    service = (await services_of(host.app, live))[kind]
    got = []
    await service.attach_host_member(host.app, live, HOST_ID, "Listener", got.append)
    assert got == []    # no call runs: it waits for one

    await in_call(kind, rep_ws, cust_ws)
    rep_id, cust_id = ids(rep_ws, cust_ws)
    members = await cust_ws.expect(lambda m: m["type"] == f"{kind}.members" and HOST_ID in member_names(m))
    assert member_names(members)[HOST_ID] == ("Listener", True)
    joined = next(m for m in got if m["type"] == f"{kind}.joined")
    assert joined["epoch"] >= 1 and "ice_servers" in joined and "media" in joined

    # An offer to it goes to its deliver callback; its answer goes to the rep as from it.
    await rep_ws.send({"type": f"{kind}.signal", "to": HOST_ID, "description": {"type": "offer", "sdp": SDP}})
    await rep_ws.request({"type": f"{kind}.state"})     # the offer was handled before this answer
    offer = next(m for m in got if m["type"] == f"{kind}.signal")
    assert offer["from"] == rep_id and offer["to_epoch"] == joined["epoch"] and offer["description"]["sdp"] == SDP
    assert service.host_signal(host.app, live, HOST_ID, rep_id, {"description": {"type": "answer", "sdp": SDP}})
    answer = await rep_ws.expect(f"{kind}.signal")
    assert answer["from"] == HOST_ID and answer["epoch"] == joined["epoch"]
    assert not service.host_signal(host.app, live, HOST_ID, "nobody", {"description": {"type": "answer", "sdp": SDP}})

    # The customer cannot hang it up (that is for their own Support Manager); it stays in the call.
    reply = await cust_ws.request({"type": f"{kind}.hang_up", "member": HOST_ID})
    assert reply["type"] == "error" and "not in the" in reply["error"], reply
    state = await rep_ws.request({"type": f"{kind}.state"})
    assert HOST_ID in member_names(state)

    # Detached: everybody sees it go, the call goes on.
    await service.detach_host_member(host.app, live, HOST_ID, "recording stopped")
    members = await cust_ws.expect(lambda m: m["type"] == f"{kind}.members" and HOST_ID not in member_names(m))
    assert set(member_names(members)) == {rep_id, cust_id}


async def test_a_call_left_with_only_a_host_member_stops(host):
    s, rep, rep_ws, cust, cust_ws = await session_with_customer(host)
    live = sessions(host.app).sessions[s["id"]]
    service = (await services_of(host.app, live))["audio"]
    got = []
    await in_call("audio", rep_ws, cust_ws)
    await service.attach_host_member(host.app, live, HOST_ID, "Listener", got.append)
    await rep_ws.request({"type": "audio.leave"})
    await cust_ws.request({"type": "audio.leave"})
    stopped = await rep_ws.expect(lambda m: m["type"] == "audio.call" and not m["active"])
    assert stopped["reason"] == "empty"
    assert got[-1]["type"] == "audio.call" and got[-1]["active"] is False
    await cust_ws.expect(lambda m: m["type"] == "audio.call" and not m["active"])
    # The next call of the session has it again.
    await in_call("audio", rep_ws, cust_ws)
    state = await rep_ws.request({"type": "audio.state"})
    assert HOST_ID in member_names(state)


async def test_a_host_member_id_must_start_with_a_tilde(host):
    s, rep, rep_ws, cust, cust_ws = await session_with_customer(host)
    live = sessions(host.app).sessions[s["id"]]
    service = (await services_of(host.app, live))["audio"]
    with pytest.raises(ValueError, match="starts with '~'"):
        await service.attach_host_member(host.app, live, cust_ws.hello["you"]["id"], "Impostor", print)
    assert service.slot(live).host_members == {}
