"""Exports started from the player run as background jobs: a damaged recording fails with its message, a second
start joins the first, the exporting thread runs niced, and a host that stops mid-export leaves no file behind."""
from __future__ import annotations

import asyncio
import os
import threading

import pytest

from conftest import start_host, stop_host
from host.api import plugin_data_dir
from host.appkeys import DB
from plugins.recorder import player_exports
from plugins.recorder.reader import recording_folder
from recorder_play_helpers import screen_recording, split_segments, write_recording

pytestmark = pytest.mark.asyncio


async def make(host, seconds, w=640, h=360):
    site_id = host.site("demo").id
    root = plugin_data_dir(host.app, "recorder")
    recs = screen_recording(seconds, w=w, h=h)

    def write(db):
        user_id = db.execute("select id from users where username = 'rep1' and site_id = ?", [site_id]).fetchone()[0]
        return write_recording(db, root, site_id, split_segments(recs), rep_user_id=user_id)
    return await host.app[DB].write(write)


async def job_state(rep, rid, start=False):
    url = f"/s/demo/p/recorder/api/recordings/{rid}/export"
    if start:
        r = await rep.api_post(url)
    else:
        r = await rep.http.get(rep.url(url))
    assert r.status == 200, await r.text()
    return await r.json()


async def until_state(rep, rid, states, timeout=60):
    async with asyncio.timeout(timeout):
        while (job := await job_state(rep, rid))["state"] not in states:
            await asyncio.sleep(0.1)
    return job


async def test_a_damaged_recording_fails_its_export_with_the_reason(host):
    rid = await make(host, 12)
    seg = recording_folder(plugin_data_dir(host.app, "recorder"), host.site("demo").id, rid) / "seg-000002.rec"
    seg.write_bytes(seg.read_bytes()[:-10])
    rep = await host.rep("rep1")
    assert (await job_state(rep, rid))["state"] == "none"
    await job_state(rep, rid, start=True)
    job = await until_state(rep, rid, {"failed"})
    assert job["error"].startswith("seg-000002.rec was truncated or changed")
    assert list((plugin_data_dir(host.app, "recorder") / "exports").iterdir()) == []
    other = await host.rep("rep2")
    r = await other.http.get(other.url(f"/s/demo/p/recorder/api/recordings/{rid}/export"))
    assert r.status == 404


async def test_the_export_runs_niced_once_and_a_stopping_host_leaves_no_file(tmp_path, monkeypatch):
    niceness = []
    original = player_exports.Exports._export

    def spy(job, index):
        niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        original(job, index)
    monkeypatch.setattr(player_exports.Exports, "_export", staticmethod(spy))
    host = await start_host(tmp_path / "data")
    try:
        rid = await make(host, 60, 1280, 720)                 # long enough to be under way when the host stops
        rep = await host.rep("rep1")
        first = await job_state(rep, rid, start=True)
        second = await job_state(rep, rid, start=True)
        assert first["state"] in ("waiting", "running") and second["state"] in ("waiting", "running")
        job = await until_state(rep, rid, {"running"})
        async with asyncio.timeout(30):
            while (job := await job_state(rep, rid))["progress"] == 0:
                await asyncio.sleep(0.1)
        assert 0 < job["progress"] < 1
        exports = plugin_data_dir(host.app, "recorder") / "exports"
        assert [p.suffix for p in exports.iterdir()] == [".partial"]
    finally:
        await stop_host(host)
    assert niceness == [max(player_exports.EXPORT_NICE, os.getpriority(os.PRIO_PROCESS, 0))]
    async with asyncio.timeout(30):                            # the thread stops at its next step
        while list(exports.iterdir()):
            await asyncio.sleep(0.1)
