"""The agent's one WebSocket to the host, reached through the same join flow a customer's browser uses:
GET the join page (CSRF token), POST the join form, keep the participant cookie, then open
/s/{site}/ws/session/{sid} with this site's Origin. It reconnects by itself with backoff."""
from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from typing import Awaitable, Callable
from urllib.parse import urlsplit

import aiohttp

log = logging.getLogger("support_manager.link")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FLASH = re.compile(r'class="flash error"[^>]*>([^<]*)<')
SITE_NAME = re.compile(r'<a class="brand"[^>]*>([^<]{1,200})<')
SESSION_PATH = re.compile(r"/session/([0-9a-f]+)$")
FINAL = ("session.ended", "session.you_left")


class JoinFailed(Exception):
    """The host refused the join; the text is what the join page said."""


class HostLink:
    def __init__(self, site_url: str, number: str, name: str,
                 on_message: Callable[[dict], Awaitable[None]], on_binary=None,
                 max_delay: float = 8.0):
        self.site_url = site_url.rstrip("/")
        parts = urlsplit(self.site_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or "/s/" not in parts.path + "/":
            raise ValueError("the site URL looks like http://host:port/s/<site>")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.number = re.sub(r"[\s-]", "", number)
        self.name = name
        self.on_message = on_message
        self.on_binary = on_binary
        self.max_delay = max_delay
        self.http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.session_id: str | None = None
        self.site_name: str | None = None     # as the site's join page names it (what the host says)
        self.finished = False
        self.connections = 0
        self.connected = asyncio.Event()

    async def join(self) -> str:
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        async with self.http.get(f"{self.site_url}/join") as r:
            page = await r.text()
            if r.status != 200:
                raise JoinFailed(f"the site did not answer ({r.status})")
        name = SITE_NAME.search(page)
        self.site_name = " ".join(html.unescape(name.group(1)).split())[:80] or None if name else None
        m = CSRF.search(page)
        if not m:
            raise JoinFailed("the join page has no form (is this a supporthost site URL?)")
        form = {"number": self.number, "name": self.name, "csrf_token": html.unescape(m.group(1))}
        async with self.http.post(f"{self.site_url}/join", data=form, allow_redirects=False) as r:
            if r.status != 302:
                text = await r.text()
                flash = FLASH.search(text)
                raise JoinFailed(html.unescape(flash.group(1)) if flash else f"join refused ({r.status})")
            location = r.headers.get("Location", "")
        m = SESSION_PATH.search(location)
        if not m:
            raise JoinFailed("unexpected answer from the host")
        self.session_id = m.group(1)
        return self.session_id

    @property
    def ws_url(self) -> str:
        base = self.site_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        return f"{base}/ws/session/{self.session_id}"

    async def run(self) -> str:
        """Stay connected until the session ends or stop() is called; returns why it stopped."""
        delay = 0.5
        reason = "stopped"
        while not self.finished:
            try:
                async with self.http.ws_connect(self.ws_url, headers={"Origin": self.origin},
                                                max_msg_size=8 * 1024 * 1024, heartbeat=20) as ws:
                    self.ws = ws
                    self.connections += 1
                    self.connected.set()
                    delay = 0.5
                    reason = await self._read(ws)
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status in (403, 404, 410):
                    self.finished = True
                    reason = "the host no longer knows this Support Manager (session ended or left)"
                    break
                log.warning("connection refused (%s); retrying", exc.status)
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                log.warning("connection to the host lost (%s); retrying", exc.__class__.__name__)
            finally:
                self.ws = None
                self.connected.clear()
            if self.finished:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_delay)
        return reason

    async def _read(self, ws) -> str:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    continue
                if not isinstance(data, dict):
                    continue
                if data.get("type") in FINAL:
                    self.finished = True
                try:
                    await self.on_message(data)
                except Exception:
                    log.exception("handling %s failed", data.get("type"))
                if self.finished:
                    return data["type"]
            elif msg.type == aiohttp.WSMsgType.BINARY and self.on_binary:
                await self.on_binary(msg.data)
        return "disconnected"

    async def send(self, message: dict) -> bool:
        ws = self.ws
        if ws is None or ws.closed:
            return False
        try:
            await ws.send_str(json.dumps(message, separators=(",", ":")))
            return True
        except (ConnectionError, RuntimeError):
            return False

    async def send_bytes(self, frame: bytes) -> bool:
        ws = self.ws
        if ws is None or ws.closed:
            return False
        try:
            await ws.send_bytes(frame)
            return True
        except (ConnectionError, RuntimeError):
            return False

    async def drop(self) -> None:
        """Close the current socket (tests: a dropped link); run() reconnects."""
        if self.ws is not None:
            await self.ws.close()

    async def stop(self) -> None:
        self.finished = True
        if self.ws is not None:
            await self.ws.close()

    async def close(self) -> None:
        await self.stop()
        if self.http is not None:
            await self.http.close()
