"""What customers meet: the embeddable snippet, the entry form, the waiting page and its live socket."""
from __future__ import annotations

import hmac
import json

from aiohttp import WSMsgType, web

from host import api
from host.api import (Connection, client_address, form_with_csrf, origin_allowed, participant_cookie, render,
                      site_of, token_hash)

from . import store
from .queue_config import DAY_NAMES, DAYS, FIELDS, clean_page_key, clean_ref, validate_entry
from .service import PLUGIN, WEBACD

SNIPPET = r"""// supporthost WebACD: adds a "Get help" button where this script is placed.
(function () {
  var script = document.currentScript || [].slice.call(document.querySelectorAll("script[src*='/p/webacd/snippet.js']")).pop();
  if (!script) return;
  var host = new URL(script.src).origin;
  var site = %(site)s;
  var base = host + %(prefix)s + "/p/webacd/q/";
  var queue = script.getAttribute("data-queue") || %(queue)s;
  var label = script.getAttribute("data-label") || %(label)s;
  var STORE = "supporthost.cobrowse";
  // A new page key for each request for help: the page shows it to the host (co-browse); the host keeps its hash.
  function newPageKey() {
    var bytes = new Uint8Array(32);
    crypto.getRandomValues(bytes);
    var key = btoa(String.fromCharCode.apply(null, bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    try { sessionStorage.setItem(STORE, JSON.stringify({ key: key, host: host, site: site })); } catch (e) { return ""; }
    return key;
  }
  function target(key) {
    return base + encodeURIComponent(queue) + "?ref=" + encodeURIComponent(location.href) + (key ? "&pk=" + key : "");
  }
  var a = document.createElement("a");
  a.className = "supporthost-get-help";
  a.textContent = label;
  a.href = target("");
  a.target = "_blank";
  a.rel = "noopener";
  var s = a.style;
  s.display = "inline-block"; s.padding = "0.6em 1.2em"; s.background = "#0b63ce"; s.color = "#fff";
  s.borderRadius = "6px"; s.font = "600 15px system-ui, sans-serif"; s.textDecoration = "none";
  a.addEventListener("click", function () { a.href = target(window.crypto && window.sessionStorage ? newPageKey() : ""); });
  script.parentNode.insertBefore(a, script.nextSibling);
  // Scripts other features add to the page (hook webacd_page_scripts), each once.
  var extra = %(scripts)s;
  for (var i = 0; i < extra.length; i++) {
    var src = new URL(extra[i], script.src).href;
    if (document.querySelector('script[src="' + src.replace(/"/g, "%%22") + '"]')) continue;
    var tag = document.createElement("script");
    tag.src = src;
    tag.async = true;
    document.head.appendChild(tag);
  }
})();
"""


def queue_cookie(queue_id: int) -> str:
    return f"shq_{queue_id}"


def _cookie_entry(request, queue_id: int) -> tuple[str, str] | None:
    raw = request.cookies.get(queue_cookie(queue_id), "")
    if "." not in raw or len(raw) > 200:
        return None
    entry_id, token = raw.split(".", 1)
    return entry_id, token


async def _owned_entry(request, site, entry_id: str) -> tuple[dict, str] | None:
    """The entry, when this browser holds its token (the cookie set when the form was sent)."""
    row = await api.database(request.app).read(lambda db: store.entry_row(db, entry_id))
    if row is None or row["site_id"] != site.id or not row["token_hash"]:
        return None
    found = _cookie_entry(request, row["queue_id"])
    if not found or found[0] != entry_id or not hmac.compare_digest(token_hash(found[1]), row["token_hash"]):
        return None
    return row, found[1]


async def snippet(request: web.Request):
    site = site_of(request)
    acd = request.app[WEBACD]
    queues = acd.site_queues(site.id)
    first = str(queues[0].id) if queues else ""
    scripts = [str(url) for _plugin, urls in await api.call_hook(request.app, "webacd_page_scripts", site, site=site)
               for url in urls or []]
    body = SNIPPET % {"prefix": json.dumps(site.prefix), "queue": json.dumps(request.query.get("queue", first)),
                      "label": json.dumps(request.query.get("label", "Get help")[:60]), "site": json.dumps(site.slug),
                      "scripts": json.dumps(scripts).replace("</", "<\\/")}
    return web.Response(text=body, content_type="application/javascript",
                        headers={"Cache-Control": "no-cache", "Cross-Origin-Resource-Policy": "cross-origin"})


async def _entry_page(request, site, queue, status=200, **context):
    acd = request.app[WEBACD]
    now = api.now(request.app)
    return await render(request, "webacd/entry.html", status=status, site=site, page="webacd_entry", queue=queue,
                        is_open=queue.is_open(now), hours=queue.hours_text(), days=DAYS, day_names=DAY_NAMES,
                        field_specs=[(k, FIELDS[k][0], queue.fields.get(k, "off")) for k in FIELDS],
                        waiting=len(acd.engine.waiting.get(queue.id, [])), **context)


async def _live_entry(request, site, queue) -> str | None:
    """The entry this browser already holds in this queue, while it still waits (or is being helped)."""
    found = _cookie_entry(request, queue.id)
    if not found:
        return None
    owned = await _owned_entry(request, site, found[0])
    if owned and owned[0]["state"] in ("waiting", "accepted") and not owned[0]["ended_at"]:
        return found[0]
    return None


async def entry_form(request: web.Request):
    site = site_of(request)
    queue = request.app[WEBACD].queue_of_site(site.id, request.match_info["queue"])
    if queue is None:
        return await render(request, "webacd/message.html", status=404, site=site, page="webacd_message",
                            title="No such queue", text="This help link points to a queue that does not exist.")
    existing = await _live_entry(request, site, queue)
    if existing:
        raise web.HTTPFound(f"{site.prefix}/p/webacd/wait/{existing}")
    return await _entry_page(request, site, queue, ref=clean_ref(request.query.get("ref")),
                             page_key=clean_page_key(request.query.get("pk")), values={})


async def submit_entry(request: web.Request):
    site = site_of(request)
    acd = request.app[WEBACD]
    queue = acd.queue_of_site(site.id, request.match_info["queue"])
    if queue is None:
        raise web.HTTPNotFound(text="No such queue.")
    form = await form_with_csrf(request)
    ref = clean_ref(form.get("ref"))
    page_key = clean_page_key(form.get("pk"))
    existing = await _live_entry(request, site, queue)
    if existing:  # sent twice (reload, back button): keep the one place
        raise web.HTTPFound(f"{site.prefix}/p/webacd/wait/{existing}")
    values = {k: str(form.get(k, ""))[:2000] for k in ("name", *FIELDS)}
    address = client_address(request)
    limiter = acd.limiter(site.id, api.setting(request.app, site, PLUGIN, "entries_per_minute", 6))
    if limiter.blocked(address):
        return await _entry_page(request, site, queue, 429, ref=ref, page_key=page_key, values=values,
                                 errors=[f"Too many requests from your address. Wait {limiter.retry_after(address)} "
                                         "seconds and try again."])
    limiter.hit(address)
    now = api.now(request.app)
    if not queue.is_open(now):
        return await _entry_page(request, site, queue, 409, ref=ref, page_key=page_key, values=values,
                                 errors=["This queue is closed now, so nobody was queued. Please come back during "
                                         "its opening hours."])
    clean, errors = validate_entry(queue.fields, form)
    if errors:
        return await _entry_page(request, site, queue, 400, ref=ref, page_key=page_key, values=values,
                                 errors=errors)
    row, token = await acd.enqueue(site, queue, clean, ref, address, page_key)
    response = web.HTTPFound(f"{site.prefix}/p/webacd/wait/{row['id']}")
    response.set_cookie(queue_cookie(queue.id), f"{row['id']}.{token}", path=site.prefix, httponly=True,
                        samesite="Lax", secure=api.config(request.app).secure_cookies)
    raise response


async def waiting_page(request: web.Request):
    site = site_of(request)
    owned = await _owned_entry(request, site, request.match_info["entry"])
    if owned is None:
        return await render(request, "webacd/message.html", status=403, site=site, page="webacd_message",
                            title="Not your place in the queue",
                            text="This waiting page belongs to another browser. Use the help link to ask for help.")
    row, _token = owned
    if row["state"] == "accepted":
        raise web.HTTPFound(f"{site.prefix}/p/webacd/enter/{row['id']}")
    queue = request.app[WEBACD].queues.get(row["queue_id"])
    status = request.app[WEBACD].status_of(row["id"]) or {"state": row["state"]}
    return await render(request, "webacd/waiting.html", site=site, page="webacd_waiting", entry=row,
                        queue=queue, acd_status=status,
                        data={"sitePrefix": site.prefix, "entryId": row["id"], "state": row["state"]})


async def leave_queue(request: web.Request):
    site = site_of(request)
    await form_with_csrf(request)
    owned = await _owned_entry(request, site, request.match_info["entry"])
    if owned is None:
        raise web.HTTPForbidden(text="This is not your place in the queue.")
    await request.app[WEBACD].leave_queue(owned[0]["id"])
    return await render(request, "webacd/message.html", site=site, page="webacd_message", title="You left the queue",
                        text="You are no longer waiting. You can ask for help again at any time.")


async def enter_session(request: web.Request):
    """The waiting page lands here once a rep accepted: the session cookie is set, on to the session."""
    site = site_of(request)
    owned = await _owned_entry(request, site, request.match_info["entry"])
    if owned is None:
        raise web.HTTPForbidden(text="This is not your place in the queue.")
    row, token = owned
    if row["state"] == "waiting":
        raise web.HTTPFound(f"{site.prefix}/p/webacd/wait/{row['id']}")
    if row["state"] != "accepted" or not row["session_id"]:
        return await render(request, "webacd/message.html", status=410, site=site, page="webacd_message",
                            title="No longer waiting", text="This request is closed. Ask for help again if you need to.")
    sid = row["session_id"]
    response = web.HTTPFound(f"{site.prefix}/session/{sid}")
    response.set_cookie(participant_cookie(sid), token, path=site.prefix, httponly=True, samesite="Lax",
                        secure=api.config(request.app).secure_cookies)
    raise response


async def waiting_socket(request: web.Request):
    site = site_of(request)
    if not origin_allowed(request, site):
        raise web.HTTPForbidden(text="WebSocket from a foreign origin refused.")
    owned = await _owned_entry(request, site, request.match_info["entry"])
    if owned is None:
        raise web.HTTPForbidden(text="This is not your place in the queue.")
    row = owned[0]
    acd = request.app[WEBACD]
    ws = web.WebSocketResponse(max_msg_size=4096, heartbeat=25)
    await ws.prepare(request)
    conn = Connection(ws, 64)
    api.track_socket(request.app, ws)
    acd.waiters.setdefault(row["id"], set()).add(conn)
    acd.seen(row["id"])
    status = acd.status_of(row["id"])
    if status is not None:
        acd.last_sent[row["id"]] = (status["position"], status["waiting"], status["estimate"])
        conn.send(status)
    elif row["state"] == "accepted":
        conn.send({"type": "webacd.status", "state": "accepted", "by": row["accepted_by_name"],
                   "url": f"{site.prefix}/p/webacd/enter/{row['id']}"})
    else:
        conn.send({"type": "webacd.status", "state": row["state"]})
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT and msg.data == "status":
                status = acd.status_of(row["id"])
                if status:
                    conn.send(status)
    finally:
        conns = acd.waiters.get(row["id"], set())
        conns.discard(conn)
        if not conns:
            acd.waiters.pop(row["id"], None)
            if row["id"] in acd.last_seen:
                acd.seen(row["id"])   # gone from the page now: the time to come back starts
        await conn.close()
    return ws


def register(register_route) -> None:
    register_route("GET", "/snippet.js", snippet)
    register_route("GET", "/q/{queue}", entry_form)
    register_route("POST", "/q/{queue}", submit_entry)
    register_route("GET", "/wait/{entry}", waiting_page)
    register_route("POST", "/wait/{entry}/leave", leave_queue)
    register_route("GET", "/enter/{entry}", enter_session)
    register_route("GET", "/ws/wait/{entry}", waiting_socket)
