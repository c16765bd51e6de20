"""Sessions over real HTTP and WebSockets: numbers, joins, roles, the grace period, assisting reps,
transferring control, ending, and the single/multisession limits."""
from __future__ import annotations

import asyncio
import inspect
import json
import random

from conftest import FakeClock, start_host, stop_host

from host import session_store
from host.appkeys import DB, HUB, SITES
from host.login_watch import IDLE_MINUTES, SETTINGS_GROUP


async def _customers(host, sid: str) -> list[dict]:
    return await host.db_read(lambda db: list(db.query(
        "select * from participants where session_id = ? and role in ('customer', 'secondary_customer')",
        [sid])))


async def _barrier(sock) -> None:
    """A ping round trip: everything the host sent this socket before it has arrived."""
    pong = await sock.request({"type": "session.ping"})
    assert pong["type"] == "session.pong"


async def _session_with_carla(host):
    """The default rep's new session, both connected, with customer Carla joined:
    (rep, session, rep's socket, Carla's client, Carla's socket)."""
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    cust = await host.client()
    await cust.join(s["number"], "Carla")
    return rep, s, rep_ws, cust, await cust.ws(s["id"])


# -- session numbers -----------------------------------------------------------------------------
async def test_numbers_have_nine_digits_come_from_the_csprng_and_differ(host):
    rep = await host.rep("rep2")  # multisession, up to 3
    numbers = [(await rep.start_session())["number"] for _ in range(3)]
    for n in numbers:
        assert n.isdigit() and len(n) >= 9 and not n.startswith("0")
    assert len(set(numbers)) == 3
    # The generator draws from the OS CSPRNG (secrets), not the seedable `random` module:
    src = inspect.getsource(session_store.new_number)
    assert "secrets.randbelow" in src and "random." not in src.replace("secrets.randbelow", "")
    db_write = host.app[DB].write
    random.seed(1)
    a = await db_write(lambda db: session_store.new_number(db, 9))
    random.seed(1)
    b = await db_write(lambda db: session_store.new_number(db, 9))
    assert a != b  # re-seeding `random` does not repeat a number


async def test_wrong_number_is_refused_clearly_and_nothing_is_joined(host):
    rep = await host.rep()
    s = await rep.start_session()
    cust = await host.client()
    wrong = str(int(s["number"]) + 1 if s["number"][-1] != "9" else int(s["number"]) - 1)
    r = await cust.join(wrong, "Carla")
    assert r.status == 404
    assert "There is no session with this number" in await r.text()
    r = await cust.join("12ab", "Carla")
    assert r.status == 400 and "digits only" in await r.text()
    assert await _customers(host, s["id"]) == []
    assert not [c for c in cust.http.cookie_jar if c.key.startswith("shp_")]


async def test_number_read_out_in_groups_and_a_missing_name(host):
    rep = await host.rep()
    s = await rep.start_session()
    grouped = " ".join(s["number"][i:i + 3] for i in range(0, len(s["number"]), 3))
    assert grouped in s["invitation"]
    cust = await host.client()
    r = await cust.join(s["number"], "   ")
    assert r.status == 400 and "Please enter your name." in await r.text()
    assert await _customers(host, s["id"]) == []
    r = await cust.join(grouped.replace(" ", " - ", 1), "Carla")  # as typed from the phone call
    assert r.status == 302
    assert [p["name"] for p in await _customers(host, s["id"])] == ["Carla"]


async def test_number_expires_when_unused(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock, number_ttl=600)
    try:
        rep = await host.rep()
        s = await rep.start_session()
        clock.advance(601)
        cust = await host.client()
        r = await cust.join(s["number"], "Late Larry")
        assert r.status == 404
        assert "expired" in await r.text()
        assert await _customers(host, s["id"]) == []
        # A number used within its lifetime works (a fresh session, same clock).
        rep2 = await host.rep("rep2")
        s2 = await rep2.start_session()
        clock.advance(599)
        r = await (await host.client()).join(s2["number"], "Prompt Pat")
        assert r.status == 302
    finally:
        await stop_host(host)


async def test_number_is_single_use_for_the_first_customer(host):
    rep = await host.rep()
    s = await rep.start_session()
    first = await host.client()
    r = await first.join(s["number"], "First")
    assert r.status == 302 and r.headers["Location"].endswith(f"/session/{s['id']}")
    second = await host.client()
    r = await second.join(s["number"], "Second")
    assert r.status == 404
    assert "used already" in await r.text()
    people = await _customers(host, s["id"])
    assert [p["name"] for p in people] == ["First"]


async def test_too_many_wrong_numbers_from_one_address_are_refused_even_the_right_one(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock, join_attempts_per_minute=5)
    try:
        rep = await host.rep()
        s = await rep.start_session()
        guesser = await host.client()
        for i in range(5):
            r = await guesser.join(f"10000000{i}", "Guesser")
            assert r.status == 404
        r = await guesser.join("100000009", "Guesser")
        assert r.status == 429
        assert "Too many tries from your address" in await r.text()
        # The right number is refused too while the address is blocked, and nothing is joined.
        r = await guesser.join(s["number"], "Guesser")
        assert r.status == 429
        assert await _customers(host, s["id"]) == []
        clock.advance(61)
        r = await guesser.join(s["number"], "Guesser")
        assert r.status == 302
        assert [p["name"] for p in await _customers(host, s["id"])] == ["Guesser"]
    finally:
        await stop_host(host)


async def test_a_join_after_a_host_restart_is_announced_to_the_rep(tmp_path):
    from yarl import URL
    host = await start_host(tmp_path / "data")
    rep = await host.rep()
    s = await rep.start_session()
    token = next(c.value for c in rep.http.cookie_jar if c.key == "sh_auth_demo")
    await stop_host(host)
    host = await start_host(tmp_path / "data")
    try:
        rep = await host.client()
        rep.http.cookie_jar.update_cookies({"sh_auth_demo": token}, URL(host.base + "/s/demo/console"))
        feed = await rep.http.ws_connect(rep.url("/s/demo/ws/rep"), headers={"Origin": host.base})
        assert (await feed.receive_json(timeout=10))["type"] == "console.hello"
        assert (await (await host.client()).join(s["number"], "Carla")).status == 302
        async with asyncio.timeout(10):
            while (msg := await feed.receive_json())["type"] != "console.alert":
                pass
        assert msg["session"] == s["id"] and msg["text"] == "Carla joined"
        ws = await rep.ws(s["id"])
        assert "Carla" in [p["name"] for p in ws.hello["session"]["participants"]]
    finally:
        await stop_host(host)


# -- participants and roles ----------------------------------------------------------------------
async def test_roles_primary_customer_and_secondary_customer(host):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    assert rep_ws.hello["you"]["role"] == "primary_rep"
    cust = await host.client()
    assert (await cust.join(s["number"], "Carla")).status == 302
    cust_ws = await cust.ws(s["id"])
    assert cust_ws.hello["you"]["role"] == "customer"
    # A customer cannot ask for a further number; the primary rep can.
    err = await cust_ws.request({"type": "session.new_number"})
    assert err["type"] == "error" and "only the primary rep" in err["error"]
    extra = await rep_ws.request({"type": "session.new_number"})
    assert extra["number"].isdigit() and len(extra["number"]) >= 9
    helper = await host.client()
    assert (await helper.join(extra["number"], "Helper Harry")).status == 302
    helper_ws = await helper.ws(s["id"])
    assert helper_ws.hello["you"]["role"] == "secondary_customer"
    roster = (await rep_ws.expect(lambda m: m["type"] == "session.participants" and len(m["participants"]) == 3))
    assert sorted(p["role"] for p in roster["participants"]) == ["customer", "primary_rep", "secondary_customer"]


async def test_dropped_participant_keeps_identity_within_grace_period(tmp_path):
    host = await start_host(tmp_path / "data", grace_period=0.8)
    try:
        rep, s, rep_ws, cust, cust_ws = await _session_with_carla(host)
        me = cust_ws.hello["you"]
        await rep_ws.expect("session.joined")
        await cust_ws.close()
        await rep_ws.expect(lambda m: m["type"] == "session.participants" and any(
            p["id"] == me["id"] and not p["online"] for p in m["participants"]))
        await asyncio.sleep(0.2)
        again = await cust.ws(s["id"])
        assert again.hello["you"]["id"] == me["id"] and again.hello["you"]["role"] == "customer"
        await asyncio.sleep(1.0)  # past the grace period: the reconnected customer stays
        await _barrier(rep_ws)
        assert not [m for m in rep_ws.seen if m["type"] in ("session.joined", "session.left")]
        live = host.app[HUB].sessions[s["id"]]
        assert live.participants[me["id"]].role == "customer"
        await _barrier(again)
    finally:
        await stop_host(host)


async def test_participant_who_does_not_come_back_is_removed_after_grace(tmp_path):
    host = await start_host(tmp_path / "data", grace_period=0.8)
    try:
        rep, s, rep_ws, cust, cust_ws = await _session_with_carla(host)
        pid = cust_ws.hello["you"]["id"]
        await cust_ws.close()
        left = await rep_ws.expect("session.left", timeout=5)
        assert left["participant"]["id"] == pid and left["reason"] == "timeout"
        row = await host.db_read(lambda db: db["participants"].get(pid))
        assert row["left_reason"] == "timeout" and row["left_at"] is not None
        # Its identity is gone: the old cookie no longer opens the session; the socket says why and closes.
        ws = await cust.http.ws_connect(cust.url(f"/s/demo/ws/session/{s['id']}"), headers={"Origin": host.base})
        told = await ws.receive_json(timeout=10)
        assert told == {"type": "session.you_left", "reason": "timeout"}
        assert (await ws.receive(timeout=10)).type.name in ("CLOSE", "CLOSED") and ws.close_code == 1000
        await ws.close()
        assert [p["id"] for p in await host.db_read(lambda db: session_store.active_participants(db, s["id"]))] == [rep_ws.hello["you"]["id"]]
    finally:
        await stop_host(host)


async def test_primary_rep_who_does_not_come_back_hands_control_to_the_rep_who_is_there(tmp_path):
    host = await start_host(tmp_path / "data", grace_period=0.8)
    try:
        rep1 = await host.rep("rep1")
        rep2 = await host.rep("rep2")
        s = await rep1.start_session()
        ws1 = await rep1.ws(s["id"])
        await ws1.request({"type": "session.add_rep", "user_id": await _rep_id(host, "rep2")})
        ws2 = await rep2.ws(s["id"])
        p1, p2 = ws1.hello["you"]["id"], ws2.hello["you"]["id"]
        await ws1.close()
        moved = await ws2.expect("session.control_transferred", timeout=5)
        assert moved["from"]["id"] == p1 and moved["to"]["id"] == p2
        left = await ws2.expect("session.left", timeout=5)
        assert left["participant"]["id"] == p1 and left["reason"] == "timeout"
        # The new primary leads: it can end the session.
        await ws2.send({"type": "session.end"})
        await ws2.expect("session.ended")
        rows = await host.db_read(lambda db: list(db["audit_log"].rows_where("action = 'control_transferred'")))
        assert [(r["actor"], r["target"]) for r in rows] == [("host", f"participant:{p2}")]
    finally:
        await stop_host(host)


async def test_an_added_rep_may_open_the_session_later_than_the_grace_period(tmp_path):
    host = await start_host(tmp_path / "data", grace_period=0.3)
    try:
        rep1 = await host.rep("rep1")
        s = await rep1.start_session()
        ws1 = await rep1.ws(s["id"])
        await ws1.request({"type": "session.add_rep", "user_id": await _rep_id(host, "rep2")})
        await asyncio.sleep(0.6)
        rep2 = await host.rep("rep2")
        ws2 = await rep2.ws(s["id"])
        assert ws2.hello["you"]["role"] == "assisting_rep"
        await _barrier(ws1)
        assert not [m for m in ws1.seen if m["type"] == "session.left"]
    finally:
        await stop_host(host)


async def test_primary_rep_alone_stays_in_the_lead_while_away(tmp_path):
    host = await start_host(tmp_path / "data", grace_period=0.8)
    try:
        rep, s, ws, cust, cust_ws = await _session_with_carla(host)
        me = ws.hello["you"]["id"]
        await ws.close()
        await asyncio.sleep(1.2)
        await _barrier(cust_ws)
        assert not [m for m in cust_ws.seen if m["type"] == "session.left"]
        # The session is still in the rep's console, and the rep comes back as primary.
        mine = await (await rep.http.get(rep.url("/s/demo/api/sessions"))).json()
        assert [x["id"] for x in mine["sessions"]] == [s["id"]]
        again = await rep.ws(s["id"])
        assert again.hello["you"]["id"] == me and again.hello["you"]["role"] == "primary_rep"
        await again.send({"type": "session.end"})
        await cust_ws.expect("session.ended")
    finally:
        await stop_host(host)


# -- assisting reps, control, leaving, ending ----------------------------------------------------
async def _rep_id(host, username: str, site: str = "demo") -> int:
    return await host.db_read(lambda db: next(db.query(
        "select u.id from users u join sites s on s.id = u.site_id where s.slug = ? and u.username = ?",
        [site, username]))["id"])


async def test_assist_transfer_leave_and_end_for_everybody(host):
    rep1 = await host.rep("rep1")
    s = await rep1.start_session()
    ws1 = await rep1.ws(s["id"])
    cust = await host.client()
    await cust.join(s["number"], "Carla")
    cust_ws = await cust.ws(s["id"])

    # Only the primary can add a rep; the customer cannot.
    rep2_id = await _rep_id(host, "rep2")
    err = await cust_ws.request({"type": "session.add_rep", "user_id": rep2_id})
    assert err["type"] == "error"
    ok = await ws1.request({"type": "session.add_rep", "user_id": rep2_id})
    assert ok["type"] == "session.ok"
    again = await ws1.request({"type": "session.add_rep", "user_id": rep2_id})
    assert "already" in again["error"]
    other_site_rep = await _rep_id(host, "rep1", "other")
    err = await ws1.request({"type": "session.add_rep", "user_id": other_site_rep})
    assert "no such rep" in err["error"]
    joined = await cust_ws.expect(lambda m: m["type"] == "session.joined" and m["participant"]["rep"])
    assert joined["participant"]["role"] == "assisting_rep"

    rep2 = await host.rep("rep2")
    listed = await (await rep2.http.get(rep2.url("/s/demo/api/sessions"))).json()
    assert [x["my_role"] for x in listed["sessions"] if x["id"] == s["id"]] == ["assisting_rep"]
    ws2 = await rep2.ws(s["id"])
    assert ws2.hello["you"]["role"] == "assisting_rep"
    p1, p2 = ws1.hello["you"]["id"], ws2.hello["you"]["id"]

    # The primary cannot leave without handing over; an assisting rep cannot take control itself.
    err = await ws1.request({"type": "session.leave"})
    assert err["type"] == "error" and "hand control" in err["error"]
    err = await ws2.request({"type": "session.transfer_control", "to": p2})
    assert err["type"] == "error"
    err = await ws1.request({"type": "session.transfer_control", "to": cust_ws.hello["you"]["id"]})
    assert "another rep" in err["error"]

    ok = await ws1.request({"type": "session.transfer_control", "to": p2})
    assert ok["type"] == "session.ok"
    moved = await cust_ws.expect("session.control_transferred")
    assert moved["from"]["id"] == p1 and moved["to"]["id"] == p2 and moved["to"]["role"] == "primary_rep"
    # The old primary is now assisting: it cannot end the session but can leave.
    err = await ws1.request({"type": "session.end"})
    assert "only the primary rep" in err["error"]
    await ws1.send({"type": "session.leave", "id": "bye"})
    await ws1.expect("session.you_left")
    gone = await ws2.expect("session.left")
    assert gone["participant"]["id"] == p1 and gone["reason"] == "left"

    # The new primary ends the session for everybody.
    spare = (await ws2.request({"type": "session.new_number"}))["number"]  # handed out, never used
    await ws2.send({"type": "session.end", "id": "end"})
    for sock in (ws2, cust_ws):
        ended = await sock.expect("session.ended")
        assert ended["by"]["id"] == p2
        closing = await sock.ws.receive(timeout=5)
        assert closing.type.name in ("CLOSE", "CLOSED", "CLOSING")
    assert ws1.ws.closed or (await ws1.ws.receive(timeout=5)).type.name in ("CLOSE", "CLOSED", "CLOSING")
    row = await host.db_read(lambda db: db["support_sessions"].get(s["id"]))
    assert row["state"] == "ended" and row["ended_by"] == p2
    late = await host.client()
    r = await late.join(s["number"], "Late")
    assert r.status == 404 and "ended" in await r.text()
    r = await late.join(spare, "Late")
    assert r.status == 404 and "ended" in await r.text()
    assert await _customers(host, s["id"]) == [c for c in await _customers(host, s["id"]) if c["name"] == "Carla"]
    # Nobody gets back into an ended session: a former participant's socket is told it ended and closed
    # (so their page stops reconnecting); anybody else is refused.
    for client in (rep2, cust):
        ws = await client.http.ws_connect(client.url(f"/s/demo/ws/session/{s['id']}"),
                                          headers={"Origin": host.base})
        assert (await ws.receive_json(timeout=10))["type"] == "session.ended"
        assert (await ws.receive(timeout=10)).type.name in ("CLOSE", "CLOSED")
        assert ws.close_code == 1000
        await ws.close()
    stranger = await host.client()
    try:
        await stranger.ws(s["id"])
        raise AssertionError("a stranger reached an ended session")
    except Exception as exc:
        assert getattr(exc, "status", None) == 403
    audit = await host.db_read(lambda db: [r["action"] for r in db["audit_log"].rows_where(
        "details like ?", [f'%{s["id"]}%'])] + [r["action"] for r in db["audit_log"].rows_where(
            "target = ?", [f'session:{s["id"]}'])])
    assert "rep_added" in audit and "control_transferred" in audit and "session_ended" in audit
    events = await host.db_read(lambda db: [e["kind"] for e in db["session_events"].rows_where(
        "session_id = ?", [s["id"]], order_by="id")])
    assert events[:1] == ["created"] and "control_transferred" in events and events[-1] == "ended"


async def test_control_transfer_and_end_are_audited_with_actor(host):
    rep1 = await host.rep("rep1")
    s = await rep1.start_session()
    ws1 = await rep1.ws(s["id"])
    await ws1.request({"type": "session.add_rep", "user_id": await _rep_id(host, "rep2")})
    rep2 = await host.rep("rep2")
    ws2 = await rep2.ws(s["id"])
    await ws1.request({"type": "session.transfer_control", "to": ws2.hello["you"]["id"]})
    await ws2.send({"type": "session.end"})
    await ws2.expect("session.ended")
    rows = await host.db_read(lambda db: list(db["audit_log"].rows_where(
        "action in ('control_transferred', 'session_ended')", order_by="id")))
    assert [r["action"] for r in rows] == ["control_transferred", "session_ended"]
    assert rows[0]["actor"] == f"participant:{ws1.hello['you']['id']}"
    assert rows[0]["target"] == f"participant:{ws2.hello['you']['id']}"
    assert json.loads(rows[0]["details"])["session"] == s["id"]
    assert rows[1]["actor"] == f"participant:{ws2.hello['you']['id']}"
    assert all(r["site_id"] == host.site("demo").id for r in rows)


# -- how many sessions a rep may run -------------------------------------------------------------
async def test_single_session_rep_cannot_start_a_second(host):
    rep = await host.rep("rep1")
    await rep.start_session()
    r = await rep.api_post("/s/demo/api/sessions")
    assert r.status == 409
    assert "single-session mode" in (await r.json())["error"]["message"]
    mine = await (await rep.http.get(rep.url("/s/demo/api/sessions"))).json()
    assert len(mine["sessions"]) == 1


async def test_multisession_rep_stops_at_the_maximum_and_can_start_again_after_ending(host):
    rep = await host.rep("rep2")  # multi, max 3
    sessions = [await rep.start_session() for _ in range(3)]
    r = await rep.api_post("/s/demo/api/sessions")
    assert r.status == 409
    assert "maximum of 3 sessions" in (await r.json())["error"]["message"]
    ws = await rep.ws(sessions[0]["id"])
    await ws.send({"type": "session.end"})
    await ws.expect("session.ended")
    assert (await rep.api_post("/s/demo/api/sessions")).status == 201


async def _wait_for_state(host, sid: str, state: str, timeout: float = 5.0) -> dict:
    for _ in range(int(timeout / 0.05)):
        row = await host.db_read(lambda db: db["support_sessions"].get(sid))
        if row["state"] == state:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"session {sid} is {row['state']}, not {state}")


async def test_a_session_nobody_is_connected_to_ends_as_abandoned(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock, grace_period=3600, abandoned_after=7200,
                            expiry_check_every=0.05)
    try:
        # The colleague idles for two hours: the consoles' idle timeout is off here (tests/test_accounts_idle.py).
        await host.app[DB].write(lambda db: db["site_settings"].insert(
            {"site_id": host.site().id, "plugin": SETTINGS_GROUP, "key": IDLE_MINUTES.name, "value": "0"}))
        await host.app[DB].read(host.app[SITES].load)
        other = await host.rep("rep2")
        kept = await other.start_session()     # a colleague stays connected to this one
        kept_ws = await other.ws(kept["id"])
        rep, s, rep_ws, cust, cust_ws = await _session_with_carla(host)
        await rep_ws.expect("session.joined")
        await cust_ws.close()
        await rep_ws.close()                   # everybody went; the primary rep stays "offline" in it
        clock.advance(7100)
        await asyncio.sleep(0.3)               # not yet
        assert (await host.db_read(lambda db: db["support_sessions"].get(s["id"])))["state"] != "ended"
        clock.advance(200)
        row = await _wait_for_state(host, s["id"], "ended")
        assert row["ended_by"] is None
        events = await host.db_read(lambda db: [(r["kind"], r["details"]) for r in db["session_events"].rows_where(
            "session_id = ? and kind = 'ended'", [s["id"]])])
        assert events == [("ended", '{"reason": "abandoned"}')]
        audit = await host.db_read(lambda db: list(db["audit_log"].rows_where("action = 'session_abandoned'")))
        assert len(audit) == 1 and audit[0]["target"] == f"session:{s['id']}"
        assert s["id"] not in host.app[HUB].sessions
        # the session somebody is connected to goes on
        assert (await host.db_read(lambda db: db["support_sessions"].get(kept["id"])))["state"] != "ended"
        await _barrier(kept_ws)
    finally:
        await stop_host(host)


async def test_after_a_restart_a_session_nobody_comes_back_to_ends_as_abandoned(tmp_path):
    clock = FakeClock()
    host = await start_host(tmp_path / "data", clock=clock, abandoned_after=7200, expiry_check_every=0.05)
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    await rep_ws.close()
    await stop_host(host)
    clock.advance(7300)
    host = await start_host(tmp_path / "data", clock=clock, abandoned_after=7200, expiry_check_every=0.05)
    try:
        await _wait_for_state(host, s["id"], "ended")
        reasons = await host.db_read(lambda db: [json.loads(r["details"]) for r in db["audit_log"].rows_where(
            "action = 'session_abandoned'")])
        assert reasons == [{"why": "nobody came back after a restart"}]
    finally:
        await stop_host(host)
