"""Browsing the customer's shared folder: the rep asks for a listing, the Support Manager sends it in
pages, the host hands it on to the rep when it is complete."""
from __future__ import annotations

from host import api

from .checks import granted, only_agent
from .protocol import MAX_ENTRIES, PLUGIN
from .state import state_of


async def list_folder(ctx, message):
    agent = granted(ctx, message)
    path = message.get("path", "")
    if not isinstance(path, str) or len(path) > 4096:
        raise api.MessageError("path must be a short text")
    state = state_of(ctx.session)
    req = state.new_id()
    state.listings[req] = (ctx.participant.id, message.get("id"))
    ctx.send_to(agent.id, {"type": f"{PLUGIN}.list", "req": req, "from": ctx.participant.id, "path": path})


async def listing(ctx, message):
    """A folder listing from the agent, in pages (each under the message limit): to the rep when complete."""
    only_agent(ctx)
    state = state_of(ctx.session)
    req = str(message.get("req", ""))
    who = state.listings.get(req)
    if who is None:
        return
    rep, mid = who
    if (ctx.participant.id, rep) not in state.grants:
        state.listings.pop(req, None)
        state.listing_parts.pop(req, None)
        return
    if message.get("error"):
        state.listings.pop(req, None)
        state.listing_parts.pop(req, None)
        ctx.send_to(rep, {"type": "error", "code": "bad_request", "re": mid, "error": str(message["error"])[:300]})
        return
    entries = state.listing_parts.setdefault(req, [])
    page = message.get("entries") if isinstance(message.get("entries"), list) else []
    entries.extend(page[:MAX_ENTRIES - len(entries)])
    if message.get("last") is False:
        return
    state.listings.pop(req, None)
    state.listing_parts.pop(req, None)
    ctx.send_to(rep, {"type": f"{PLUGIN}.listing", "re": mid, "agent": ctx.participant.id,
                      "path": str(message.get("path", "")), "entries": entries,
                      "truncated": bool(message.get("truncated"))})
