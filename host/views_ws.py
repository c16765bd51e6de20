"""The WebSockets: one per participant of a session, and one feed per logged-in rep console."""
from __future__ import annotations

import logging

from aiohttp import WSCloseCode, WSMsgType, web

from . import session_store as store
from .appkeys import CONFIG, DB, HUB, SITES, SOCKETS
from .connection import Connection
from .login_watch import LOGIN_WATCH
from .router import dispatch_binary, dispatch_text
from .views_customer import participant_cookie
from .web_common import current_user, origin_allowed, site_of

log = logging.getLogger("supporthost.ws")
routes = web.RouteTableDef()


def _socket(request) -> web.WebSocketResponse:
    cfg = request.app[CONFIG]
    # max_msg_size: a larger message closes the socket with 1009 (message too big).
    # compress=False: chat is small and media frames are compressed already; per-message deflate
    # cost ~28 % more CPU per message and ~130 KB per socket in the benchmark (docs/performance.md).
    return web.WebSocketResponse(max_msg_size=cfg.max_message_bytes, heartbeat=25, compress=False)


async def _say_and_close(request, former: dict) -> web.WebSocketResponse:
    ws = _socket(request)
    await ws.prepare(request)
    if former.get("left_reason") == "ended":
        await ws.send_json({"type": "session.ended", "by": None})
    else:
        await ws.send_json({"type": "session.you_left", "reason": former.get("left_reason") or "left"})
    await ws.close(code=WSCloseCode.OK, message=b"not in the session any more")
    return ws


@routes.get("/s/{site}/ws/session/{sid}")
async def session_socket(request: web.Request):
    site = site_of(request)
    if not origin_allowed(request, site):
        raise web.HTTPForbidden(text="WebSocket from a foreign origin refused.")
    sid = request.match_info["sid"]
    db = request.app[DB]
    user = await current_user(request, site)
    row = None
    login = None   # the rep's login this socket lives on (closed when it ends: password change, idle)
    if user is not None:
        row = await db.read(lambda d: store.rep_participant(d, sid, user["id"]))
        login = user["auth_login"] if row is not None else None
    if row is None:
        token = request.cookies.get(participant_cookie(sid), "")
        if token:
            row = await db.read(lambda d: store.participant_by_token(d, sid, token))
    if row is None:
        # Someone who was in the session and comes back after it ended (or after they left or were
        # timed out) is told so over the socket, so their page stops reconnecting.
        token = request.cookies.get(participant_cookie(sid), "")
        former = await db.read(lambda d: store.former_participant(
            d, sid, user_id=user["id"] if user else None, token=token or None))
        if former is not None and former["site_id"] == site.id:
            return await _say_and_close(request, former)
    if row is None or row["site_id"] != site.id:
        raise web.HTTPForbidden(text="You are not a participant of this session.")
    hub = request.app[HUB]
    live = await hub.get(sid)
    if live is None:
        return await _say_and_close(request, {**row, "left_reason": "ended"})
    lp = live.participants.get(row["id"])
    if lp is None:
        lp = await hub.added(live, row)

    ws = _socket(request)
    await ws.prepare(request)
    conn = Connection(ws, request.app[CONFIG].send_queue_size)
    request.app[SOCKETS].add(ws)
    watch, clock = request.app[LOGIN_WATCH], request.app[CONFIG].clock
    if login is not None:
        watch.opened(login, site.id, conn)
    hub.attach(live, lp, conn)
    try:
        async for msg in ws:
            if login is not None:
                watch.touch(login, clock())
            # The site as it is now: an admin may have switched a plugin off or changed a setting
            # since this socket opened (the directory swaps in new Site objects on every change).
            site = request.app[SITES].by_id.get(site.id, site)
            if msg.type == WSMsgType.TEXT:
                reply = await dispatch_text(request.app, site, live, lp, msg.data)
            elif msg.type == WSMsgType.BINARY:
                reply = await dispatch_binary(request.app, site, live, lp, msg.data)
            else:
                continue
            if reply is not None:
                conn.send(reply)
            if live.state == "ended" or lp.id not in live.participants:
                break
    finally:
        if login is not None:
            watch.closed(login, conn)
        hub.detach(live, lp, conn)
        await conn.close()
    return ws


@routes.get("/s/{site}/ws/rep")
async def rep_feed(request: web.Request):
    """Console-level events for a rep: sessions added or changed, alerts (and offers, for WebACD)."""
    site = site_of(request)
    if not origin_allowed(request, site):
        raise web.HTTPForbidden(text="WebSocket from a foreign origin refused.")
    user = await current_user(request, site)
    if user is None:
        raise web.HTTPUnauthorized(text="Please log in.")
    ws = _socket(request)
    await ws.prepare(request)
    conn = Connection(ws, request.app[CONFIG].send_queue_size)
    hub = request.app[HUB]
    hub.rep_feeds.setdefault(user["id"], set()).add(conn)
    request.app[SOCKETS].add(ws)
    watch, clock = request.app[LOGIN_WATCH], request.app[CONFIG].clock
    watch.opened(user["auth_login"], site.id, conn)
    conn.send({"type": "console.hello", "user": {"id": user["id"], "name": user["display_name"]}})
    try:
        async for _msg in ws:
            watch.touch(user["auth_login"], clock())  # the feed is one-way: what is sent only counts as activity
    finally:
        watch.closed(user["auth_login"], conn)
        hub.rep_feeds.get(user["id"], set()).discard(conn)
        await conn.close()
    return ws

