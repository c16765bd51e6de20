"""The `support-manager` command: joining with a wrong number fails with the host's own message; with
--terminal (as without a display) it asks on the terminal and a typed answer grants the request; a
third-party plugin that breaks on import or in a command harms only itself."""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from agent_harness import MediaSocket
from fake_dist import make_dist
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


BROKEN_AGENT_PLUGINS = {   # a third-party distribution installed on the customer's computer only
    "brokenpkg/__init__.py": 'raise RuntimeError("the licence server cannot be reached")\n',
    "brokenagent/__init__.py": '"""Its host part imports; its agent part does not."""\n',
    "brokenagent/agent.py": 'CONFIG = {}\nPORT = CONFIG["port"]\n',
    "grumpy.py": '''
        from agent.hookspecs import hookimpl

        @hookimpl
        def agent_command(agent, line):
            raise ValueError("grumpy does not take orders")
    ''',
    "echo.py": '''
        from agent.hookspecs import hookimpl

        @hookimpl
        def agent_command(agent, line):
            if line == "ping":
                agent.report("pong")
                return True
    ''',
}


async def test_a_broken_plugin_harms_only_itself(host, xscreen, tmp_path):
    folder = make_dist(tmp_path / "dist", "supporthost-broken", "0.1",
                       {"supporthost.plugins": {"brokenpkg": "brokenpkg", "brokenagent": "brokenagent"},
                        "supporthost.agent": {"grumpy": "grumpy", "echo": "echo"}}, BROKEN_AGENT_PLUGINS)
    env = {**xscreen.env, "PYTHONPATH": os.pathsep.join([str(folder), xscreen.env.get("PYTHONPATH", "")])}
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = MediaSocket(await rep.ws(s["id"]))
    proc = await run("join", f"{host.base}/s/demo", s["number"], "--name", "Carla", "--terminal",
                     stdin=asyncio.subprocess.PIPE, env=env)
    try:
        await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"], timeout=20)
        proc.stdin.write(b"ping\n")   # grumpy is asked first and raises: echo still answers
        await proc.stdin.drain()
        seen = b""
        async with asyncio.timeout(20):
            while b"pong" not in seen:
                seen += await proc.stdout.read(200)
        proc.stdin.write(b"quit\n")
        await proc.stdin.drain()
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()
    out, err = (seen + out).decode(), err.decode()
    assert proc.returncode == 0, out + err
    assert ("[Support Manager] brokenpkg: not available on this computer (RuntimeError: the licence server "
            "cannot be reached)") in out
    assert "[Support Manager] brokenagent: not available on this computer (KeyError: 'port')" in out
    assert out.index("grumpy: command failed: ValueError: grumpy does not take orders") < out.index("pong")
    assert "unknown command" not in out
    for line in ('raise RuntimeError("the licence server cannot be reached")', 'PORT = CONFIG["port"]',
                 'raise ValueError("grumpy does not take orders")'):
        assert line in err   # the log has each traceback
