"""The customer's page socket (/s/<site>/p/cobrowse/page-ws), page.js, and the console's replay frame.

A page socket is accepted only from an origin the site's admin allowed (HTTP 403 before the upgrade
otherwise) and, after its hello, only with the live page key of an inbound session of this site. Close codes
the page acts on: 4401 bad or spent key, 4403 refused (not inbound), 4404 no session yet (the customer still
waits: try again in 5 s), 4409 replaced by a newer page of the same session, 4410 the session ended (forget
the key), 4400 malformed input. A frame bigger than MAX_FRAME drops the connection (aiohttp) and ends
co-browse with the reason "too large" (page.js measures its frames and says so itself before that).
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiohttp import WebSocketError, WSCloseCode, WSMsgType, web

from host.api import (Connection, audit, client_address, database, existing_plugin_state, live_session, now,
                      sessions, site_of, track_socket)
from plugin_libs.rrweb import replay_frame

from . import page_keys, state
from .sanitize import BadEvents, check_events, clean_events
from .settings import PLUGIN, allowed_origins, page_settings

MAX_FRAME = 8 * 1024 * 1024     # a full snapshot may be this big; aiohttp closes with 1009 above it
THREAD_AT = 64 * 1024           # frames bigger than this are parsed and sanitised off the event loop
HELLO_WITHIN = 15.0
STATIC = Path(__file__).parent / "static"
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


AUDIT_EVERY = 10.0       # seconds: one refusal of a kind per address is audited at most this often ...
AUDITS_PER_MINUTE = 30   # ... and an address gets at most this many audited refusals a minute
AUDITED: web.AppKey[dict] = web.AppKey("cobrowse_audited", dict)


async def audit_refusal(app, site, address: str, action: str, target: str, details: dict, variant: str = "") -> None:
    """Audit a refused page. Anybody can send any Origin header and junk, so a flood must not fill the audit
    log: the same refusal of one address is written once per AUDIT_EVERY seconds, and AUDITS_PER_MINUTE at most."""
    seen = app.get(AUDITED)
    if seen is None:
        return
    t = now(app)
    key, window = (site.id, address, action, variant), (site.id, address, int(t // 60))
    if t - seen.get(key, float("-inf")) < AUDIT_EVERY or seen.get(window, 0) >= AUDITS_PER_MINUTE:
        return
    if len(seen) > 10_000:
        seen.clear()
    seen[key], seen[window] = t, seen.get(window, 0) + 1
    await audit(app, site.id, f"address:{address}", action, target, details)


class Refused(Exception):
    def __init__(self, code: int, reason: str, audit_action: str | None = None, details: dict | None = None):
        super().__init__(reason)
        self.code, self.reason, self.audit_action, self.details = code, reason, audit_action, details or {}


def parse_frame(data: str):
    """A page frame -> ("ev", events, relay text, removed) | ("msg", message); raises BadEvents/ValueError."""
    message = json.loads(data)
    if not isinstance(message, dict) or not isinstance(message.get("t"), str):
        raise BadEvents("a message must be a JSON object with a string \"t\"")
    if message["t"] != "ev":
        return ("msg", message)
    events = check_events(message.get("e"))
    removed = clean_events(events)
    return ("ev", events, _encode({"type": "cobrowse.events", "e": events}), removed)


async def parse(data: str):
    if len(data) > THREAD_AT:
        return await asyncio.to_thread(parse_frame, data)
    return parse_frame(data)


async def resolve(app, site, key) -> tuple:
    """The live inbound session a hello's key belongs to, and the new key it gets; or Refused."""
    key_hash = page_keys.hash_of(key)
    if key_hash is None:
        raise Refused(4401, "no valid page key")
    row = await database(app).read(lambda db: page_keys.find(db, key_hash))
    if row is not None:
        if row["site_id"] != site.id:
            raise Refused(4401, "this page key belongs to another site", "cobrowse_key_refused",
                          {"why": "another site's key"})
        if row["state"] == page_keys.USED:
            raise Refused(4401, "this page key was used already", "cobrowse_key_replayed",
                          {"session": row["session_id"]})
        if row["state"] == page_keys.ENDED:
            raise Refused(4410, "the support session has ended")
        session_id = row["session_id"]
    else:
        session_id = _live_session_of_key(app, site, key_hash)
    session = await sessions(app).get(session_id) if session_id else None
    if session is None:
        if session_id:
            raise Refused(4410, "the support session has ended")
        raise Refused(4404, "no support session for this page yet")
    if session.site_id != site.id:
        raise Refused(4401, "this page key belongs to another site", "cobrowse_key_refused", {"why": "another site's key"})
    if not state.available(session):
        raise Refused(4403, f"co-browse {state.UNAVAILABLE}", "cobrowse_key_refused", {"why": "not inbound"})
    fresh = page_keys.new_key()
    fresh_hash, at = page_keys.hash_of(fresh), now(app)
    spent = await database(app).write(lambda db: page_keys.spend(db, key_hash, fresh_hash, site.id, session.id, at))
    if not spent:
        raise Refused(4401, "this page key was used already", "cobrowse_key_replayed", {"session": session.id})
    return session, fresh


def _live_session_of_key(app, site, key_hash: str) -> str | None:
    """A live session whose WebACD meta names this key (its first hello, before the key was remembered)."""
    hub = sessions(app)
    for session in hub.sessions.values():
        if (session.meta.get("webacd") or {}).get("page_key_hash") == key_hash:
            return session.id
    return None


async def page_ws(request: web.Request):
    site = site_of(request)
    app = request.app
    origin = request.headers.get("Origin", "")
    if not origin or origin.lower() not in {o.lower() for o in allowed_origins(app, site)}:
        await audit_refusal(app, site, client_address(request), "cobrowse_origin_refused", "page-ws",
                            {"origin": origin[:200]}, variant=origin[:200])
        raise web.HTTPForbidden(text="Co-browse is not allowed from this web site (its origin is not in the list).")
    ws = web.WebSocketResponse(max_msg_size=MAX_FRAME, heartbeat=25)
    await ws.prepare(request)
    track_socket(app, ws)
    conn = Connection(ws, 64)
    page = None
    session = None
    address = client_address(request)
    try:
        session, page = await _hello(request, site, ws, conn, address)
        if session is None:
            return ws
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:
                break
            if msg.type != WSMsgType.TEXT:
                await _refuse(app, site, conn, Refused(4400, "only JSON text frames", "cobrowse_bad_input",
                                                       {"why": "binary frame"}), address, session)
                break
            if not await _handle(app, site, session, page, conn, msg.data, address):
                break
        exc = ws.exception()
        if exc is not None:    # a frame over MAX_FRAME (aiohttp dropped the connection) or a broken one
            await audit(app, site.id, f"address:{address}", "cobrowse_bad_input", f"session:{session.id}",
                        {"why": str(exc)[:200], "close_code": ws.close_code})
            live = live_session(app, session.id)
            if live is not None and isinstance(exc, WebSocketError) and exc.code == WSCloseCode.MESSAGE_TOO_BIG:
                # the page would send it again on its next start: end co-browse, once, saying why
                await state.stop(app, live, None, state.PAGE_STOPS["too_large"], actor="customer page")
    finally:
        if session is not None and page is not None:
            live = live_session(app, session.id)
            if live is not None:
                state.page_detached(app, live, page)
        await conn.close()
    return ws


async def _hello(request, site, ws, conn, address):
    app = request.app
    try:
        msg = await ws.receive(timeout=HELLO_WITHIN)
    except asyncio.TimeoutError:
        await conn.close(4401, "no hello")
        return None, None
    if msg.type != WSMsgType.TEXT:
        return None, None
    try:
        kind, hello = await parse(msg.data)
        if kind != "msg" or hello.get("t") != "hello":
            raise BadEvents("the first message must be a hello")
    except (ValueError, RecursionError) as exc:
        await _refuse(app, site, conn, Refused(4400, "malformed hello", "cobrowse_bad_input", {"why": str(exc)[:200]}),
                      address)
        return None, None
    try:
        session, fresh = await resolve(app, site, hello.get("key"))
    except Refused as refused:
        await _refuse(app, site, conn, refused, address)
        return None, None
    page = state.Page(conn, _text(hello.get("url"), 2000), _text(hello.get("title"), 300), address)
    conn.send({"t": "key", "key": fresh})
    conn.send(page_settings(app, site))
    old = state.page_attached(app, session, page)
    if old is not None:
        asyncio.get_running_loop().create_task(old.conn.close(state.CLOSE_REPLACED, "replaced by a newer page"))
    return session, page


async def _handle(app, site, session, page, conn, data: str, address) -> bool:
    """One frame of an accepted page; False when the socket is to be closed."""
    try:
        parsed = await parse(data)
    except (ValueError, RecursionError) as exc:
        await _refuse(app, site, conn, Refused(4400, "malformed message", "cobrowse_bad_input",
                                               {"why": str(exc)[:200]}), address, session)
        return False
    live = live_session(app, session.id)
    st = existing_plugin_state(live, PLUGIN) if live else None
    if live is None or st is None or st.page is not page:
        return False       # the session ended, or a newer page took over
    if parsed[0] == "ev":
        _kind, events, text, _removed = parsed
        state.relay(app, live, events, text)
        return True
    message = parsed[1]
    t = message["t"]
    if t == "consent":
        await state.consent(app, live, message.get("mode"), message.get("allow"))
    elif t == "stop":       # the customer's Stop, or the page could not go on (``why``)
        reason = state.PAGE_STOPS.get(message.get("why"), "The customer stopped co-browse.")
        await state.stop(app, live, None, reason, actor="customer page")
    elif t == "take_back":
        await state.take_back(app, live, None, "the customer took control back")
    elif t == "leaving":
        st.leaving = True
    elif t == "hello":
        page.url, page.title = _text(message.get("url"), 2000), _text(message.get("title"), 300)
        state.tell_reps(app, live)
    return True       # unknown kinds are ignored: a newer page.js may say more


async def _refuse(app, site, conn, refused: Refused, address: str, session=None) -> None:
    if refused.audit_action:
        target = f"session:{session.id}" if session is not None else "page-ws"
        await audit_refusal(app, site, address, refused.audit_action, target,
                            {**refused.details, "reason": refused.reason}, variant=target)
    await conn.close(refused.code, refused.reason)


def _text(value, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


async def page_js(request: web.Request):
    """page.js for the company's page (another origin): served with a header that lets it load there."""
    path = STATIC / "page.js"
    if not path.is_file():
        raise web.HTTPNotFound(text="page.js is missing")
    body = await asyncio.to_thread(path.read_bytes)
    return web.Response(body=body, content_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=300", "Cross-Origin-Resource-Policy": "cross-origin"})


def register(register_route) -> None:
    register_route("GET", "/page-ws", page_ws)
    register_route("GET", "/page.js", page_js)
    register_route("GET", "/frame", replay_frame)   # plugin_libs/rrweb
