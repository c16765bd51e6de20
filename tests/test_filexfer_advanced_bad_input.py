"""Bad input for advanced file transfer: `..`, absolute paths, symlinks out of the allowed root, names with
NUL or separators, a file that changes while it is read, a full disk on the receiving side, and a host
that asks without a grant. Each gets a clear error, leaves no partial file and touches nothing outside."""
from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess

import pytest

from agent.consent import Answer
from agent_harness import ScriptedConsent
from filexfer_advanced_helpers import (P, events_of, granted_session, open_upload, put_part, stop_files_agent, until,
                                       upload)


def tree(tmp_path):
    root = tmp_path / "home"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a.txt").write_text("a")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret")
    (root / "escape").symlink_to(outside)
    (root / "secret-link.txt").symlink_to(outside / "secret.txt")
    (root / "inner-link").symlink_to(root / "docs")
    return root, outside


def snapshot(folder):
    return sorted((str(p.relative_to(folder)), p.is_file() and p.read_bytes()) for p in folder.rglob("*"))


async def failure(ws):
    return await ws.expect(lambda m: m.get("type") in (f"{P}.failed", f"{P}.done"))


async def test_paths_out_of_the_root_are_refused(host, tmp_path):
    root, outside = tree(tmp_path)
    before_out, before_root = snapshot(outside), snapshot(root)
    rep, s, ws, agent, task, _ = await granted_session(host, root)
    try:
        listing = await ws.request({"type": f"{P}.list", "path": ""})
        kinds = {e["name"]: e["kind"] for e in listing["entries"]}
        assert kinds["escape"] == "outside" and kinds["secret-link.txt"] == "outside"
        assert kinds["inner-link"] == "dir"          # a link that stays inside is fine
        inner = await ws.request({"type": f"{P}.list", "path": "inner-link"})
        assert [e["name"] for e in inner["entries"]] == ["a.txt"]

        for path, words in (("..", "'..' is not allowed"), ("docs/../../outside", "'..' is not allowed"),
                            ("/etc", "absolute paths are not allowed"), ("C:/Windows", "absolute paths"),
                            ("escape", "points outside the shared folder"),
                            ("docs\x00x", "NUL"), ("docs\\a.txt", "use /")):
            reply = await ws.request({"type": f"{P}.list", "path": path})
            assert reply["type"] == "error" and words in reply["error"], (path, reply)

        for path, words in (("../outside/secret.txt", "'..'"), ("/etc/passwd", "absolute paths"),
                            ("escape/secret.txt", "outside the shared folder"),
                            ("secret-link.txt", "outside the shared folder"), ("docs", "not a regular file"),
                            ("missing.txt", "No such file")):
            await ws.request({"type": f"{P}.fetch", "path": path})
            failed = await failure(ws)
            assert failed["type"] == f"{P}.failed" and words in failed["error"], (path, failed)

        for folder, name, words in (("..", "x.txt", "'..'"), ("/tmp", "x.txt", "absolute paths"),
                                    ("escape", "x.txt", None), ("docs", "a/b.txt", "cannot contain / or \\"),
                                    ("docs", "a\\b.txt", "cannot contain"), ("docs", "x\x00y", "NUL"),
                                    ("docs", "..", "not a file name"), ("docs", "", "a file name is needed")):
            r = await upload(rep, s["id"], b"payload", name, folder=folder)
            if words is None:      # valid for the host, refused by the agent (symlink out of the root),
                assert r.status in (202, 410)   # maybe before the host had read the upload (410: stopped)
                failed = await failure(ws)
                assert failed["type"] == f"{P}.failed" and "points outside the shared folder" in failed["error"]
            else:
                body = await r.json()
                assert r.status == 400 and words in body["error"]["message"], (folder, name, body)
        assert snapshot(outside) == before_out
        assert snapshot(root) == before_root
        assert not list(host.data_dir.joinpath(P, "tmp").glob("*.part"))
    finally:
        await stop_files_agent(agent, task)


async def test_agent_refuses_what_a_host_asks_without_local_approval(host, tmp_path):
    """A compromised host sends commands straight to the Support Manager (no grant given there):
    nothing is listed, read or written, each refusal is reported locally and to the host."""
    root, outside = tree(tmp_path)
    rep, s, ws, agent, task, answer = await granted_session(host, root, ScriptedConsent(Answer(False)))
    try:
        rep_id = ws.sock.hello["you"]["id"]
        sent = []
        real_send = agent.send

        async def spy(msg):
            sent.append(msg)
            return await real_send(msg)
        agent.send = spy
        for msg in ({"type": f"{P}.list", "req": "r1", "from": rep_id, "path": ""},
                    {"type": f"{P}.send_file", "tid": "t1", "from": rep_id, "path": "docs/a.txt", "offset": 0},
                    {"type": f"{P}.receive_file", "tid": "t2", "from": rep_id, "dir": "", "name": "evil.sh",
                     "size": 4, "sha256": "0" * 64}):
            await agent._on_message(msg)
        assert [m["type"] for m in sent] == [f"{P}.violation"] * 3
        assert not any(m["type"] in (f"{P}.listing", f"{P}.file_info") for m in sent)
        assert not (root / "evil.sh").exists() and not list(root.glob(".*.part"))
        assert len([t for t in agent.reports if t.startswith("Refused")]) == 3
        notice = await ws.expect(f"{P}.notice")
        assert "refused to list your files" in notice["text"]

        # with a grant, a host's own bad names are still refused by the agent itself
        files = agent.features[P]
        files.grants[rep_id] = "Rita Rep"
        sent.clear()
        for name in ("../evil.sh", "a/b", "x\x00"):
            await agent._on_message({"type": f"{P}.receive_file", "tid": "t3", "from": rep_id, "dir": "",
                                     "name": name, "size": 1, "sha256": "0" * 64})
        await agent._on_message({"type": f"{P}.receive_file", "tid": "t4", "from": rep_id, "dir": "../outside",
                                 "name": "x", "size": 1, "sha256": "0" * 64})
        assert [m["type"] for m in sent] == [f"{P}.failed"] * 4
        assert snapshot(outside) == [("secret.txt", b"top secret")]
        assert not list(root.glob(".*.part"))
    finally:
        await stop_files_agent(agent, task)


async def test_a_file_that_changes_while_it_is_read(host, tmp_path):
    root = tmp_path / "home"
    root.mkdir()
    big = root / "growing.log"
    with open(big, "wb") as f:
        f.truncate(400 * 1024 * 1024)       # sparse: made at once, read fast
    rep, s, ws, agent, task, _ = await granted_session(host, root)
    try:
        await ws.request({"type": f"{P}.fetch", "path": "growing.log"})
        await ws.expect(lambda m: m.get("type") == f"{P}.progress" and (m["done"] or 0) > 0)
        with open(big, "ab") as f:          # the customer's program writes to it meanwhile
            f.write(b"more log lines\n")
        failed = await failure(ws)
        assert failed["type"] == f"{P}.failed"
        assert "changed while it was being read" in failed["error"]
        assert not list(host.data_dir.joinpath(P, "tmp").glob("*.part"))
        assert not list(host.data_dir.joinpath(P, "files").glob("*"))
        kinds = [k for k, _ in await events_of(host, s["id"])]
        assert f"{P}.transfer_failed" in kinds
    finally:
        await stop_files_agent(agent, task)


def mount_small_disk(mnt, size: str = "2m"):
    """A real small file system (tmpfs) at ``mnt``, so a disk really fills up; unmount with the result."""
    mnt.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    return lambda: subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB disk as the customer's folder."""
    unmount = mount_small_disk(tmp_path / "small")
    try:
        yield tmp_path / "small"
    finally:
        unmount()


async def test_full_disk_on_the_customers_side(host, tmp_path, small_disk):
    rep, s, ws, agent, task, _ = await granted_session(host, small_disk)
    try:
        # too big for the disk at all: refused before the rep sends a byte (the upload has nowhere to go)
        up = await open_upload(rep, s["id"], "big.bin", 3 * 1024 * 1024)
        failed = await failure(ws)
        assert failed["type"] == f"{P}.failed" and "the disk is full" in failed["error"]
        r = await put_part(rep, s["id"], up["id"], 0, os.urandom(3 * 1024 * 1024))
        assert r.status == 404 and "no such upload" in (await r.json())["error"]["message"]
        # two that fit one at a time, not together: the disk fills up while writing the second (whose
        # upload may still be running then: it is told the transfer stopped)
        a, b = os.urandom(1_200_000), os.urandom(1_200_000)
        ra, rb = await asyncio.gather(upload(rep, s["id"], a, "a.bin"), upload(rep, s["id"], b, "b.bin"))
        assert 202 in (ra.status, rb.status) and {ra.status, rb.status} <= {202, 410}
        results = [await failure(ws), await failure(ws)]
        assert sorted(m["type"] for m in results) == [f"{P}.done", f"{P}.failed"]
        bad = next(m for m in results if m["type"] == f"{P}.failed")
        assert "disk" in bad["error"] and "full" in bad["error"]
        names = sorted(p.name for p in small_disk.iterdir())
        good = next(m for m in results if m["type"] == f"{P}.done")
        assert names == [good["name"]]             # no partial file, no temp file
        data = (small_disk / good["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == good["sha256"]
    finally:
        await stop_files_agent(agent, task)


async def test_full_disk_on_the_hosts_side(host, tmp_path):
    """The host's disk fills up while it receives a file from the customer's computer (and while it buffers
    the rep's upload): the transfer fails with a clear error, nothing partial stays, the host goes on."""
    root, _ = tree(tmp_path)
    (root / "docs" / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    (root / "docs" / "small.txt").write_bytes(b"fits")
    unmount = mount_small_disk(host.data_dir / P, "2m")
    rep, s, ws, agent, task, _ = await granted_session(host, root)
    try:
        await ws.request({"type": f"{P}.fetch", "path": "docs/big.bin"})
        failed = await failure(ws)
        assert failed["type"] == f"{P}.failed" and "could not store big.bin" in failed["error"]
        assert "No space left" in failed["error"]
        r = await upload(rep, s["id"], os.urandom(3 * 1024 * 1024), "huge.bin", folder="docs")
        assert r.status in (400, 410), await r.text()
        failed = await failure(ws)
        assert failed["type"] == f"{P}.failed" and "could not store huge.bin" in failed["error"]
        await until(lambda: not agent.features[P].receivers and not [p for p in root.rglob("*")  # told too
                                                                       if p.name.endswith(".part")],
                    "the Support Manager to drop what it had received")
        assert not list((host.data_dir / P).rglob("*.part")) and not list((host.data_dir / P).rglob("*.bin"))
        assert not (root / "docs" / "huge.bin").exists()
        assert not [p for p in root.rglob("*") if p.name.endswith(".part")]
        # the space is back: a file that fits goes through
        await ws.request({"type": f"{P}.fetch", "path": "docs/small.txt"})
        done = await failure(ws)
        assert done["type"] == f"{P}.done", done.get("error")
    finally:
        await stop_files_agent(agent, task)
        unmount()
