"""What a recording keeps of session transfers and files, from the traffic alone: a WebACD transfer to another
queue and a colleague taking the session over are chapters (with the people leaving and joining); a file the rep
sends the customer's Support Manager (relayed by the host) is a chapter with its name, size and SHA-256, and its
contents are in the recording only when the site's admin opted in."""
from __future__ import annotations

import json
import os

from filexfer_advanced_helpers import P, granted_session, stop_files_agent, upload
from host.api import parse_binary
from plugins.recorder.reader import KIND_BINARY, chapters, load_index, records_from, verify
from test_recorder_session import root, until
from test_webacd import accept, make_queue, rep_ready, start_inbound


async def finished(host, rid):
    async def done():
        return (await host.db_read(lambda db: db["recordings"].get(rid)))["status"] == "complete"
    await until(done, 30)
    return await host.db_read(lambda db: load_index(db, root(host), rid))


async def test_a_webacd_transfer_and_the_colleague_taking_over_are_chapters(host):
    qid = await make_queue(host, members=("rep1",))
    billing = await make_queue(host, "Billing", members=("rep2",))
    rep1, f1, cust, sid = await start_inbound(host, qid)
    cust_ws = await cust.ws(sid)
    rep_ws = await rep1.ws(sid)
    rid = (await rep_ws.request({"type": "recorder.start"}))["recording_id"]
    rep2, f2 = await rep_ready(host, "rep2")
    done = await rep_ws.request({"type": "webacd.transfer", "to": "queue", "queue_id": billing, "note": "refund"})
    assert done["type"] == "webacd.transfer_done"
    offer = (await f2.expect("webacd.offer"))["offer"]
    assert (await accept(rep2, offer["entry_id"]))[0] == 201
    await cust_ws.expect("webacd.transferred")
    rep2_ws = await rep2.ws(sid)
    assert (await rep2_ws.request({"type": "recorder.state"}))["recording"]      # it went on through the transfer
    assert (await rep2_ws.request({"type": "recorder.stop"}))["type"] == "recorder.stopped"

    index = await finished(host, rid)
    labels = [(c["type"], c["label"]) for c in chapters(index)]
    assert [label for kind, label in labels if kind == "transfer"] == [
        "Session transferred to Billing", "Session transferred to Sam Second"]   # reply + broadcast: one each
    after = labels[labels.index(("transfer", "Session transferred to Billing")):]
    assert ("leave", "Rita Rep left") in after and ("join", "Sam Second joined") in after
    assert index.parts[0]["stopped_by"] == "Sam Second"


async def set_file_contents(host, on: bool):
    admin = await host.rep("admin")
    form = {"retention_days": "90", **({"record_file_contents": "on"} if on else {})}
    r = await admin.post_form("/s/demo/admin/settings/recorder", form, csrf_from="/s/demo/admin")
    assert r.status == 200


async def send_file_recorded(host, tmp_path, data: bytes):
    """The rep records, sends ``data`` to the customer's Support Manager and stops: the recording's index."""
    (tmp_path / "home").mkdir()
    rep, s, ws, agent, task, answer = await granted_session(host, tmp_path / "home")
    try:
        rid = (await ws.request({"type": "recorder.start"}))["recording_id"]
        r = await upload(rep, s["id"], data, "fix.bin")
        assert r.status == 202, await r.text()
        done = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed"))
        assert done["type"] == f"{P}.done", done
        assert (tmp_path / "home" / "fix.bin").read_bytes() == data
        await ws.request({"type": "recorder.stop"})
        return await finished(host, rid), agent
    finally:
        await stop_files_agent(agent, task)


def relayed_bytes(index) -> bytes:
    out = {}
    for r in records_from(index):
        if r.kind == KIND_BINARY and r.direction == 0:
            header, payload = parse_binary(r.body)
            if header["type"] == f"{P}.put":
                out[header["o"]] = payload
    return b"".join(out[o] for o in sorted(out))


async def test_a_file_sent_to_the_customer_is_recorded_whole_only_when_the_admin_opted_in(host, tmp_path):
    data = os.urandom(300_000)
    await set_file_contents(host, True)
    index, agent = await send_file_recorded(host, tmp_path, data)
    assert verify(index) == []
    assert relayed_bytes(index) == data
    outs = [r for r in records_from(index) if r.kind == KIND_BINARY and r.direction == 0]
    assert {r.participant for r in outs} == {agent.me["id"]}          # to the Support Manager
    assert any(c["type"] == "file" and c["label"].startswith("File fix.bin (300000 bytes, SHA-256 ")
               for c in chapters(index))


async def test_without_the_opt_in_only_the_files_name_size_and_sha256_are_recorded(host, tmp_path):
    data = os.urandom(200_000)
    index, agent = await send_file_recorded(host, tmp_path, data)
    assert relayed_bytes(index) == b""
    assert not any(r.kind == KIND_BINARY and b'"tid"' in r.body[:200] for r in records_from(index))
    assert any(c["type"] == "file" and "fix.bin (200000 bytes" in c["label"] for c in chapters(index))
    texts = [json.loads(r.body) for r in records_from(index) if r.kind == 1]
    assert not any(data[:64].hex() in json.dumps(t) for t in texts)
