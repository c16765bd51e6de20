"""A full disk is said as such, corrupts nothing, and passes by itself once there is space again (issue 11,
defect 7). The data folder is a small tmpfs of the test's own (mounted as root), filled to the last byte."""
from __future__ import annotations

import errno
import os
import sqlite3
import subprocess

import pytest

from conftest import PASSWORD, start_host, stop_host

DISK_FULL = "The server's disk is full"


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "data"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder) -> str:
    """Write a file until the disk holds no more; returns its path."""
    path = os.path.join(folder, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    block = b"\0" * 65536
    try:
        while True:
            try:
                os.write(fd, block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                if len(block) == 1:
                    break
                block = block[: len(block) // 2]
    finally:
        os.close(fd)
    return path


def assert_secured(r) -> None:
    assert "frame-ancestors 'none'" in r.headers.get("Content-Security-Policy", "")
    assert r.headers.get("X-Frame-Options") == "DENY" and r.headers.get("X-Content-Type-Options") == "nosniff"


async def test_a_full_disk_is_said_nothing_is_lost_and_it_recovers(small_disk):
    host = await start_host(small_disk)
    try:
        rep = await host.rep()
        s = await rep.start_session()
        rep_ws = await rep.ws(s["id"])
        other = await host.client()
        token = await other.csrf("/s/demo/login")
        filler = fill(small_disk)

        # chat: the writes the WAL still has room for are acknowledged; then the disk says no
        acked, refusal = [], None
        for i in range(3000):
            reply = await rep_ws.request({"type": "chat.send", "text": f"message {i} " + "x" * 500})
            if reply["type"] == "chat.ack":
                acked.append(reply["message"]["text"])
                continue
            refusal = reply
            break
        assert refusal is not None, "the disk never filled"
        assert refusal["code"] == "disk_full" and refusal["error"].startswith(DISK_FULL), refusal
        note = await rep_ws.request({"type": "notes.save", "text": "call back tomorrow", "final": True})
        assert note["type"] == "error" and note["error"].startswith(DISK_FULL), note

        r = await other.http.post(other.url("/s/demo/login"), allow_redirects=False,
                                  data={"username": "rep2", "password": PASSWORD, "csrf_token": token})
        assert r.status == 507 and (await r.text()).startswith(DISK_FULL)
        assert_secured(r)

        form_body = (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n" +
                     os.urandom(256 * 1024) + b"\r\n--B--\r\n")
        r = await rep.http.post(rep.url(f"/s/demo/p/filexfer_basic/sessions/{s['id']}/files"), data=form_body,
                                headers={"X-CSRF-Token": await rep.csrf("/s/demo/"),
                                         "Content-Type": "multipart/form-data; boundary=B"})
        body = await r.json()
        assert r.status == 507 and body["error"]["message"].startswith(DISK_FULL), body
        assert_secured(r)
        store = small_disk / "filexfer_basic"
        assert [p for d in ("files", "tmp") if (store / d).is_dir() for p in (store / d).iterdir()] == []

        # space again: everything works without a restart, and nothing acknowledged was lost
        os.unlink(filler)
        ack = await rep_ws.request({"type": "chat.send", "text": "back"})
        assert ack["type"] == "chat.ack"
        note = await rep_ws.request({"type": "notes.save", "text": "call back tomorrow", "final": True})
        assert note["type"] == "notes.saved"
        r = await other.http.post(other.url("/s/demo/login"), allow_redirects=False,
                                  data={"username": "rep2", "password": PASSWORD, "csrf_token": token})
        assert r.status == 302
        texts = await host.db_read(lambda db: [row["text"] for row in db.query(
            "select text from chat_messages where session_id = ? order by id", [s["id"]])])
        assert texts == acked + ["back"]
    finally:
        await stop_host(host)
    conn = sqlite3.connect(small_disk / "supporthost.db")
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    conn.close()
