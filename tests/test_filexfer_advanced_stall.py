"""A transfer never hangs: when the other side stops moving data (a Support Manager that stops reading or
sending, a host that stops sending), the transfer ends as failed after the stall limit, with the reason,
and no partial file is left on either side."""
from __future__ import annotations

import asyncio
import os

from filexfer_advanced_helpers import P, granted_session, open_upload, put_part, stop_files_agent, until, upload

MB = 1024 * 1024


async def stall_after(host, seconds: int) -> None:
    """The site's stall limit (the admin's settings page)."""
    admin = await host.rep("admin")
    r = await admin.post_form(f"/s/demo/admin/settings/{P}", {"max_file_mb": "4096", "retention_hours": "24",
                                                              "stall_seconds": str(seconds)})
    assert r.status == 200, await r.text()


def partial_files(*folders) -> list:
    return [p for folder in folders for p in folder.rglob("*.part")]


async def test_a_support_manager_that_stops_taking_data_fails_the_transfer(host, tmp_path):
    await stall_after(host, 2)
    root = tmp_path / "home"
    (root / "inbox").mkdir(parents=True)
    # the Support Manager's own limit is long: the host's watchdog is the one that ends it
    rep, s, ws, agent, task, _ = await granted_session(host, root, agent_config={"files_stall_seconds": 600})
    try:
        async def silent(header, payload):   # it stops reading the file's data: nothing is written or acked
            return None
        agent.binary_handlers[f"{P}.put"] = silent
        r = await upload(rep, s["id"], os.urandom(16 * MB), "big.bin", folder="inbox")
        assert r.status == 202, await r.text()
        failed = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed"))
        assert failed["type"] == f"{P}.failed" and failed["error"].startswith("stalled: no data for 2 s"), failed
        await until(lambda: not agent.features[P].receivers and not partial_files(root, host.data_dir),
                    "the partial files to go")
        assert list((root / "inbox").iterdir()) == []
    finally:
        await stop_files_agent(agent, task)


async def test_a_support_manager_that_stops_sending_fails_the_fetch(host, tmp_path):
    await stall_after(host, 2)
    root = tmp_path / "home"
    root.mkdir()
    (root / "big.bin").write_bytes(os.urandom(8 * MB))
    rep, s, ws, agent, task, _ = await granted_session(host, root, agent_config={"files_stall_seconds": 600})
    try:
        async def never(frame):   # its link takes no more data (as a stopped process)
            await asyncio.Event().wait()
        agent.send_bytes = never
        started = await ws.request({"type": f"{P}.fetch", "path": "big.bin"})
        assert started["type"] == f"{P}.started", started
        failed = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed"))
        assert failed["type"] == f"{P}.failed" and failed["error"].startswith("stalled: no data for 2 s"), failed
        await until(lambda: not agent.features[P].senders and not partial_files(host.data_dir),
                    "the sender to stop and the host's temp file to go")
        assert not list(host.data_dir.joinpath(P, "files").glob("*"))   # nothing was kept
    finally:
        await stop_files_agent(agent, task)


async def test_a_host_that_stops_sending_fails_the_transfer_on_the_customers_computer(host, tmp_path):
    root = tmp_path / "home"
    (root / "inbox").mkdir(parents=True)
    # the host's limit stays the default (120 s): the Support Manager's own watchdog ends it
    rep, s, ws, agent, task, _ = await granted_session(host, root, agent_config={"files_stall_seconds": 2})
    try:
        data = os.urandom(8 * MB)
        up = await open_upload(rep, s["id"], "half.bin", len(data), folder="inbox")
        assert (await put_part(rep, s["id"], up["id"], 0, data[:3 * MB])).status == 200
        # the rest never comes: after what it had, the host sends nothing more
        failed = await ws.expect(lambda m: m.get("type") in (f"{P}.done", f"{P}.failed") and m["id"] == up["id"])
        assert failed["type"] == f"{P}.failed" and failed["error"].startswith("stalled: no data for 2 s"), failed
        assert "half.bin" in agent.reports[-1]
        await until(lambda: not agent.features[P].receivers and not partial_files(root, host.data_dir),
                    "the partial files to go")
        assert list((root / "inbox").iterdir()) == []
    finally:
        await stop_files_agent(agent, task)
