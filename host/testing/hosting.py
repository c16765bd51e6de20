"""A real host on a loopback port with real SQLite on disk, and people acting on it as an admin, a rep
or a customer would: over real HTTP and WebSockets.

``start_host(data_dir)`` seeds two sites, ``demo`` and ``other``, each with an admin (``admin``) and two
reps (``rep1`` Rita Rep, ``rep2`` Sam Second, who may take three sessions at once), all with the password
``PASSWORD``."""
from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from ..app import create_app
from ..appkeys import DB, SITES
from ..config import Config
from ..db import connect
from ..schema import core_migrations
from ..sites import create_site, create_user

PASSWORD = "correct horse battery"


class FakeClock:
    """A controllable clock for tests of expiry, lockout and grace periods."""

    def __init__(self, start: float = 1_800_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


_SEED_TEMPLATE: list = []  # a seeded database file, copied for each new host (hashing 6 passwords is slow)


def seed(data_dir: Path) -> None:
    """Two sites, each with an admin and two reps, all with PASSWORD."""
    target = Path(data_dir) / "supporthost.db"
    if _SEED_TEMPLATE and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_SEED_TEMPLATE[0], target)
        return
    db = connect(target)
    core_migrations.apply(db)
    if db["sites"].count:
        return
    with db.atomic():
        for slug in ("demo", "other"):
            sid = create_site(db, slug, f"{slug.title()} support")
            create_user(db, sid, "admin", "Ada Admin", PASSWORD, role="admin")
            create_user(db, sid, "rep1", "Rita Rep", PASSWORD)
            create_user(db, sid, "rep2", "Sam Second", PASSWORD, mode="multi", max_sessions=3)
    db.conn.close()
    if not _SEED_TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="supporthost-seed-")) / "supporthost.db"
        shutil.copyfile(target, template)
        _SEED_TEMPLATE.append(template)


@dataclass
class Host:
    app: web.Application
    runner: web.AppRunner
    base: str
    data_dir: Path
    config: Config
    sessions: list = field(default_factory=list)

    def site(self, slug="demo"):
        return self.app[SITES].get(slug)

    async def client(self) -> "Client":
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.sessions.append(http)
        return Client(self, http)

    async def rep(self, username="rep1", site="demo") -> "Client":
        c = await self.client()
        await c.login(username, site=site)
        return c

    async def db_read(self, fn):
        return await self.app[DB].read(fn)


@dataclass
class Client:
    host: Host
    http: aiohttp.ClientSession
    site: str = "demo"

    def url(self, path: str) -> str:
        return self.host.base + path

    async def csrf(self, path: str) -> str:
        async with self.http.get(self.url(path)) as r:
            text = await r.text()
        return re.search(r'name="csrf-token" content="([^"]+)"', text).group(1)

    async def post_form(self, path: str, data: dict, csrf_from: str | None = None, allow_redirects=True):
        token = await self.csrf(csrf_from or f"/s/{self.site}/")
        return await self.http.post(self.url(path), data={**data, "csrf_token": token},
                                    allow_redirects=allow_redirects)

    async def login(self, username: str, password: str = PASSWORD, site: str = "demo"):
        self.site = site
        r = await self.post_form(f"/s/{site}/login", {"username": username, "password": password},
                                 allow_redirects=False)
        assert r.status == 302, await r.text()
        return r

    async def api_post(self, path: str, body: dict | None = None):
        token = await self.csrf(f"/s/{self.site}/")
        return await self.http.post(self.url(path), json=body or {}, headers={"X-CSRF-Token": token})

    async def start_session(self) -> dict:
        r = await self.api_post(f"/s/{self.site}/api/sessions")
        assert r.status == 201, await r.text()
        return await r.json()

    async def join(self, number: str, name: str = "Carla Customer", site: str | None = None):
        self.site = site or self.site
        r = await self.post_form(f"/s/{self.site}/join", {"number": number, "name": name}, allow_redirects=False)
        return r

    async def ws(self, session_id: str, origin: str | None = None) -> "Socket":
        headers = {"Origin": origin or self.host.base}
        ws = await self.http.ws_connect(self.url(f"/s/{self.site}/ws/session/{session_id}"), headers=headers)
        sock = Socket(ws)
        hello = await sock.expect("session.hello")
        sock.hello = hello
        return sock


class Socket:
    """A participant's WebSocket with helpers to wait for a message of a given type."""

    def __init__(self, ws):
        self.ws = ws
        self.seen: list[dict] = []
        self.hello = None
        self._n = 0

    async def send(self, msg: dict) -> None:
        await self.ws.send_str(json.dumps(msg))

    async def request(self, msg: dict, timeout: float = 10, on_binary=None) -> dict:
        self._n += 1
        mid = f"t{self._n}"
        await self.send({**msg, "id": mid})
        return await self.expect(lambda m: m.get("re") == mid, timeout=timeout, on_binary=on_binary)

    async def expect(self, match, timeout: float = 10, on_binary=None) -> dict:
        """The first message (earlier ones kept aside first) that ``match`` accepts (a type or a function).
        Binary frames that come meanwhile go to ``on_binary(frame)`` (awaited); without it they are an error."""
        if isinstance(match, str):
            type_ = match
            match = lambda m: m.get("type") == type_  # noqa: E731
        for i, m in enumerate(self.seen):
            if match(m):
                return self.seen.pop(i)
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.ws.receive()
                if msg.type == aiohttp.WSMsgType.BINARY and on_binary is not None:
                    await on_binary(msg.data)
                    continue
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise AssertionError(f"socket closed while waiting: {msg.type} {msg.data} {msg.extra}")
                data = json.loads(msg.data)
                if match(data):
                    return data
                self.seen.append(data)

    async def close(self):
        await self.ws.close()


def free_port() -> int:
    """A loopback port nothing listens on now (for a server a test starts itself)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_host(data_dir: Path, extra_plugins=(), **config) -> Host:
    """Seed ``data_dir`` (when new) and serve a host on a free loopback port.

    ``extra_plugins``: ``[(name, plugin_object)]`` registered besides the installed ones (a module or an
    object with ``@hookimpl`` methods); ``config``: fields of ``host.config.Config``, e.g.
    ``only_plugins={"chat"}`` to load only those entry points. Stop it with ``await stop_host(host)``."""
    seed(data_dir)
    cfg = Config(data_dir=data_dir, **config)
    app = create_app(cfg, extra_plugins=extra_plugins)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return Host(app, runner, f"http://127.0.0.1:{port}", data_dir, cfg)


async def stop_host(host: Host) -> None:
    for s in host.sessions:
        await s.close()
    await host.runner.cleanup()


# Chromium's arguments that work on a headless Linux machine (as root, without a GPU).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
