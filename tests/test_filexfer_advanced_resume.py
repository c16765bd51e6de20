"""A large generated file (256 MB of random bytes) crosses a dropped connection both ways: the Support
Manager's TCP connection is cut mid-transfer, it reconnects, the receiver reports what it has and the
transfer goes on from there; the SHA-256 at both ends is equal and no temp file is left."""
from __future__ import annotations

import hashlib

import numpy as np

from filexfer_advanced_helpers import (P, granted_session, kill_connection, open_upload, put_part, sha256_of,
                                       stop_files_agent)

SIZE = 256 * 1024 * 1024


def random_file(path, size=SIZE) -> str:
    rng = np.random.default_rng(5)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(size // (16 << 20)):
            block = rng.bytes(16 << 20)
            h.update(block)
            f.write(block)
    return h.hexdigest()


async def test_large_transfers_resume_after_the_connection_is_cut(host, tmp_path):
    root = tmp_path / "home"
    (root / "inbox").mkdir(parents=True)
    digest = random_file(root / "disk.img")
    rep, s, ws, agent, task, _ = await granted_session(host, root)
    try:
        # customer -> rep
        await ws.request({"type": f"{P}.fetch", "path": "disk.img"})
        await ws.expect(lambda m: m.get("type") == f"{P}.progress" and m["done"] > SIZE // 5)
        first = agent.link.connections
        kill_connection(agent)
        back = await ws.expect(lambda m: m.get("type") == f"{P}.progress" and m["done"] > SIZE // 5)
        done = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed"), timeout=180)
        assert done["type"] == f"{P}.done", done
        # (a loaded machine may drop the link once more by itself: the transfer resumes then too)
        assert agent.link.connections >= first + 1 and back["done"] < SIZE
        assert done["sha256"] == digest
        stored = next(host.data_dir.joinpath(P, "files").iterdir())
        assert sha256_of(stored) == digest
        # rep -> customer: the rep's upload is relayed while it arrives; with half of it up, the link to the
        # customer is cut, then the rest comes
        data = (root / "disk.img").read_bytes()
        (root / "disk.img").unlink()
        up = await open_upload(rep, s["id"], "copy.img", SIZE, folder="inbox")
        assert (await put_part(rep, s["id"], up["id"], 0, data[:SIZE // 2])).status == 200
        await ws.expect(lambda m: m.get("type") == f"{P}.progress" and m["direction"] == "to_customer"
                        and m["done"] > SIZE // 4)
        before = agent.link.connections
        kill_connection(agent)
        r = await put_part(rep, s["id"], up["id"], SIZE // 2, data[SIZE // 2:])
        del data
        assert r.status == 200, await r.text()
        done = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed"), timeout=180)
        assert done["type"] == f"{P}.done", done
        assert agent.link.connections >= before + 1
        resumed = agent.features[P].stats["resumed_at"]
        assert any(SIZE // 4 <= at <= SIZE // 2 for at in resumed), resumed    # went on from what it had
        assert sha256_of(root / "inbox" / "copy.img") == digest
        assert sorted(p.name for p in (root / "inbox").iterdir()) == ["copy.img"]
        assert not list(host.data_dir.joinpath(P, "tmp").glob("*.part"))
        assert [p.name for p in host.data_dir.joinpath(P, "files").iterdir()] == [stored.name]  # relayed copy gone
    finally:
        await stop_files_agent(agent, task)


def test_after_a_resume_a_frame_overlapping_what_arrived_is_taken_from_there():
    """The race behind a transfer that stopped at 50 %: frames of the relay a resume replaced came in after
    the receiver said what it had, so the new relay's frames never started exactly where the receiver
    was, and every one of them was dropped. A frame that overlaps what arrived is now taken from there."""
    from plugins.filexfer_advanced.protocol import new_part
    data = bytes(range(100))
    assert new_part(0, data, 0) is data                       # in order
    assert bytes(new_part(40, data, 100)) == data[60:]        # overlaps: the new part only
    assert new_part(0, data, 100) is None                     # all of it arrived already
    assert new_part(150, data, 100) is None                   # a gap: nothing can be taken
    assert new_part("40", data, 40) is None and new_part(True, data, 1) is None
