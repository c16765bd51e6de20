"""Recording a live session on a real host: Record / Stop as parts of one recording, what a customer may not do,
a site where the recorder is off, chapters from the traffic, automatic recording, the customer's consent,
access to the recordings and retention."""
from __future__ import annotations

import asyncio
import json

import pytest

from host.appkeys import DB, SITES
from plugins.recorder import retention
from plugins.recorder.reader import KIND_EVENT, chapters, load_index, records_from, verify

PLUGINS = ["chat", "recorder"]


async def until(predicate, timeout=15.0):
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.05)


async def chat_session(host, rep_name="rep1"):
    rep = await host.rep(rep_name)
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    cust = await host.client()
    assert (await cust.join(s["number"], "Carla Customer")).status == 302
    cust_ws = await cust.ws(s["id"])
    return rep, s, rep_ws, cust, cust_ws


def root(host):
    return host.data_dir / "plugins" / "recorder"


async def index_of(host, rid):
    return await host.db_read(lambda db: load_index(db, root(host), rid))


async def audit_actions(host):
    return await host.db_read(lambda db: [r["action"] for r in db.query(
        "select action from audit_log where action like 'recording.%' order by id")])


@pytest.mark.supporthost(plugins=PLUGINS)
async def test_record_and_stop_twice_make_two_parts_of_one_recording_with_chapters(host):
    rep, s, rep_ws, cust, cust_ws = await chat_session(host)
    refused = await cust_ws.request({"type": "recorder.start"})
    assert refused["type"] == "error" and "only a rep" in refused["error"]

    started = await rep_ws.request({"type": "recorder.start"})
    assert started["type"] == "recorder.started"
    rid = started["recording_id"]
    notice = await cust_ws.expect(lambda m: m.get("type") == "recorder.state" and m["recording"])
    assert notice["automatic"] is False
    assert (await cust_ws.request({"type": "recorder.stop"}))["type"] == "error"     # the customer cannot stop it

    await cust_ws.request({"type": "chat.send", "text": "the printer says PC LOAD LETTER"})
    await rep_ws.expect("chat.message")
    assert (await rep_ws.request({"type": "recorder.stop"}))["type"] == "recorder.stopped"
    await cust_ws.expect(lambda m: m.get("type") == "recorder.state" and not m["recording"])
    await cust_ws.request({"type": "chat.send", "text": "not recorded"})
    await rep_ws.expect("chat.message")

    again = await rep_ws.request({"type": "recorder.start"})
    assert again["recording_id"] == rid
    await rep_ws.request({"type": "chat.send", "text": "try A4"})
    await rep_ws.send({"type": "session.end"})
    async def closed():
        row = await host.db_read(lambda db: db["recordings"].get(rid))
        return row["status"] == "complete"
    await until(closed)

    index = await index_of(host, rid)
    assert [(p["part"], p["started_by"]) for p in index.parts] == [(1, "Rita Rep"), (2, "Rita Rep")]
    assert index.parts[1]["started_ms"] == index.parts[0]["ended_ms"]          # laid end to end
    assert index.parts[1]["stop_reason"] == "the session ended"
    assert verify(index) == []
    assert all(f.sha256 for f in index.segments)
    texts = [json.loads(r.body).get("text") for r in records_from(index) if r.kind == 1 and r.direction == 1]
    assert "the printer says PC LOAD LETTER" in texts and "try A4" in texts and "not recorded" not in texts
    events = [json.loads(r.body)["e"] for r in records_from(index) if r.kind == KIND_EVENT]
    assert events.count("part_start") == 2 and events.count("part_end") == 2
    labels = [c["label"] for c in chapters(index)]
    assert "Carla Customer: the printer says PC LOAD LETTER" in labels
    assert await audit_actions(host) == ["recording.started", "recording.stopped", "recording.started",
                                         "recording.stopped"]


@pytest.mark.supporthost(plugins=PLUGINS)
async def test_a_site_with_the_recorder_off_refuses_recording(host):
    rep, s, rep_ws, cust, cust_ws = await chat_session(host)

    def disable(db):
        db["site_plugins"].upsert({"site_id": host.site().id, "plugin": "recorder", "enabled": 0},
                                  pk=("site_id", "plugin"))
    await host.app[DB].write(disable)
    await host.app[DB].read(host.app[SITES].load)
    refused = await rep_ws.request({"type": "recorder.start"})
    assert refused["type"] == "error" and "switched off" in refused["error"]
    assert await host.db_read(lambda db: db["recordings"].count) == 0


@pytest.mark.supporthost(plugins=PLUGINS)
async def test_automatic_recording_cannot_be_stopped_and_the_customer_consents_where_asked(host):
    admin = await host.rep("admin")
    users = (await (await admin.http.get(admin.url("/s/demo/p/recorder/api/automatic"))).json())["reps"]
    rita = next(u for u in users if u["display_name"] == "Rita Rep")
    r = await admin.api_post("/s/demo/p/recorder/api/automatic", {"user_id": rita["id"], "on": True})
    assert r.status == 200
    rep = await host.rep("rep1")
    refused = await rep.api_post("/s/demo/p/recorder/api/automatic", {"user_id": rita["id"], "on": False})
    assert refused.status == 403

    rep, s, rep_ws, cust, cust_ws = await chat_session(host)
    state = await cust_ws.request({"type": "recorder.state"})
    assert state["recording"] and state["automatic"]
    refused = await rep_ws.request({"type": "recorder.stop"})
    assert refused["type"] == "error" and "automatically" in refused["error"]
    row = await host.db_read(lambda db: next(db.query("select * from recordings where session_id = ?", [s["id"]])))
    assert row["automatic"] == 1 and row["status"] == "recording"

    # another session of Sam (not automatic), on a site that asks the customer first
    admin_form = await admin.post_form("/s/demo/admin/settings/recorder", {"ask_customer": "on", "retention_days": "90"},
                                       csrf_from="/s/demo/admin")
    assert admin_form.status == 200
    rep2, s2, rep2_ws, cust2, cust2_ws = await chat_session(host, "rep2")
    assert (await rep2_ws.request({"type": "recorder.start"}))["type"] == "recorder.asking"
    await cust2_ws.expect("recorder.consent_request")
    assert (await cust2_ws.request({"type": "recorder.consent", "allow": False}))["allow"] is False
    await rep2_ws.expect("recorder.declined")
    assert not (await rep2_ws.request({"type": "recorder.state"}))["recording"]
    await rep2_ws.request({"type": "recorder.start"})
    await cust2_ws.expect("recorder.consent_request")
    await cust2_ws.request({"type": "recorder.consent", "allow": True})
    assert (await rep2_ws.request({"type": "recorder.state"}))["recording"]


@pytest.mark.supporthost(plugins=PLUGINS)
async def test_access_rules_deletion_audited_and_retention_deletes_old_recordings(host):
    rep, s, rep_ws, cust, cust_ws = await chat_session(host)
    rid = (await rep_ws.request({"type": "recorder.start"}))["recording_id"]
    await rep_ws.request({"type": "recorder.stop"})
    folder = root(host) / str(host.site().id) / rid
    assert any(folder.glob("seg-*.rec"))

    mine = await (await rep.http.get(rep.url("/s/demo/p/recorder/api/recordings"))).json()
    assert [r["id"] for r in mine["recordings"]] == [rid]
    sam = await host.rep("rep2")
    assert (await (await sam.http.get(sam.url("/s/demo/p/recorder/api/recordings"))).json())["recordings"] == []
    admin = await host.rep("admin")
    page = await (await admin.http.get(admin.url("/s/demo/p/recorder/recordings"))).text()
    assert rid in page
    other = await host.rep("admin", site="other")
    for who in (sam, other, cust):
        r = await who.api_post(f"/s/{who.site}/p/recorder/api/recordings/{rid}/delete")
        assert r.status in (404, 403), (who, r.status)
    assert folder.exists()

    r = await admin.api_post(f"/s/demo/p/recorder/api/recordings/{rid}/delete")
    assert r.status == 200 and not folder.exists()
    assert await host.db_read(lambda db: db["recordings"].count) == 0
    assert (await audit_actions(host))[-1] == "recording.deleted"

    # retention: a recording older than the site's days goes by itself
    rid2 = (await rep_ws.request({"type": "recorder.start"}))["recording_id"]
    await rep_ws.request({"type": "recorder.stop"})
    assert await retention.purge_expired(host.app) == 0
    await host.app[DB].write(lambda db: db["recordings"].update(rid2, {"started_at": db["recordings"].get(rid2)[
        "started_at"] - 91 * 86400}))
    assert await retention.purge_expired(host.app) == 1
    assert await host.db_read(lambda db: db["recordings"].count) == 0
