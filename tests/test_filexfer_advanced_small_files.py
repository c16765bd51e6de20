"""Small files from the customer's computer: each goes whole in one frame and is written, fsynced and renamed
with the small files that finish at the same time (group commit). Each is still checked against its
SHA-256, recorded (started and done) and offered to the rep only once durable; a bad one leaves nothing."""
from __future__ import annotations

import asyncio
import hashlib
import json

from filexfer_advanced_helpers import P, events_of, granted_session, stop_files_agent
from plugins.filexfer_advanced.protocol import SMALL_FILE


def sizes():
    return [0, 1, 100, 4096, SMALL_FILE - 1, SMALL_FILE, SMALL_FILE + 1, 200 * 1024] + [1000 + 37 * i for i in range(32)]


async def test_many_small_files_at_once(host, tmp_path):
    root = tmp_path / "home"
    (root / "many").mkdir(parents=True)
    want = {}
    for i, n in enumerate(sizes()):
        data = hashlib.sha256(str(i).encode()).digest() * (n // 32 + 1)
        (root / "many" / f"f{i:02d}.bin").write_bytes(data[:n])
        want[f"f{i:02d}.bin"] = hashlib.sha256(data[:n]).hexdigest()
    rep, s, ws, agent, task, _ = await granted_session(host, root)
    try:
        for i, name in enumerate(want):   # all asked for at once: they finish close together
            await ws.send({"type": f"{P}.fetch", "path": f"many/{name}", "id": f"fetch{i}"})
        replies = [await ws.expect(lambda m, i=i: m.get("re") == f"fetch{i}") for i in range(len(want))]
        tids = {r["transfer"]["id"] for r in replies}
        ends = {}
        while len(ends) < len(tids):
            m = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed") and m["id"] in tids
                                and m["id"] not in ends)
            ends[m["id"]] = m
        assert all(m["type"] == f"{P}.done" for m in ends.values()), [m.get("error") for m in ends.values()]
        assert {m["name"]: m["sha256"] for m in ends.values()} == want
        files = host.data_dir / P / "files"
        stored = await host.db_read(lambda db: {r["id"]: (r["stored_name"], r["status"], r["sha256"]) for r in
                                                db["advanced_transfers"].rows_where("session_id = ?", [s["id"]])})
        for tid, m in ends.items():
            name, status, sha = stored[tid]
            assert status == "done" and sha == m["sha256"]
            assert hashlib.sha256((files / name).read_bytes()).hexdigest() == m["sha256"]
        assert not list((host.data_dir / P / "tmp").glob("*.part"))
        kinds = [k for k, d in await events_of(host, s["id"]) if d.get("transfer") in tids]
        assert kinds.count(f"{P}.transfer_started") == len(tids)
        assert kinds.count(f"{P}.transfer_done") == len(tids)
    finally:
        await stop_files_agent(agent, task)


async def test_a_small_file_that_does_not_match_its_sha256_is_not_kept(host, tmp_path):
    """Data changed on the way (here: by the Support Manager's link itself): refused, nothing stored."""
    root = tmp_path / "home"
    root.mkdir()
    (root / "note.txt").write_bytes(b"the right content")
    rep, s, ws, agent, task, _ = await granted_session(host, root)
    real_send_bytes = agent.send_bytes

    async def tamper(frame: bytes):
        n = frame[0]
        if json.loads(frame[1:1 + n])["type"] == f"{P}.whole_file":
            frame = frame[:-1] + bytes([frame[-1] ^ 1])
        return await real_send_bytes(frame)
    agent.send_bytes = tamper
    try:
        reply = await ws.request({"type": f"{P}.fetch", "path": "note.txt"})
        end = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed")
                              and m["id"] == reply["transfer"]["id"])
        assert end["type"] == f"{P}.failed"
        assert "does not match its SHA-256" in end["error"] and "nothing was kept" in end["error"]
        assert not list((host.data_dir / P / "files").glob("*"))
        assert not list((host.data_dir / P / "tmp").glob("*.part"))
        kinds = [k for k, _ in await events_of(host, s["id"])]
        assert f"{P}.transfer_failed" in kinds and f"{P}.transfer_done" not in kinds
    finally:
        await stop_files_agent(agent, task)


async def test_a_small_file_with_a_long_name_goes_in_the_usual_messages(host, tmp_path):
    """Reached through a link with a short name, the file's own (long) name does not fit a frame header."""
    root = tmp_path / "home"
    root.mkdir()
    long_name = "a" * 150 + ".txt"
    (root / long_name).write_bytes(b"long named")
    (root / "short.txt").symlink_to(root / long_name)
    rep, s, ws, agent, task, _ = await granted_session(host, root)
    try:
        reply = await ws.request({"type": f"{P}.fetch", "path": "short.txt"})
        end = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed")
                              and m["id"] == reply["transfer"]["id"])
        assert end["type"] == f"{P}.done", end
        assert end["name"] == long_name and end["sha256"] == hashlib.sha256(b"long named").hexdigest()
    finally:
        await stop_files_agent(agent, task)


def test_one_bad_file_in_a_batch_fails_alone(tmp_path):
    from plugins.filexfer_advanced.group_commit import IntegrityError, SmallFile, commit_batch
    from plugins.filexfer_advanced.storage import TransferStore
    store = TransferStore(tmp_path)
    files = [SmallFile(f"t{i}", f"s{i}", b"x" * i, hashlib.sha256(b"x" * i).hexdigest()) for i in range(3)]
    files[1].sha256 = "0" * 64
    results = commit_batch(store, files)
    assert results[0] is None and results[2] is None and isinstance(results[1], IntegrityError)
    assert sorted(p.name for p in store.files.iterdir()) == ["s0", "s2"]
    assert (store.files / "s2").read_bytes() == b"xx"
    assert not list(store.tmp.iterdir())


async def test_files_committed_together_are_each_reported(tmp_path):
    from plugins.filexfer_advanced.group_commit import GroupCommit, IntegrityError, SmallFile
    from plugins.filexfer_advanced.storage import TransferStore
    committer = GroupCommit(TransferStore(tmp_path), workers=1)
    files = [SmallFile(f"t{i}", f"s{i}", bytes([i]) * 100, hashlib.sha256(bytes([i]) * 100).hexdigest())
             for i in range(20)]
    files[7].sha256 = "1" * 64
    results = await asyncio.gather(*(committer.commit(f) for f in files), return_exceptions=True)
    assert [i for i, r in enumerate(results) if r is not None] == [7] and isinstance(results[7], IntegrityError)
    assert len(list((tmp_path / "filexfer_advanced" / "files").iterdir())) == 19
    assert committer._running == 0 and not committer._waiting
