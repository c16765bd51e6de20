"""The `support-manager` command: joining with a wrong number fails with the host's own message; with
--terminal (as without a display) it asks on the terminal and a typed answer grants the request."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from agent_harness import MediaSocket
from xscreen import xscreen  # noqa: F401  (fixture)

EXE = str(Path(sys.executable).parent / "support-manager")


async def run(*args, stdin=None, env=None):
    proc = await asyncio.create_subprocess_exec(EXE, *args, stdin=stdin, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE, env=env)
    return proc


async def test_wrong_number_is_refused_with_the_hosts_message(host):
    proc = await run("join", f"{host.base}/s/demo", "111 222 333", "--name", "Carla")
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    assert "There is no session with this number" in err.decode()
    proc = await run("join", "not-a-url", "123456789")
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2 and "site URL" in err.decode()


async def test_terminal_prompt_answers_the_request(host, xscreen):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = MediaSocket(await rep.ws(s["id"]))
    proc = await run("join", f"{host.base}/s/demo", s["number"], "--name", "Carla", "--terminal",
                     stdin=asyncio.subprocess.PIPE, env=xscreen.env)
    try:
        await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"], timeout=20)
        await rep_ws.request({"type": "desktop.request", "level": "view"})
        seen = b""
        async with asyncio.timeout(20):
            while b"Allow?" not in seen:
                seen += await proc.stdout.read(200)
        assert b"Rita Rep asks to see your screen" in seen
        proc.stdin.write(b"y\n")
        await proc.stdin.drain()
        answer = await rep_ws.expect(lambda m: m.get("type") == "desktop.answer")
        assert answer["allow"] is True
        proc.stdin.write(b"stop\n")            # typed on the Support Manager's terminal: stops at once
        await proc.stdin.drain()
        await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and not m["grants"], timeout=10)
    finally:
        proc.terminate()
        await proc.wait()
