"""The rep's WebACD API: status, offers (accept / decline), the queue view, transfer targets."""
from __future__ import annotations

from aiohttp import web

from host.web_common import form_with_csrf, require_user, site_of

from .service import WEBACD, AcdError


def _error(exc: AcdError) -> web.Response:
    return web.json_response({"error": str(exc)}, status=exc.status)


async def me(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    acd = request.app[WEBACD]
    await acd.refresh_agents([user["id"]])
    return web.json_response(acd.me(site, user))


async def set_status(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    form = await form_with_csrf(request)
    acd = request.app[WEBACD]
    try:
        await acd.set_status(site, user, str(form.get("status", "")))
    except AcdError as exc:
        return _error(exc)
    return web.json_response(acd.me(site, user))


async def accept(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    await form_with_csrf(request)
    try:
        result = await request.app[WEBACD].accept(site, user, request.match_info["entry"])
    except AcdError as exc:
        return _error(exc)
    return web.json_response(result, status=201)


async def decline(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    await form_with_csrf(request)
    await request.app[WEBACD].decline(user["id"], request.match_info["entry"])
    return web.json_response({"ok": True})


async def queue_view(request: web.Request):
    site = site_of(request)
    user = await require_user(request, site)
    return web.json_response({"waiting": request.app[WEBACD].queue_view(site, user["id"])})


async def targets(request: web.Request):
    """Where this rep can transfer a session: the site's queues and its other agents."""
    site = site_of(request)
    user = await require_user(request, site)
    acd = request.app[WEBACD]
    if not acd.is_agent(site.id, user["id"]):
        return web.json_response({"agent": False, "queues": [], "agents": []})
    agents = [{"id": a.user_id, "name": a.name, "status": a.status}
              for a in sorted(acd.engine.agents.values(), key=lambda a: a.name)
              if a.site_id == site.id and a.user_id != user["id"] and acd.is_agent(site.id, a.user_id)]
    return web.json_response({"agent": True, "agents": agents,
                              "queues": [{"id": q.id, "name": q.name} for q in acd.site_queues(site.id)]})


def register(register_route) -> None:
    register_route("GET", "/api/me", me)
    register_route("POST", "/api/status", set_status)
    register_route("POST", "/api/offers/{entry}/accept", accept)
    register_route("POST", "/api/offers/{entry}/decline", decline)
    register_route("GET", "/api/queue", queue_view)
    register_route("GET", "/api/targets", targets)
