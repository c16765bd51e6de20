"""Notes over real WebSockets and real SQLite: saved before acknowledged, back after a reconnect and a
host restart, refused for customers and when too long, and part of the session's record."""
from __future__ import annotations

from conftest import start_host, stop_host
from host.records import session_record


async def test_notes_are_saved_and_come_back_after_reconnect(host):
    rep = await host.rep()
    s = await rep.start_session()
    ws = await rep.ws(s["id"])
    assert (await ws.request({"type": "notes.load"}))["note"]["text"] == ""
    a = await ws.request({"type": "notes.save", "text": "Printer <b>jams</b>"})
    b = await ws.request({"type": "notes.save", "text": "Printer <b>jams</b> on page 2"})
    assert a["type"] == b["type"] == "notes.saved" and b["note"]["revision"] == a["note"]["revision"] + 1
    assert b["note"]["saved_at"] is None
    await ws.close()

    ws = await rep.ws(s["id"])   # a reload of the console
    note = (await ws.request({"type": "notes.load"}))["note"]
    assert note["text"] == "Printer <b>jams</b> on page 2"
    final = await ws.request({"type": "notes.save", "text": note["text"], "final": True})
    assert final["note"]["saved_at"] is not None


async def test_notes_survive_a_host_restart_and_land_in_the_record(tmp_path):
    host = await start_host(tmp_path / "data")
    try:
        rep = await host.rep()
        s = await rep.start_session()
        ws = await rep.ws(s["id"])
        await ws.request({"type": "notes.save", "text": "Reset the router; customer will call back."})
    finally:
        await stop_host(host)
    host = await start_host(tmp_path / "data")
    try:
        rep = await host.rep()
        ws = await rep.ws(s["id"])
        note = (await ws.request({"type": "notes.load"}))["note"]
        assert note["text"] == "Reset the router; customer will call back."
        record = await session_record(host.app, s["id"])
        assert record["notes"] == "Reset the router; customer will call back."
    finally:
        await stop_host(host)


async def test_each_rep_has_own_note_and_the_record_names_them(host):
    rep = await host.rep()
    s = await rep.start_session()
    ws = await rep.ws(s["id"])
    helper = await host.rep("rep2")
    users = await host.db_read(lambda db: {r["username"]: r["id"] for r in db["users"].rows_where(
        "site_id = ?", [host.site().id])})
    await ws.request({"type": "session.add_rep", "user_id": users["rep2"]})
    ws2 = await helper.ws(s["id"])
    await ws.request({"type": "notes.save", "text": "mine"})
    await ws2.request({"type": "notes.save", "text": "theirs"})
    assert (await ws.request({"type": "notes.load"}))["note"]["text"] == "mine"
    record = await session_record(host.app, s["id"])
    assert record["notes"] == "Rita Rep: mine\n\nSam Second: theirs"


async def test_customer_cannot_take_notes_and_too_long_changes_nothing(host):
    rep = await host.rep()
    s = await rep.start_session()
    ws = await rep.ws(s["id"])
    customer = await host.client()
    await customer.join(s["number"], "Carla")
    cws = await customer.ws(s["id"])
    reply = await cws.request({"type": "notes.save", "text": "hi"})
    assert reply["type"] == "error" and "only the session's reps" in reply["error"]

    await ws.request({"type": "notes.save", "text": "short"})
    reply = await ws.request({"type": "notes.save", "text": "x" * 20001})
    assert reply["type"] == "error" and "at most 20000 characters" in reply["error"]
    reply = await ws.request({"type": "notes.save", "text": None})
    assert reply["type"] == "error"
    assert (await ws.request({"type": "notes.load"}))["note"]["text"] == "short"
