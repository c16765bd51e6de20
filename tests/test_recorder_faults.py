"""Faults while recording: a host killed with SIGKILL mid-recording (a real process) leaves a recording that
reads up to its last complete record, the next start closes it as interrupted and the still-live session goes
on being recorded as a new part; a full disk (a small tmpfs) stops the recording cleanly, tells the rep why,
and the session goes on."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import aiohttp
import pytest

from conftest import start_host, stop_host
from host.testing import Client
from plugins.recorder.reader import load_index, parse_records

SERVE = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from host.testing import start_host

    async def main():
        host = await start_host(Path(sys.argv[1]), only_plugins={"chat", "recorder"})
        print(host.base, flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
""")


async def until(predicate, timeout=20.0):
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.1)


async def people(base: str):
    fake_host = SimpleNamespace(base=base)
    rep = Client(fake_host, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))
    await rep.login("rep1")
    s = await rep.start_session()
    rep_ws = await rep.ws(s["id"])
    cust = Client(fake_host, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))
    assert (await cust.join(s["number"], "Carla Customer", site="demo")).status == 302
    cust_ws = await cust.ws(s["id"])
    return rep, s, rep_ws, cust, cust_ws


async def test_sigkill_mid_recording_then_restart_closes_it_and_the_session_goes_on_as_a_new_part(tmp_path):
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(data)], stdout=subprocess.PIPE,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    clients = []
    try:
        base = (await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)).decode().strip()
        rep, s, rep_ws, cust, cust_ws = await people(base)
        clients = [rep.http, cust.http]
        rid = (await rep_ws.request({"type": "recorder.start"}))["recording_id"]
        for i in range(5):
            await cust_ws.request({"type": "chat.send", "text": f"line {i}"})
        folder = next((data / "plugins" / "recorder").glob(f"*/{rid}"))

        async def on_disk():
            seg = folder / "seg-000001.rec"
            if not seg.exists():
                return False
            records, _ = parse_records(seg.read_bytes(), strict=False)
            return any(r.kind == 1 and b"line 4" in r.body for r in records)
        await until(on_disk)                                    # fsynced within the flush interval
        with open(folder / "seg-000001.rec", "ab") as f:        # and a record the kill cut in half
            f.write(b"\x00\x00\x01\x00\xde\xad")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        for http in clients:
            await http.close()
        if proc.poll() is None:
            proc.kill()

    host = await start_host(data, only_plugins={"chat", "recorder"})
    try:
        def rows(db):
            return (db["recordings"].get(rid), list(db.query(
                "select * from recording_parts where recording_id = ? order by part", [rid])),
                [r["action"] for r in db.query("select action from audit_log where action like 'recording.%'")])
        row, parts, actions = await host.db_read(rows)
        assert "recording.interrupted" in actions
        assert parts[0]["stop_reason"] == "interrupted: the host stopped" and parts[0]["ended_ms"] is not None
        assert len(parts) == 2 and parts[1]["started_ms"] == parts[0]["ended_ms"]    # the session goes on
        assert row["status"] == "recording"
        index = await host.db_read(lambda db: load_index(db, host.data_dir / "plugins" / "recorder", rid))
        first = index.segments[0]
        assert first.sha256 and first.name == "seg-000001.rec"      # closed: cut back and hashed
        texts = [json.loads(r.body).get("text") for r in parse_records(first.path.read_bytes())[0] if r.kind == 1 and r.direction == 1]
        assert [t for t in texts if t] == [f"line {i}" for i in range(5)]

        rep = await host.rep()
        rep_ws = await rep.ws(s["id"])                          # the rep comes back to the same session
        state = await rep_ws.request({"type": "recorder.state"})
        assert state["recording"] and state["recording_id"] == rid
    finally:
        await stop_host(host)


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_a_full_disk_stops_the_recording_cleanly_and_the_session_goes_on(tmp_path, small_disk):
    host = await start_host(tmp_path / "data", only_plugins={"chat", "recorder"})
    try:
        rep = await host.rep()
        s = await rep.start_session()
        rep_ws = await rep.ws(s["id"])
        cust = await host.client()
        assert (await cust.join(s["number"], "Carla Customer")).status == 302
        cust_ws = await cust.ws(s["id"])
        rec_root = host.data_dir / "plugins" / "recorder"
        site_folder = rec_root / str(host.site().id)
        site_folder.mkdir(parents=True, exist_ok=True)
        site_folder.rmdir()
        site_folder.symlink_to(small_disk)                     # the recordings' folder is on a 3 MB disk
        rid = (await rep_ws.request({"type": "recorder.start"}))["recording_id"]
        text = "x" * 3900
        stopped = None
        async with asyncio.timeout(60):
            while stopped is None:
                await cust_ws.request({"type": "chat.send", "text": text})
                for m in list(rep_ws.seen):
                    if m.get("type") == "recorder.state" and not m["recording"]:
                        stopped = m
                rep_ws.seen = [m for m in rep_ws.seen if m.get("type") != "chat.message"]
                if stopped is None:
                    try:
                        stopped = await rep_ws.expect(lambda m: m.get("type") == "recorder.state"
                                                      and not m["recording"], timeout=0.05)
                    except TimeoutError:
                        pass
        assert "disk is full" in stopped["reason"]
        row = await host.db_read(lambda db: db["recordings"].get(rid))
        assert row["status"] == "failed" and "disk is full" in row["reason"]
        # the session goes on: chat still works, for both
        await cust_ws.request({"type": "chat.send", "text": "still here"})
        assert (await rep_ws.expect(lambda m: m.get("type") == "chat.message"
                                    and m["message"]["text"] == "still here"))
        index = await host.db_read(lambda db: load_index(db, rec_root, rid))
        assert index.segments and all(f.sha256 for f in index.segments)
    finally:
        await stop_host(host)
