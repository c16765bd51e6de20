"""What the co-browse host tests share: a site set up for co-browse, a customer who came from the shop's page
with a page key and was taken by a rep, and the shop's page as a real WebSocket client."""
from __future__ import annotations

import asyncio
import json
import secrets

import aiohttp

from host.appkeys import DB, SITES
from test_webacd import accept, ask_help, entry_of, make_queue, rep_ready

SHOP = "http://127.0.0.1:8765"     # the company's web site (an origin only: nothing has to listen there)


async def set_settings(host, site="demo", **values) -> None:
    sid = host.site(site).id
    for key, value in values.items():
        await host.app[DB].write(lambda db, k=key, v=value: db["site_settings"].upsert(
            {"site_id": sid, "plugin": "cobrowse", "key": k, "value": json.dumps(v)}, pk=("site_id", "plugin", "key")))
    await host.app[DB].read(host.app[SITES].load)


async def inbound(host, site="demo", key=None, rep_name="rep1", **settings) -> dict:
    """A customer asks for help from the shop's page (with a page key) and rep1 takes them; the rep's and the
    customer's session sockets are open. Returns {rep, feed, rep_ws, customer, customer_ws, sid, key}."""
    await set_settings(host, site, allowed_origins=SHOP, **settings)
    qid = await make_queue(host, members=(rep_name,), site=site)
    rep, feed = await rep_ready(host, rep_name, site=site)
    key = key or secrets.token_urlsafe(32)
    customer, r = await ask_help(host, qid, site=site, ref=f"{SHOP}/checkout?step=2", pk=key)
    assert r.status == 302, await r.text()
    eid = entry_of(r)
    await feed.expect(lambda m: m.get("type") == "webacd.offer" and m["offer"]["entry_id"] == eid)
    status, body = await accept(rep, eid, site=site)
    assert status == 201, body
    async with customer.http.get(customer.url(f"/s/{site}/p/webacd/enter/{eid}")):
        pass
    sid = body["session_id"]
    rep_ws = await rep.ws(sid)
    customer_ws = await customer.ws(sid)      # the customer's session page stays open in its own tab
    return {"rep": rep, "feed": feed, "rep_ws": rep_ws, "customer": customer, "customer_ws": customer_ws,
            "sid": sid, "key": key}


class Page:
    """The customer's web page: page.js's side of the page socket, spoken by a test."""

    def __init__(self, ws):
        self.ws = ws
        self.seen: list[dict] = []
        self.key = None

    async def send(self, message: dict) -> None:
        await self.ws.send_str(json.dumps(message))

    async def expect(self, t: str, timeout: float = 10) -> dict:
        for i, m in enumerate(self.seen):
            if m["t"] == t:
                return self.seen.pop(i)
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise AssertionError(f"page socket closed while waiting for {t}: {msg.type} {msg.data} {msg.extra}")
                m = json.loads(msg.data)
                if m["t"] == "key":
                    self.key = m["key"]
                if m["t"] == t:
                    return m
                self.seen.append(m)

    async def closed(self, timeout: float = 10) -> tuple[int, str]:
        """The close code and reason the host closed this page with (what came before is kept in seen)."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.ws.receive()
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self.seen.append(json.loads(msg.data))
                    continue
                return self.ws.close_code, (msg.extra or "")

    async def quiet(self, seconds: float = 0.5) -> list[dict]:
        """Every message that comes within ``seconds`` (none expected, usually)."""
        out = []
        try:
            async with asyncio.timeout(seconds):
                while True:
                    msg = await self.ws.receive()
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    out.append(json.loads(msg.data))
        except TimeoutError:
            pass
        return out


async def open_page(host, key, origin=SHOP, site="demo", url=f"{SHOP}/checkout?step=2") -> Page:
    http = aiohttp.ClientSession()
    host.sessions.append(http)
    ws = await http.ws_connect(f"{host.base}/s/{site}/p/cobrowse/page-ws", headers={"Origin": origin},
                               max_msg_size=16 * 1024 * 1024)
    page = Page(ws)
    if key is not None:
        await page.send({"t": "hello", "key": key, "url": url, "title": "Checkout"})
    return page


async def connected_page(host, key, **kw) -> Page:
    page = await open_page(host, key, **kw)
    await page.expect("key")
    await page.expect("settings")
    return page


async def audit_rows(host, action: str) -> list[dict]:
    return await host.db_read(lambda db: list(db["audit_log"].rows_where("action = ?", [action])))


async def events_of(host, sid: str, prefix: str = "cobrowse.") -> list[str]:
    return await host.db_read(lambda db: [r["kind"] for r in db["session_events"].rows_where(
        "session_id = ? and kind like ?", [sid, prefix + "%"], order_by="id")])


def snapshot(body_children: list, at: float = 1.0) -> list[dict]:
    """rrweb's Meta and FullSnapshot events of a small page whose body holds ``body_children``."""
    return [{"type": 4, "timestamp": at, "data": {"href": SHOP + "/checkout", "width": 800, "height": 600}},
            {"type": 2, "timestamp": at, "data": {"initialOffset": {"left": 0, "top": 0}, "node": {
                "type": 0, "id": 1, "childNodes": [
                    {"type": 2, "id": 2, "tagName": "html", "attributes": {}, "childNodes": [
                        {"type": 2, "id": 3, "tagName": "head", "attributes": {}, "childNodes": []},
                        {"type": 2, "id": 4, "tagName": "body", "attributes": {}, "childNodes": body_children}]}]}}}]
