"""Notes are never lost on a host crash: `supporthost run` in its own process, a note autosaved and
acknowledged over the real WebSocket, the process killed with SIGKILL (no shutdown, nothing flushed by
the host), a fresh process on the same data folder gives the note back and the record has it."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp

from conftest import PASSWORD, free_port, seed


async def run_host(data_dir: Path):
    """`python -m host run` on data_dir; returns (process, base URL) once it answers HTTP."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "host", "--data", str(data_dir), "run", "--port", str(port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        async with asyncio.timeout(30):
            while True:
                assert proc.returncode is None, "supporthost run ended early"
                try:
                    async with http.get(f"{base}/s/demo/login") as r:
                        if r.status == 200:
                            return proc, base
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)


async def login(http, base: str) -> str:
    """Logs rep1 in; returns a CSRF token for the API."""
    async with http.get(f"{base}/s/demo/login") as r:
        token = re.search(r'name="csrf-token" content="([^"]+)"', await r.text()).group(1)
    async with http.post(f"{base}/s/demo/login", allow_redirects=False,
                         data={"username": "rep1", "password": PASSWORD, "csrf_token": token}) as r:
        assert r.status == 302
    async with http.get(f"{base}/s/demo/") as r:
        return re.search(r'name="csrf-token" content="([^"]+)"', await r.text()).group(1)


async def ws_request(ws, msg: dict) -> dict:
    await ws.send_json(msg)
    async with asyncio.timeout(10):
        while True:
            reply = await ws.receive_json()
            if reply.get("re") == msg["id"]:
                return reply


async def test_an_acknowledged_note_survives_the_host_being_killed(tmp_path):
    data = tmp_path / "data"
    seed(data)
    proc, base = await run_host(data)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            csrf = await login(http, base)
            async with http.post(f"{base}/s/demo/api/sessions", json={}, headers={"X-CSRF-Token": csrf}) as r:
                assert r.status == 201
                sid = (await r.json())["id"]
            ws = await http.ws_connect(f"{base}/s/demo/ws/session/{sid}", headers={"Origin": base})
            saved = await ws_request(ws, {"type": "notes.save", "id": "n1",
                                          "text": "Customer's VPN drops every 10 minutes; swapped the cable."})
            assert saved["type"] == "notes.saved"
            proc.send_signal(signal.SIGKILL)        # a crash right after the acknowledgement
            await proc.wait()
            await ws.close()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == -signal.SIGKILL

    proc, base = await run_host(data)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await login(http, base)
            ws = await http.ws_connect(f"{base}/s/demo/ws/session/{sid}", headers={"Origin": base})
            note = (await ws_request(ws, {"type": "notes.load", "id": "l1"}))["note"]
            assert note["text"] == "Customer's VPN drops every 10 minutes; swapped the cable."
            assert note["revision"] == 1
            await ws.close()
            async with http.get(f"{base}/s/demo/p/report/sessions.csv") as r:
                assert r.status == 200
                assert "swapped the cable" in await r.text()
    finally:
        proc.terminate()
        await proc.wait()
