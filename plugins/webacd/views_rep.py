"""The rep's WebACD API: status, offers (accept / decline), the queue view, transfer targets."""
from __future__ import annotations

from aiohttp import web

from host.api import form_with_csrf, json_error, require_user, site_of

from . import members
from .accepting import accept as accept_entry
from .service import WEBACD, AcdError


async def me(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    acd = request.app[WEBACD]
    await acd.refresh_members([user["id"]])
    return web.json_response(members.me(acd, site, user))


async def set_status(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    form = await form_with_csrf(request)
    acd = request.app[WEBACD]
    try:
        await members.set_status(acd, site, user, str(form.get("status", "")))
    except AcdError as exc:
        raise json_error(exc.status, str(exc)) from None
    return web.json_response(members.me(acd, site, user))


async def accept(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    await form_with_csrf(request)
    try:
        result = await accept_entry(request.app[WEBACD], site, user, request.match_info["entry"])
    except AcdError as exc:
        raise json_error(exc.status, str(exc)) from None
    return web.json_response(result, status=201)


async def decline(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    await form_with_csrf(request)
    await members.decline(request.app[WEBACD], user["id"], request.match_info["entry"])
    return web.json_response({"ok": True})


async def queue_view(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    return web.json_response({"waiting": members.queue_view(request.app[WEBACD], site, user["id"])})


async def targets(request: web.Request):
    """Where this rep can transfer a session: the site's queues and the other members of its queues."""
    site = site_of(request)
    user = await require_user(request, site)
    acd = request.app[WEBACD]
    if not acd.is_member(site.id, user["id"]):
        return web.json_response({"member": False, "queues": [], "reps": []})
    reps = [{"id": m.user_id, "name": m.name, "status": m.status}
            for m in sorted(acd.engine.members.values(), key=lambda m: m.name)
            if m.site_id == site.id and m.user_id != user["id"] and acd.is_member(site.id, m.user_id)]
    return web.json_response({"member": True, "reps": reps,
                              "queues": [{"id": q.id, "name": q.name} for q in acd.site_queues(site.id)]})


def register(register_route) -> None:
    register_route("GET", "/api/me", me)
    register_route("POST", "/api/status", set_status)
    register_route("POST", "/api/offers/{entry}/accept", accept)
    register_route("POST", "/api/offers/{entry}/decline", decline)
    register_route("GET", "/api/queue", queue_view)
    register_route("GET", "/api/targets", targets)
