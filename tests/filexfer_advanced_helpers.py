"""Helpers for the advanced file transfer tests: a real host, the real Support Manager (in the test's event
loop) serving a temporary folder tree, and the rep's socket. ScriptedConsent stands in for the person
clicking Allow in the Support Manager's dialog (the dialog itself is tested by the desktop tests)."""
from __future__ import annotations

import asyncio
import hashlib
import json

import aiohttp

from agent.app import SupportManager
from agent.consent import Answer
from agent.plugin_manager import make_plugin_manager
from agent.status import TerminalStatus
from agent_harness import ScriptedConsent, launch, stop_agent

P = "filexfer_advanced"
WAIT = 60   # seconds any one wait may take: generous, for a shared machine under load (waits end on conditions)


def sha256_of(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


async def start_files_agent(host, number: str, root, consent=None, name: str = "Carla", config=None):
    agent = SupportManager(f"{host.base}/s/demo", number, name, pm=make_plugin_manager(),
                           consent=consent or ScriptedConsent(Answer(True)),
                           status=TerminalStatus(lambda: None), config={"files_root": str(root), **(config or {})})
    return await launch(agent)


stop_files_agent = stop_agent


class RepSocket:
    """A participant's socket that is always read (by a task of its own), as a browser's is: the host's
    heartbeat pings are answered while the test is busy elsewhere (a long upload on a loaded machine), so
    the host never drops it as dead. Text messages are kept in ``seen``; binary frames are skipped."""

    def __init__(self, sock):
        self.sock = sock
        self.seen: list[dict] = list(sock.seen)
        self.closed: str | None = None
        self._arrived = asyncio.Event()
        self._n = 0
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        ws = self.sock.ws
        while True:
            msg = await ws.receive()
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.seen.append(json.loads(msg.data))
            elif msg.type != aiohttp.WSMsgType.BINARY:
                self.closed = f"{msg.type} {msg.data} {msg.extra}"
                self._arrived.set()
                return
            self._arrived.set()

    async def send(self, msg):
        await self.sock.send(msg)

    async def request(self, msg, timeout: float = WAIT):
        self._n += 1
        mid = f"r{self._n}"
        await self.send({**msg, "id": mid})
        return await self.expect(lambda m: m.get("re") == mid, timeout)

    async def expect(self, match, timeout: float = WAIT):
        """The first message not taken yet that ``match`` (a type or a function) accepts; waits at most
        ``timeout`` seconds for it."""
        if isinstance(match, str):
            type_ = match
            match = lambda m: m.get("type") == type_  # noqa: E731
        async with asyncio.timeout(timeout):
            while True:
                for i, m in enumerate(self.seen):
                    if match(m):
                        return self.seen.pop(i)
                if self.closed:
                    raise AssertionError(f"socket closed while waiting: {self.closed}")
                self._arrived.clear()
                await self._arrived.wait()

    async def close(self) -> None:
        self._reader.cancel()
        await self.sock.close()


async def until(condition, what: str = "the condition", timeout: float = WAIT) -> None:
    """Wait (bounded) until ``condition()`` is true: a wait on a condition, never a fixed sleep."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"waited {timeout} s for {what}") from None


async def granted_session(host, root, consent=None, agent_config=None):
    """A rep's session with the customer's Support Manager serving root, file access allowed."""
    rep = await host.rep()
    s = await rep.start_session()
    ws = RepSocket(await rep.ws(s["id"]))
    agent, task = await start_files_agent(host, s["number"], root, consent=consent, config=agent_config)
    await ws.expect(lambda m: m.get("type") == f"{P}.state" and m["agents"])
    reply = await ws.request({"type": f"{P}.request"})
    assert reply["type"] == f"{P}.requested", reply
    answer = await ws.expect(f"{P}.answer")
    return rep, s, ws, agent, task, answer


async def events_of(host, session_id, prefix=P):
    return await host.db_read(lambda db: [(r["kind"], json.loads(r["details"])) for r in db["session_events"].rows_where(
        "session_id = ? and kind like ?", [session_id, f"{prefix}.%"], order_by="id")])


async def upload(rep, session_id, data: bytes, name: str, folder: str = "", agent: str = ""):
    token = await rep.csrf("/s/demo/")
    url = rep.url(f"/s/demo/p/{P}/sessions/{session_id}/send")
    return await rep.http.post(url, params={"agent": agent, "dir": folder, "name": name}, data=data,
                               headers={"X-CSRF-Token": token, "Content-Type": "application/octet-stream"})


async def open_upload(rep, session_id, name: str, size: int, folder: str = "") -> dict:
    """A resumable upload, as the rep's browser opens it: the transfer starts before any byte is sent."""
    token = await rep.csrf("/s/demo/")
    r = await rep.http.post(rep.url(f"/s/demo/p/{P}/sessions/{session_id}/uploads"),
                            params={"dir": folder, "name": name, "size": str(size)}, headers={"X-CSRF-Token": token})
    assert r.status == 201, await r.text()
    return (await r.json())["transfer"]


async def put_part(rep, session_id, tid: str, offset: int, data: bytes, headers=None):
    """Bytes of a resumable upload from ``offset``; returns the response."""
    token = await rep.csrf("/s/demo/")
    return await rep.http.put(rep.url(f"/s/demo/p/{P}/sessions/{session_id}/uploads/{tid}"),
                              params={"offset": str(offset)}, data=data,
                              headers={"X-CSRF-Token": token, "Content-Type": "application/octet-stream",
                                       **(headers or {})})


def kill_connection(agent) -> None:
    """Cut the Support Manager's TCP connection at once (no closing handshake), as a network drop would."""
    agent.link.ws._writer.transport.abort()   # aiohttp has no public accessor for it


async def customer_and_agent_numbers(host, session_id):
    """A second join number for the same session (the customer page and the Support Manager both join)."""
    from host import session_store as store
    from host.appkeys import DB
    cfg = host.config
    return await host.app[DB].write(lambda db: store.new_code(db, session_id, "secondary_customer", cfg.clock(),
                                                              cfg.number_ttl, cfg.number_digits))
