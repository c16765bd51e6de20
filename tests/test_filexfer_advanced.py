"""Advanced file transfer through a real host with the real Support Manager serving a temporary folder tree:
consent, browsing, transfers both ways with SHA-256, revocation, and the record."""
from __future__ import annotations

import asyncio
import os

from agent.consent import Answer
from agent_harness import ScriptedConsent
from filexfer_advanced_helpers import (WAIT, P, events_of, granted_session, open_upload, put_part, sha256_of,
                                       stop_files_agent, until, upload)


def make_tree(root):
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "report.txt").write_text("quarterly numbers\n")
    (root / "empty").mkdir()
    (root / "notes.md").write_bytes(os.urandom(200_000))
    return root


async def test_rep_browses_and_copies_both_ways_after_local_approval(host, tmp_path):
    root = make_tree(tmp_path / "home")
    consent = ScriptedConsent(Answer(True))
    rep, s, ws, agent, task, answer = await granted_session(host, root, consent)
    try:
        assert answer["allow"] is True and answer["root"] == str(root)
        asked = consent.asked[0]
        assert asked.what == "files" and "Rita Rep" in asked.question() and str(root) in asked.question()

        top = await ws.request({"type": f"{P}.list", "path": ""})
        assert top["type"] == f"{P}.listing", top
        names = [(e["name"], e["kind"]) for e in top["entries"]]
        assert names == [("docs", "dir"), ("empty", "dir"), ("notes.md", "file")]
        notes = next(e for e in top["entries"] if e["name"] == "notes.md")
        assert notes["size"] == 200_000 and notes["mtime"] > 0
        docs = await ws.request({"type": f"{P}.list", "path": "docs"})
        assert [e["name"] for e in docs["entries"]] == ["report.txt"]

        # customer -> rep: streamed to the host, checked, then downloadable
        started = await ws.request({"type": f"{P}.fetch", "path": "notes.md"})
        assert started["type"] == f"{P}.started"
        done = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed"))
        assert done["type"] == f"{P}.done", done
        assert done["sha256"] == sha256_of(root / "notes.md")
        r = await rep.http.get(rep.url(done["url"]))
        assert r.status == 200 and await r.read() == (root / "notes.md").read_bytes()
        assert r.headers["X-Content-SHA256"] == done["sha256"]
        r = await rep.http.get(rep.url(done["url"]), headers={"Range": "bytes=150000-"})   # a download resumed
        assert r.status == 206 and await r.read() == (root / "notes.md").read_bytes()[150000:]

        # rep -> customer: into the folder the rep picked
        data = os.urandom(3 * 1024 * 1024 + 17)
        r = await upload(rep, s["id"], data, "fix.bin", folder="docs")
        assert r.status == 202, await r.text()
        done = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed"))
        assert done["type"] == f"{P}.done", done
        assert (root / "docs" / "fix.bin").read_bytes() == data
        # the same name again: a new name, the first file is never replaced
        r = await upload(rep, s["id"], b"second", "fix.bin", folder="docs")
        done = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed"))
        assert done["name"] == "fix (2).bin" and (root / "docs" / "fix (2).bin").read_bytes() == b"second"
        assert (root / "docs" / "fix.bin").read_bytes() == data
        assert not [p for p in (root / "docs").iterdir() if p.name.endswith(".part")]

        kinds = [k for k, _ in await events_of(host, s["id"])]
        assert f"{P}.requested" in kinds and f"{P}.granted" in kinds
        assert kinds.count(f"{P}.transfer_done") == 3
        audit = await host.db_read(lambda db: [r["action"] for r in db["audit_log"].rows])
        assert f"{P}.granted" in audit and f"{P}.transfer_done" in audit
        from host.records import session_record
        rec = await session_record(host.app, s["id"])      # what the activity report shows
        assert "notes.md (200000 bytes, from the customer" in rec["advanced_files"]
        assert "fix.bin" in rec["advanced_files"] and "to the customer" in rec["advanced_files"]
    finally:
        await stop_files_agent(agent, task)


async def test_nothing_without_local_approval(host, tmp_path):
    root = make_tree(tmp_path / "home")
    rep, s, ws, agent, task, answer = await granted_session(host, root, ScriptedConsent(Answer(False)))
    try:
        assert answer["allow"] is False
        for msg in ({"type": f"{P}.list", "path": ""}, {"type": f"{P}.fetch", "path": "notes.md"}):
            reply = await ws.request(msg)
            assert reply["type"] == "error" and "not allowed you" in reply["error"]
        r = await upload(rep, s["id"], b"x", "x.txt")
        assert r.status == 403
        assert not (root / "x.txt").exists()
        assert f"{P}.denied" in [k for k, _ in await events_of(host, s["id"])]
    finally:
        await stop_files_agent(agent, task)


async def test_customer_page_revokes_and_transfers_in_flight_stop_cleanly(host, tmp_path):
    from filexfer_advanced_helpers import RepSocket, customer_and_agent_numbers, start_files_agent
    root = make_tree(tmp_path / "home")
    with open(root / "big.iso", "wb") as f:
        f.truncate(600 * 1024 * 1024)
    rep = await host.rep()
    s = await rep.start_session()
    ws = RepSocket(await rep.ws(s["id"]))
    customer = await host.client()
    assert (await customer.join(s["number"], "Carla")).status == 302
    page = RepSocket(await customer.ws(s["id"]))
    number = await customer_and_agent_numbers(host, s["id"])
    agent, task = await start_files_agent(host, number, root, consent=ScriptedConsent(Answer(True)))
    try:
        await ws.expect(lambda m: m.get("type") == f"{P}.state" and m["agents"])
        await ws.request({"type": f"{P}.request"})
        assert (await ws.expect(f"{P}.answer"))["allow"] is True
        await page.expect(lambda m: m.get("type") == f"{P}.state" and m["grants"])

        await ws.request({"type": f"{P}.fetch", "path": "big.iso"})
        # the rep's upload is half-way: the customer already receives what has arrived
        up = await open_upload(rep, s["id"], "update.bin", 160 * 1024 * 1024, folder="docs")
        assert (await put_part(rep, s["id"], up["id"], 0, bytes(80 * 1024 * 1024))).status == 200
        await ws.expect(lambda m: m.get("type") == f"{P}.progress" and m["direction"] == "to_customer" and m["done"])
        await page.expect(lambda m: m.get("type") == f"{P}.progress")      # the customer sees it too
        reply = await page.request({"type": f"{P}.revoke"})
        assert reply["grants"] == 1
        ends = [await ws.expect(lambda m: m.get("type") in (f"{P}.failed", f"{P}.done")) for _ in range(2)]
        assert [m["type"] for m in ends] == [f"{P}.failed"] * 2
        assert all("revoked" in m["error"] for m in ends)
        # The revocation reaches the Support Manager as a message of its own: wait (bounded) until it has
        # stopped its transfers and dropped the grant, then check.
        await until(lambda: not agent.features[P].receivers and not agent.features[P].senders
                    and not agent.features[P].grants and not [p for p in root.rglob("*") if p.name.endswith(".part")],
                    "the Support Manager to stop its transfers")
        assert not (root / "docs" / "update.bin").exists()
        assert not [p for p in root.rglob("*") if p.name.endswith(".part")]
        assert not list(host.data_dir.joinpath(P, "tmp").glob("*.part"))
        assert not agent.features[P].grants
        refused = await ws.request({"type": f"{P}.list", "path": ""})
        assert refused["type"] == "error" and "not allowed you" in refused["error"]
        events = await events_of(host, s["id"])
        revoked = [d for k, d in events if k == f"{P}.revoked"]
        assert revoked and revoked[0]["by"] == "Carla"
        assert [k for k, _ in events].count(f"{P}.transfer_failed") == 2
    finally:
        await stop_files_agent(agent, task)


async def test_support_manager_stop_revokes_at_once(host, tmp_path):
    root = make_tree(tmp_path / "home")
    with open(root / "big.iso", "wb") as f:
        f.truncate(600 * 1024 * 1024)
    rep, s, ws, agent, task, _ = await granted_session(host, root)
    try:
        await ws.request({"type": f"{P}.fetch", "path": "big.iso"})
        await ws.expect(lambda m: m.get("type") == f"{P}.progress" and m["done"])
        ws.seen.clear()                      # only what comes after the stop counts (states before the grant too)
        agent.stop_sharing()                 # what typing "stop" or the status window's Stop button does
        failed = await ws.expect(lambda m: m.get("type") in (f"{P}.failed", f"{P}.done"))
        assert failed["type"] == f"{P}.failed" and "revoked" in failed["error"]
        state = await ws.expect(lambda m: m.get("type") == f"{P}.state" and not m["grants"])
        assert not state["transfers"]
        assert not list(host.data_dir.joinpath(P, "tmp").glob("*.part"))
        assert not list(host.data_dir.joinpath(P, "files").glob("*"))
        revoked = [d for k, d in await events_of(host, s["id"]) if k == f"{P}.revoked"]
        assert revoked[0]["by"] == "Support Manager"
    finally:
        await stop_files_agent(agent, task)


async def test_ending_the_session_stops_transfers_and_leaves_no_partial_file(host, tmp_path):
    root = make_tree(tmp_path / "home")
    with open(root / "big.iso", "wb") as f:
        f.truncate(600 * 1024 * 1024)
    rep, s, ws, agent, task, _ = await granted_session(host, root)
    try:
        await ws.request({"type": f"{P}.fetch", "path": "big.iso"})
        up = await open_upload(rep, s["id"], "update.bin", 160 * 1024 * 1024, folder="docs")
        assert (await put_part(rep, s["id"], up["id"], 0, bytes(80 * 1024 * 1024))).status == 200
        await ws.expect(lambda m: m.get("type") == f"{P}.progress" and m["direction"] == "to_customer" and m["done"])
        await ws.send({"type": "session.end"})
        await asyncio.wait_for(task, 10)               # the Support Manager stops with the session
        async with asyncio.timeout(WAIT):               # the host cleans up once everybody was told
            while f"{P}.revoked" not in [k for k, _ in await events_of(host, s["id"])]:
                await asyncio.sleep(0.05)
        assert not [p for p in root.rglob("*") if p.name.endswith(".part")]
        assert not (root / "docs" / "update.bin").exists()
        assert not list(host.data_dir.joinpath(P, "tmp").glob("*.part"))
        kinds = [k for k, _ in await events_of(host, s["id"])]
        assert kinds.count(f"{P}.transfer_failed") == 2 and f"{P}.revoked" in kinds
    finally:
        await stop_files_agent(agent, task)


async def test_typed_stop_files_ends_file_access_only(host, tmp_path):
    root = make_tree(tmp_path / "home")
    rep, s, ws, agent, task, _ = await granted_session(host, root)
    try:
        shown = []
        agent.status.controls = lambda key, text, buttons: shown.append((key, text, buttons))
        agent._terminal_command("stop files")          # typed, or the status window's button
        ws.seen.clear()                                 # only what comes after the stop counts
        state = await ws.expect(lambda m: m.get("type") == f"{P}.state" and not m["grants"])
        assert state["agents"] and not agent.features[P].grants
        assert shown[-1] == (P, "", [])
        refused = await ws.request({"type": f"{P}.list", "path": ""})
        assert refused["type"] == "error" and "not allowed you" in refused["error"]
        assert agent.link.ws is not None and not agent.link.finished    # the Support Manager stays
    finally:
        await stop_files_agent(agent, task)


async def test_rep_cancels_a_transfer_in_flight(host, tmp_path):
    root = make_tree(tmp_path / "home")
    with open(root / "big.iso", "wb") as f:
        f.truncate(600 * 1024 * 1024)
    rep, s, ws, agent, task, _ = await granted_session(host, root)
    try:
        started = await ws.request({"type": f"{P}.fetch", "path": "big.iso"})
        await ws.expect(lambda m: m.get("type") == f"{P}.progress" and m["done"])
        reply = await ws.request({"type": f"{P}.cancel", "transfer": started["transfer"]["id"]})
        assert reply["type"] == f"{P}.cancelled"
        failed = await ws.expect(lambda m: m.get("type") in (f"{P}.failed", f"{P}.done"))
        assert failed["type"] == f"{P}.failed" and failed["error"] == "cancelled by Rita Rep"
        await until(lambda: not agent.features[P].senders, "the Support Manager to stop reading")
        assert not agent.features[P].senders              # the Support Manager stopped reading it
        assert not list(host.data_dir.joinpath(P, "tmp").glob("*.part"))
        again = await ws.request({"type": f"{P}.cancel", "transfer": started["transfer"]["id"]})
        assert again["type"] == "error" and "no such transfer" in again["error"]
        listing = await ws.request({"type": f"{P}.list", "path": ""})   # access itself goes on
        assert listing["type"] == f"{P}.listing"
    finally:
        await stop_files_agent(agent, task)


async def test_copies_stay_downloadable_after_the_session_until_the_retention_ends(host, tmp_path):
    import time

    from plugins.filexfer_advanced import cleanup
    root = make_tree(tmp_path / "home")
    rep, s, ws, agent, task, _ = await granted_session(host, root)
    try:
        await ws.request({"type": f"{P}.fetch", "path": "docs/report.txt"})
        done = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed"))
        await ws.send({"type": "session.end"})
        await asyncio.wait_for(task, 10)
        r = await rep.http.get(rep.url(done["url"]))
        assert r.status == 200 and await r.read() == b"quarterly numbers\n"
        other = await host.rep("rep2")                  # not in that session
        assert (await other.http.get(other.url(done["url"]))).status == 403
        assert await cleanup.run_once(host.app) == []   # within the 24 hours
        host.config.clock = lambda: time.time() + 25 * 3600
        assert await cleanup.run_once(host.app) == [done["id"]]
        assert not list(host.data_dir.joinpath(P, "files").iterdir())
        rep = await host.rep("rep1")                    # a day later: a fresh login
        r = await rep.http.get(rep.url(done["url"]))
        assert r.status == 410 and "deleted" in await r.text()
    finally:
        await stop_files_agent(agent, task)


async def test_a_folder_with_thousands_of_files_is_listed_whole(host, tmp_path):
    """Its listing is far over the host's 64 KiB message limit: the Support Manager sends it in pages."""
    root = tmp_path / "home"
    big = root / "photos"
    big.mkdir(parents=True)
    for i in range(3000):
        (big / f"holiday-{i:04d}-with-a-rather-long-descriptive-name.jpg").write_bytes(b"x")
    rep, s, ws, agent, task, _ = await granted_session(host, root)
    try:
        connections = agent.link.connections
        listing = await ws.request({"type": f"{P}.list", "path": "photos"})
        assert listing["type"] == f"{P}.listing" and len(listing["entries"]) == 3000
        assert listing["entries"][0]["name"] == "holiday-0000-with-a-rather-long-descriptive-name.jpg"
        assert agent.link.connections == connections      # no message too big, no reconnect
    finally:
        await stop_files_agent(agent, task)
