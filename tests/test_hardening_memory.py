"""Large bodies sent without a login or a CSRF token cost the host no memory (issue 11, defect 2).

The host runs as the real program (``python -m host run``, which freezes the garbage collector after
start-up) in a subprocess; its resident memory is read with psutil before and after a series of 60 MB
bodies, one after the other, several at once, and to several routes. Each is refused with a 4xx
before it is read, and nothing of it stays behind."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import psutil
import pytest

from conftest import free_port

MB = 1024 * 1024
BODY = b"username=admin&password=" + b"x" * (60 * MB)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def host_process(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "host", "run", "--data", str(tmp_path / "data"), "--port",
                             str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with __import__("urllib.request").request.urlopen(f"{base}/s/demo/login", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("the host did not start: " + proc.stdout.read().decode(errors="replace"))
            time.sleep(0.2)
    yield proc, base
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def rss(proc) -> int:
    return psutil.Process(proc.pid).memory_info().rss


async def send(http, url: str, body: bytes, content_type: str) -> int:
    async with http.post(url, data=body, headers={"Content-Type": content_type}) as r:
        await r.read()
        return r.status


async def test_big_bodies_without_a_token_leave_the_hosts_memory_flat(host_process):
    proc, base = host_process
    async with aiohttp.ClientSession() as http:
        # warm up: the pages and the refusals themselves, so their caches are not counted
        for _ in range(3):
            async with http.get(f"{base}/s/demo/login") as r:
                await r.read()
            assert await send(http, f"{base}/s/demo/login", b"username=a&password=b",
                              "application/x-www-form-urlencoded") == 403
        await asyncio.sleep(0.5)
        before = rss(proc)

        form = "application/x-www-form-urlencoded"
        statuses = []
        for _ in range(6):   # one after the other
            statuses.append(await send(http, f"{base}/s/demo/login", BODY, form))
        statuses += await asyncio.gather(*(send(http, f"{base}/s/demo/login", BODY, form) for _ in range(4)))
        # several routes: the join form, a JSON API call, a rep's form, a plugin's upload (no login)
        statuses += await asyncio.gather(
            send(http, f"{base}/s/demo/join", BODY, form),
            send(http, f"{base}/s/demo/api/sessions", b'{"a": "' + b"x" * (60 * MB) + b'"}', "application/json"),
            send(http, f"{base}/s/demo/admin/users", BODY, form),
            send(http, f"{base}/s/demo/p/filexfer_basic/sessions/x/files", BODY,
                 "multipart/form-data; boundary=B"),
        )
        await asyncio.sleep(0.5)
        after = rss(proc)
    print(f"grew by {(after - before) / MB:.1f} MB", statuses)
    assert all(400 <= s < 500 for s in statuses), statuses
    assert after - before < 40 * MB, f"the host grew by {(after - before) / MB:.0f} MB ({statuses})"
